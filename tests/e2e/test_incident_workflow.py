"""The incident workflow in a real browser, as ops staff run it: declare in one form, see it on
the home page and in Jira (linking back to the portal), add a note, resolve, read the time to
resolve, write the review with two action items, complete them, and see Jira's review follow.
Also the incident list and the declare form at phone width (390 px).

The screenshots it takes are the ones docs/admin.md shows: with UPDATE_DOCS_SCREENSHOTS=1 they
are written to docs/screenshots/, otherwise to var/e2e/screenshots/ (so a test run leaves the
checkout clean).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.select import Select

from .browsing import choose, log_in, saved_message, wait
from .support import wait_for

pytestmark = pytest.mark.slow

SYNC_SECONDS = 30
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"
    else ROOT / "var" / "e2e" / "screenshots"
)
SUMMARY = "Ledger writes time out for card payments"
WORKSPACE = "Payments platform"
PHONE_WIDTH = 390


def screenshot(driver, name: str, *, whole_page: bool = True) -> None:
    """The page (or, at phone width, the screen), for docs/admin.md."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if not whole_page:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        return
    width, height = driver.execute_script(
        "const e = document.documentElement; return [e.clientWidth, e.scrollHeight];"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 3000), "scale": 1},
        },
    )
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def jira_entity(demo, kind: str, entity_id: str, until) -> dict:
    """Poll jirasim's state until its default site holds the entity as `until` wants."""

    def found(_driver=None):
        site = next(s for s in demo.sim_state()["sites"] if s["name"] == "default")
        for app in site["apps"].values():
            entity = app[kind].get(entity_id)
            if entity and until(entity["data"]):
                return entity["data"]
        return False

    return wait_for(
        found, SYNC_SECONDS, message=f"jirasim never held {kind} {entity_id} as expected"
    )


def resolved_count(driver) -> int:
    """How many incidents the home page's mean time to resolve covers."""
    return int(text_of(driver, "#mttr-count").split()[1])


def text_of(driver, selector: str) -> str:
    return (
        wait(driver).until(visible.visibility_of_element_located((By.CSS_SELECTOR, selector))).text
    )


def test_ops_staff_declare_note_resolve_and_review_an_incident(browser, demo, ops_login):
    portal, jira = demo.config.portal_url, demo.config.jirasim_url
    log_in(browser, portal, *ops_login)
    assert browser.current_url.rstrip("/").endswith("/admin")
    screenshot(browser, "admin-index")

    # Declare: one click to the form, a summary, the workspace, one container, one click.
    browser.find_element(By.ID, "declare-incident").click()
    summary = wait(browser).until(visible.visibility_of_element_located((By.ID, "id_summary")))
    assert Select(browser.find_element(By.ID, "id_severity")).first_selected_option.text == "P3"
    summary.send_keys(SUMMARY)
    Select(browser.find_element(By.ID, "id_workspace")).select_by_visible_text(WORKSPACE)
    choose(browser, "id_containers", "Ledger")
    screenshot(browser, "declare")
    browser.find_element(By.CSS_SELECTOR, "#declare-form [name=_declare]").click()
    saved_message(browser, "you are its commander")
    page_url = browser.current_url
    incident_id = page_url.rstrip("/").rsplit("/", 1)[-1]
    assert page_url == f"{portal}/incidents/{incident_id}/"
    assert text_of(browser, "#incident-commander") == ops_login[0]

    # On the home page, and in Jira with the portal's page as its link.
    browser.get(f"{portal}/")
    row = text_of(browser, f'#open-incidents tr[data-incident="{incident_id}"]')
    assert SUMMARY in row and "P3" in row and ops_login[0] in row
    resolved_before = resolved_count(browser)
    in_jira = jira_entity(demo, "incidents", incident_id, lambda data: True)
    assert in_jira["url"] == page_url
    assert in_jira["affectedComponents"] == ["payments/ledger"]
    browser.get(jira + "/")
    link = wait(browser, SYNC_SECONDS).until(
        lambda d: d.find_element(By.XPATH, f"//a[normalize-space()={SUMMARY!r}]")
    )
    assert link.get_attribute("href") == page_url

    # A note, then resolve: both in the timeline; the time to resolve shows.
    browser.get(page_url)
    browser.find_element(By.ID, "note-message").send_keys("Rolled back ledger 4.2.1")
    browser.find_element(By.ID, "add-note").click()
    saved_message(browser, "Note added")
    assert "Rolled back ledger 4.2.1" in text_of(browser, "#timeline .timeline-note")
    browser.find_element(By.ID, "resolve").click()
    saved_message(browser, "Resolved.")
    assert text_of(browser, "#time-to-resolve")
    assert "open → resolved" in text_of(browser, "#timeline .timeline-status")
    assert "In sync" in text_of(browser, "#incident-sync") or "being sent" in text_of(
        browser, "#incident-sync"
    )
    jira_entity(demo, "incidents", incident_id, lambda data: data["status"] == "resolved")
    screenshot(browser, "incident-page")

    # The admin page of the incident shows the same timeline, the sync sentence first.
    browser.find_element(By.ID, "edit-incident").click()
    assert "Rolled back ledger 4.2.1" in text_of(browser, "#updates-group")
    assert text_of(browser, "#jira-sync-summary").startswith("On 1 Jira site")
    screenshot(browser, "admin-incident")
    browser.get(page_url)

    # The review, filled in for the incident; two action items.
    browser.find_element(By.ID, "write-review").click()
    review_id = wait(browser).until(
        lambda d: d.find_element(By.ID, "id_external_id").get_attribute("value")
    )
    assert review_id == f"PIR-{incident_id}"
    browser.find_element(By.ID, "id_action_items-0-what").send_keys("Alert on ledger p99")
    Select(browser.find_element(By.ID, "id_action_items-0-owner")).select_by_visible_text(
        ops_login[0]
    )
    browser.find_element(By.CSS_SELECTOR, "#action_items-group .add-row a").click()
    wait(browser).until(
        visible.visibility_of_element_located((By.ID, "id_action_items-1-what"))
    ).send_keys("Retry budget for card payments")
    browser.find_element(By.ID, "id_action_items-1-issue_key").send_keys("ops-42")
    browser.find_element(By.CSS_SELECTOR, "input[name=_continue]").click()
    saved_message(browser, "was added successfully")
    review_url = browser.current_url
    assert (
        "Outstanding actions"
        in Select(browser.find_element(By.ID, "id_status")).first_selected_option.text
    )
    jira_entity(demo, "reviews", review_id, lambda data: data["status"] == "outstanding actions")
    screenshot(browser, "review-action-items")

    # Complete both: the review reads Completed, here and in Jira.
    for n in (0, 1):
        box = browser.find_element(By.ID, f"id_action_items-{n}-done")
        if not box.is_selected():
            box.click()
    browser.find_element(By.CSS_SELECTOR, "input[name=_continue]").click()
    saved_message(browser, "was changed successfully")
    assert browser.current_url == review_url
    assert Select(browser.find_element(By.ID, "id_status")).first_selected_option.text == (
        "Completed"
    )
    completed = jira_entity(demo, "reviews", review_id, lambda data: data["status"] == "completed")
    assert completed["reviews"] == [incident_id]

    browser.get(page_url)
    assert "Completed" in text_of(browser, f'#reviews [data-review="{review_id}"]')
    browser.get(f"{portal}/")
    assert review_id in text_of(browser, "#recent-reviews")
    assert resolved_count(browser) == resolved_before + 1
    assert text_of(browser, "#mttr-value") != "—"
    screenshot(browser, "home")

    browser.get(f"{portal}/admin/connect/installation/")
    browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr a").click()
    assert "Last lifecycle iat" not in browser.page_source
    screenshot(browser, "jira-site")


def _right_edge(driver, element) -> float:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.right;", element
    )


def test_at_phone_width_the_list_shows_what_matters_and_declaring_works(browser, demo, ops_login):
    portal = demo.config.portal_url
    browser.execute_cdp_cmd(  # a phone's viewport: 390 CSS px, overlay scrollbars
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    log_in(browser, portal, *ops_login)
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    assert viewport == PHONE_WIDTH

    browser.get(f"{portal}/admin/incidents/incident/")
    first_row = wait(browser).until(
        visible.visibility_of_element_located((By.CSS_SELECTOR, "#result_list tbody tr"))
    )
    for column in ("external_id", "summary", "severity_badge", "status_badge", "jira_sync"):
        cell = first_row.find_element(By.CSS_SELECTOR, f".field-{column}")
        assert cell.is_displayed(), column
        assert _right_edge(browser, cell) <= viewport + 1, f"{column} is cut off at {viewport} px"
    for column in ("workspace", "affected", "created_date", "last_updated"):
        assert not first_row.find_element(By.CSS_SELECTOR, f".field-{column}").is_displayed()
    screenshot(browser, "incident-list-phone", whole_page=False)

    browser.find_element(By.ID, "declare-incident").click()
    wait(browser).until(visible.visibility_of_element_located((By.ID, "id_summary"))).send_keys(
        "Phone-declared: login page blank"
    )
    Select(browser.find_element(By.ID, "id_workspace")).select_by_visible_text(WORKSPACE)
    submit = browser.find_element(By.CSS_SELECTOR, "#declare-form [name=_declare]")
    assert _right_edge(browser, submit) <= viewport + 1
    screenshot(browser, "declare-phone", whole_page=False)
    submit.click()
    saved_message(browser, "you are its commander")
    assert "Phone-declared: login page blank" in text_of(browser, "h1")

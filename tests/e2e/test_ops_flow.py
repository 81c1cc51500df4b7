"""The ops flow in a real browser: an Ops staff member raises an incident in the admin, watches it
reach Jira, resolves it, and sees Jira follow.

Everything is real and separate, as in production: the portal (runserver) and the sync worker
(`jira_sync`) are processes of their own on a SQLite file, jirasim answers over HTTP, and the
portal was installed into it through the signed handshake (all started by `manage.py demo`,
whose demo workspaces are linked to jirasim's site).
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from .browsing import choose, log_in, saved_message, wait

pytestmark = pytest.mark.slow

WAIT_SECONDS = 20
SYNC_SECONDS = 30
INCIDENT_ID = "INC-E2E-1"
SUMMARY = "Ledger writes queue up behind checkout retries"
# Two containers of the demo's "Payments platform" workspace: name shown in the admin → id in Jira.
CONTAINERS = {"Ledger": "payments/ledger", "Checkout service": "payments/checkout"}


def wait_until_synced(driver, change_url: str, site_url: str) -> str:
    """Reload the change page until its row for the site reads Synced with nothing unsent."""
    row = f'#jira-sync-state tr[data-site="{site_url}"]'

    def synced(driver):
        driver.get(change_url)
        status = driver.find_element(By.CSS_SELECTOR, f"{row} td.sync-status").text
        # Folded away under "Technical details": read the text a closed <details> hides.
        sequence = driver.find_element(
            By.CSS_SELECTOR, f'#jira-sync-technical tr[data-site="{site_url}"] td.sync-sequence'
        ).get_attribute("textContent")
        return status if status.startswith("Synced") and "not sent yet" not in sequence else False

    return wait(driver, SYNC_SECONDS).until(synced, f"{INCIDENT_ID} never read Synced")


def jira_row(driver, jirasim_url: str, until) -> dict:
    """Reload jirasim's Incidents page until the incident's row satisfies `until`; its cells."""

    def row(driver):
        driver.get(jirasim_url + "/")
        cells = driver.find_elements(
            By.XPATH, f"//tr[td[1]//span[normalize-space()='{INCIDENT_ID}']]/td"
        )
        if not cells:
            return False
        found = {
            "summary": cells[0].find_element(By.TAG_NAME, "a").text,
            "severity": cells[1].text,
            "status": cells[2].text.lower(),
            "components": cells[3].text,
        }
        return found if until(found) else False

    return wait(driver, SYNC_SECONDS).until(row, f"jirasim's page never showed {INCIDENT_ID}")


def test_ops_staff_raise_an_incident_see_it_in_jira_then_resolve_it(browser, demo, ops_login):
    portal, jira = demo.config.portal_url, demo.config.jirasim_url
    log_in(browser, portal, *ops_login)
    app_links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a")]
    assert not any("/admin/auth/user/" in (href or "") for href in app_links), "not a superuser"

    browser.get(f"{portal}/admin/incidents/incident/add/")
    browser.find_element(By.ID, "id_external_id").send_keys(INCIDENT_ID)
    choose(browser, "id_workspace", "Payments platform")
    browser.find_element(By.ID, "id_summary").send_keys(SUMMARY)
    Select(browser.find_element(By.ID, "id_severity")).select_by_value("P2")
    Select(browser.find_element(By.ID, "id_status")).select_by_value("open")
    browser.find_element(By.ID, "id_url").send_keys(f"https://ops.example.com/i/{INCIDENT_ID}")
    for name in CONTAINERS:
        choose(browser, "id_affected_containers", name)
    browser.find_element(By.ID, "id_description").send_keys("Ledger **write latency** is up.")
    browser.find_element(By.CSS_SELECTOR, "input[name=_save]").click()
    saved_message(browser, "was added successfully")

    browser.find_element(By.LINK_TEXT, INCIDENT_ID).click()
    change_url = browser.current_url
    assert "/change/" in change_url
    assert wait_until_synced(browser, change_url, jira).startswith("Synced")

    raised = jira_row(browser, jira, lambda row: True)
    assert raised["summary"] == SUMMARY
    assert (raised["severity"], raised["status"]) == ("P2", "open")
    assert sorted(raised["components"].split()) == sorted(CONTAINERS.values())

    browser.get(change_url)
    Select(browser.find_element(By.ID, "id_status")).select_by_value("resolved")
    browser.find_element(By.CSS_SELECTOR, "input[name=_continue]").click()
    saved_message(browser, "was changed successfully")
    wait_until_synced(browser, change_url, jira)

    resolved = jira_row(browser, jira, lambda row: row["status"] == "resolved")
    assert resolved["summary"] == SUMMARY

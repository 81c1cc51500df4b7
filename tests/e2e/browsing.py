"""What the browser tests do as a person would: log in, pick from an autocomplete, wait."""

from __future__ import annotations

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 20
CREATE_OPS_USER = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
user = get_user_model().objects.create_user({username!r}, password={password!r}, is_staff=True)
user.groups.add(Group.objects.get(name="Ops staff"))
"""


def wait(driver, seconds: float = WAIT_SECONDS) -> WebDriverWait:
    return WebDriverWait(
        driver, seconds, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )


def log_in(driver, portal_url: str, username: str, password: str) -> None:
    driver.get(f"{portal_url}/admin/login/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    wait(driver).until(  # the admin shows the name in capitals, by CSS
        lambda d: d.find_element(By.CSS_SELECTOR, "#user-tools strong").text.lower() == username
    )


def choose(driver, field_id: str, search: str) -> None:
    """Pick an option of an admin autocomplete (select2) field by typing, as a person would."""
    driver.find_element(By.CSS_SELECTOR, f"#{field_id} + .select2 .select2-selection").click()
    box = wait(driver).until(
        visible.visibility_of_element_located(
            (By.CSS_SELECTOR, ".select2-container--open .select2-search__field")
        )
    )
    box.send_keys(search)
    option = wait(driver).until(
        visible.element_to_be_clickable(
            (
                By.XPATH,
                "//li[contains(@class, 'select2-results__option') and "
                f"not(contains(@class, 'loading-results')) and contains(., '{search}')]",
            )
        )
    )
    option.click()
    chosen = [o.text for o in Select(driver.find_element(By.ID, field_id)).all_selected_options]
    assert any(search in text for text in chosen), chosen


def saved_message(driver, containing: str = "") -> str:
    """The page's success message, once it contains `containing` (the previous page's message
    may still be showing right after a click)."""

    def found(driver):
        element = driver.find_element(By.CSS_SELECTOR, ".messagelist .success")
        text = element.text
        return text if element.is_displayed() and containing in text else False

    return wait(driver).until(found, f"no success message containing {containing!r}")

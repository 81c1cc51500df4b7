"""A headless Chromium for the browser tests, and a screenshot of the page when one fails.

The browser is Debian's `chromium` driven through its `chromium-driver` (paths overridable with
CHROMIUM_PATH and CHROMEDRIVER_PATH). Without them the browser tests are skipped, except with
REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.demo import MANAGE_PY

from .browsing import CREATE_OPS_USER
from .support import DemoProcess

ARTIFACTS = MANAGE_PY.parent / "var" / "e2e"


def _find(variable: str, name: str, default: str) -> str | None:
    path = os.environ.get(variable) or shutil.which(name) or default
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser(request):
    chromium = _find("CHROMIUM_PATH", "chromium", "/usr/bin/chromium")
    chromedriver = _find("CHROMEDRIVER_PATH", "chromedriver", "/usr/bin/chromedriver")
    if not (chromium and chromedriver):
        reason = (
            "the browser test needs Chromium and its driver (Debian: apt-get install chromium "
            "chromium-driver; or set CHROMIUM_PATH and CHROMEDRIVER_PATH); found "
            f"chromium={chromium}, chromedriver={chromedriver}"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)

    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(chromedriver))
    driver.implicitly_wait(0)
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        driver.save_screenshot(str(stem.with_suffix(".png")))
        stem.with_suffix(".html").write_text(driver.page_source)
        print(f"Browser state at the failure: {stem}.png and {stem}.html")
    driver.quit()


@pytest.fixture
def demo(tmp_path) -> Iterator[DemoProcess]:
    """`make demo` as a user starts it: jirasim, the portal and a worker, seeded."""
    running = DemoProcess(tmp_path / "demo").start()
    yield running
    running.stop()


@pytest.fixture
def ops_login(demo) -> tuple[str, str]:
    """A member of the Ops staff group in the running demo: (username, password)."""
    username, password = "ops.e2e", secrets.token_urlsafe(16)
    demo.shell(CREATE_OPS_USER.format(username=username, password=password))
    return username, password

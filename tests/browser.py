"""Headless Chromium driven by Selenium, for the tests of rendered pages.

Debian's `chromium` and `chromium-driver` (apt-get); `.ci/run` installs them and sets
TRIALMETA_REQUIRE_BROWSER=1, which turns a missing browser into a failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# offline and quiet: no first-run page, no background fetches, no QUIC, a fresh profile per test
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND")


def missing() -> str | None:
    if not any(map(shutil.which, BROWSERS)):
        return "no Chromium installed (Debian: apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "no chromedriver installed (Debian: apt-get install chromium-driver)"
    return None


def require() -> None:
    """Skip (or, with TRIALMETA_REQUIRE_BROWSER=1 as in CI, fail) when no browser is installed."""
    problem = missing()
    if problem:
        if os.environ.get("TRIALMETA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TRIALMETA_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)


@contextmanager
def chromium(downloads: str, width: int = 1280, height: int = 1500):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require()
    options = webdriver.ChromeOptions()
    options.binary_location = next(path for path in map(shutil.which, BROWSERS) if path)
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
            yield driver
        finally:
            driver.quit()

"""Opening a page in headless Chromium (Debian's chromium and chromium-driver) through Selenium."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass
class Page:
    """What the browser saw."""

    title: str
    chart_ids: set[str]
    errors: list[str]
    screenshot: bytes
    shown: dict[str, int]  # per CSS selector asked for, how many of its elements the browser displays


def load_page(path: Path, count: tuple[str, ...] = ()) -> Page:
    """Open a local HTML file, collect console errors, section ids, how many elements of each selector in `count`
    are displayed, and a screenshot."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        if os.environ.get("PINTEREST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"chromium or chromedriver missing ({CHROMIUM}, {DRIVER})")
        pytest.skip("no chromium/chromedriver here (Debian packages chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(path.resolve().as_uri())
        errors = [
            entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")
        ]
        sections = {e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "section.insight")}
        rendered = {
            s
            for s in sections
            if driver.find_elements(By.CSS_SELECTOR, f"#{s} svg rect, #{s} table tbody tr")
        }
        shown = {
            selector: sum(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, selector))
            for selector in count
        }
        return Page(driver.title, rendered, errors, driver.get_screenshot_as_png(), shown)
    finally:
        driver.quit()

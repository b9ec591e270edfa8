"""Browser tests: Playwright for Python driving Debian's Chromium (PRACTICE_CHROMIUM,
default /usr/bin/chromium) against a live server on the test database. A missing browser
fails the run: it is never skipped. Every page is screenshotted into
tests/browser/screenshots/<database>/ (ignored by git) and checked with axe-core."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).parent
AXE = HERE / "vendor" / "axe-core-4.14.1.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = os.environ.get("PRACTICE_CHROMIUM", "/usr/bin/chromium")
    assert Path(path).exists(), f"no Chromium at {path}: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Shots:
    """Full-page screenshots, numbered in the order taken, plus an axe-core check."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def take(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        check_accessibility(page, name)


def check_accessibility(page: Page, name: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: " + json.dumps(bad, indent=1)


@pytest.fixture
def shots() -> Shots:
    database = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
    return Shots(HERE / "screenshots" / database)

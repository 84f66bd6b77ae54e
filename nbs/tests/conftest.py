"""Fixtures the system tests share: one headless Chromium per test module."""
import pytest

from demo_page import CHROMIUM, CHROMIUM_ARGS, require_chromium


@pytest.fixture(scope="module")
def browser():
    "Debian's Chromium, headless, through Playwright (its own browser download does not work everywhere)."
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()

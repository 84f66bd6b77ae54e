"""A quiet spell, then a slow page; and a page whose kernel is gone (loopback only, about 90 s in all).

With a short cull timeout (20 s, a pass every 2 s) and a pool of one: after 25 quiet seconds a visitor whose scripts
arrive 6 s late (a slow phone) must still get a working app, and a page left alone until its kernel is culled must
say so and offer a reload. See nbs/13_serve.ipynb (`DemoKernelManager`, `KERNEL_WATCH`).

`MINIVIT_SERVE_ROOT=/path/to/older/checkout` runs them against another checkout.
"""
import time

import pytest

from demo_page import ARTIFACTS, READY_JS, voila_server
from kernel_client import SERVED_ROOT, kernel_ids

TIMEOUT, INTERVAL = 20, 2
ARGS = [f"--MappingKernelManager.cull_idle_timeout={TIMEOUT}", f"--MappingKernelManager.cull_interval={INTERVAL}",
        "--VoilaConfiguration.default_pool_size=1"]
LOG = ARTIFACTS / "voila-idle.log"


@pytest.fixture(scope="module")
def server(browser):
    with voila_server(SERVED_ROOT, args=ARGS, log_path=LOG) as served: yield served


def slow_page(browser, url, delay_s: float = 6):
    "A visitor whose page's scripts all arrive `delay_s` after it asked for the page (a slow phone or network)."
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    release = time.monotonic() + delay_s
    def late(route):                                  # held until the release time, then let through at once
        time.sleep(max(0.0, release - time.monotonic()))
        route.continue_()
    context.route("**/*.js", late)
    page = context.new_page()
    page.goto(url, timeout=60_000)
    return page


def test_no_dead_page_after_quiet_spell(server, browser):
    url, proc = server
    time.sleep(TIMEOUT + 5)                            # the pooled kernel has waited longer than the timeout
    page = slow_page(browser, url)
    try:
        kernel = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        page.wait_for_function(READY_JS, timeout=90_000, polling=200)
        assert kernel in kernel_ids(proc), "the visitor's kernel was culled"
        assert f"({kernel}) with 0 connections" not in LOG.read_text(), "the visitor's kernel was culled"
    finally: page.context.close()


def test_page_says_its_kernel_is_gone(server, browser):
    url, proc = server
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto(url, timeout=60_000)
        page.wait_for_function(READY_JS, timeout=90_000, polling=200)
        kernel = page.evaluate("window.jupyterapp.widgetManager.kernel.id")
        deadline = time.monotonic() + TIMEOUT + 4 * INTERVAL + 30
        while kernel in kernel_ids(proc) and time.monotonic() < deadline: time.sleep(0.5)
        assert kernel not in kernel_ids(proc), "the idle kernel was not culled"
        notice = page.locator("#minivit-gone")
        notice.wait_for(state="visible", timeout=20_000)
        assert "Reload" in notice.inner_text()
    finally: context.close()

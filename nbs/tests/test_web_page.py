"""The static page `minivit_web` builds, in headless Chromium with onnxruntime-web from npm: a visitor draws digits
and reads the answers with either model; bad input (nothing drawn, a dot, a scribble over everything, more strokes
than the drawing holds) gives the hint or an answer, never an error; the page fits a phone and a laptop as the Voila
app does (the same classes and style); and it needs nothing but the folder it was built into.

Every test fails on an error in the page (an uncaught exception or a console error). Screenshots go to
nbs/test-artifacts/ (web-phone.png, web-laptop.png).
"""
import subprocess
from urllib.parse import urlparse

import pytest

from demo_page import ARTIFACTS, DIGITS
from test_demo_browser import (INK_JS, answer, check_laptop, draw, in_view,
                               open_app, state, status, touch_draw)
from web_page import PAGE_READY_JS, served_page


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "`(url, sizes)` of the page, built and served from a folder of its own."
    with served_page(tmp_path_factory.mktemp("site")) as served: yield served


@pytest.fixture
def visit(browser, site):
    "Open the page as a new visitor (`visit(**context_args)`); fails the test on any error in the page."
    url, _ = site
    pages, errors, outside = [], [], []

    def open_page(viewport=(1200, 900), **context_args):
        page = open_app(browser, url, viewport=viewport, **context_args)
        page.on("pageerror", lambda e: errors.append(f"exception: {e}"))
        page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
        page.on("request", lambda r: urlparse(r.url).netloc not in ("", urlparse(url).netloc)
                and not r.url.startswith(("data:", "blob:")) and outside.append(r.url))
        page.wait_for_function(PAGE_READY_JS, timeout=120_000)
        pages.append(page)
        return page

    yield open_page
    for page in pages: page.context.close()
    assert not errors, errors
    assert not outside, f"the page fetched files from elsewhere: {outside}"


def clear(page): page.locator(".minivit-clear").click()


def test_digits_with_both_models(visit):
    "Each digit read right by Fast; Large chosen re-reads the drawing; Undo and Clear; the pictures painted."
    page = visit()
    assert page.locator(".minivit-prediction").inner_text() == "Draw a digit" and state(page) == "empty"
    for d, stroke in DIGITS.items():
        clear(page)
        draw(page, stroke)
        assert answer(page).startswith(f"Prediction: {d} ("), (d, answer(page))
        assert "Fast model" in page.locator(".minivit-time").inner_text()
    assert page.locator(".minivit-bar-top").get_attribute("data-digit") == "9"
    ink = lambda picture: page.evaluate(f"({INK_JS})(document.querySelector('{picture}'))")
    assert ink(".minivit-seen canvas")[0] > 20, f"the model's input is not painted: {ink('.minivit-seen canvas')}"
    assert ink(".minivit-rollout canvas")[1] > 5, f"the rollout is not painted: {ink('.minivit-rollout canvas')}"
    assert page.locator(".minivit-head canvas").count() == 8, "Fast has 2 blocks of 4 heads"

    page.locator(".minivit-model button", has_text="Large").click()
    page.locator(".minivit-time", has_text="Large model").wait_for()
    assert answer(page).startswith("Prediction: 9 (")
    assert page.locator(".minivit-head canvas").count() == 12, "Large has 3 blocks of 4 heads"
    page.locator(".minivit-details summary").click()
    white, green = page.evaluate(f"({INK_JS})(document.querySelector('.minivit-head canvas'))")
    assert white > 5 and green > 5, f"a head's picture is not painted: {white} white, {green} green pixels"

    clear(page)
    draw(page, DIGITS[4][:2])                 # the 4's upright only: a 1
    draw(page, DIGITS[4][1:])                 # then the rest: a 4
    assert answer(page).startswith("Prediction: 4 (")
    page.locator(".minivit-undo").click()
    page.wait_for_function("() => !document.querySelector('.minivit-prediction').innerText.startsWith('Prediction: 4')")
    assert answer(page).startswith("Prediction: 1 (")
    page.locator(".minivit-undo").click(); page.locator(".minivit-undo").click()     # one more than there is
    page.locator(".minivit-prediction", has_text="Draw a digit").wait_for()
    assert state(page) == "empty" and status(page) == ""


def test_bad_input_gives_the_hint_or_an_answer(visit):
    page = visit()
    clear(page)                                                   # nothing drawn
    page.locator(".minivit-prediction", has_text="Draw a digit").wait_for()
    box = page.locator("canvas.minivit-canvas").bounding_box()
    page.mouse.click(box["x"] + 140, box["y"] + 140)              # a dot
    assert answer(page).startswith("Prediction: ") and status(page) == ""
    clear(page)
    for i in range(12):                     # a scribble over everything, from inside the pad out past its edges
        y = 4 + 24 * i
        draw(page, [(4, y), (330, y + 12), (-40, y + 24)])
    assert answer(page).startswith("Prediction: ") and status(page) == ""
    white = page.evaluate("""() => { const c = document.querySelector('canvas.minivit-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) n += d[i] > 128; return n / (d.length / 4); }""")
    assert white > 0.6, f"the scribble covers {white:.0%} of the pad"
    clear(page)
    for i in range(101):                                          # more strokes than the drawing holds (100)
        x, y = box["x"] + 20 + 24 * (i % 10), box["y"] + 20 + 24 * (i // 10 % 10)
        page.mouse.click(x, y)
    page.locator(".minivit-status", has_text="The drawing is full").wait_for()
    assert answer(page).startswith("Prediction: ")
    clear(page)
    page.locator(".minivit-prediction", has_text="Draw a digit").wait_for()
    assert status(page) == ""


def test_phone(visit):
    "390x844 with touch: pad and answer in view, no sideways scrolling, the pictures below; a finger draws."
    page = visit(viewport=(390, 844), has_touch=True, is_mobile=True, device_scale_factor=2)
    touch_draw(page, DIGITS[4])
    assert answer(page).startswith("Prediction: 4 ("), answer(page)
    page.screenshot(path=str(ARTIFACTS / "web-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"
    assert in_view(page, "canvas.minivit-canvas") and in_view(page, ".minivit-prediction"), \
        "the pad and the answer are not both in view"
    top = lambda s: page.locator(s).bounding_box()["y"]
    assert top("canvas.minivit-canvas") < top(".minivit-prediction") < top(".minivit-pictures")


def test_laptop(visit):
    "1280x800: the pad, the answer and the pictures with their scale above the fold; plain words outside the details."
    check_laptop(visit(viewport=(1280, 800)), "web-laptop.png")


def test_cli(tmp_path):
    "minivit_web refuses a missing onnxruntime-web with one line that says how to get it; builds with --ort."
    from web_page import ort_dist
    res = subprocess.run(["minivit_web", str(tmp_path / "site")], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "npm pack onnxruntime-web@" in res.stderr and "--ort" in res.stderr
    res = subprocess.run(["minivit_web", str(tmp_path / "site"), "--ort", str(ort_dist())], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"python -m http.server -d {tmp_path / 'site'}" in res.stdout
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "ort" / "ort.wasm.min.mjs").is_file()


def test_readme_names_the_tested_onnxruntime_web():
    "Every onnxruntime-web version the README gives is the one minivit.web pins (and the tests use)."
    import re
    from demo_page import ROOT
    from minivit.web import ORT_WEB_VERSION
    versions = set(re.findall(r"onnxruntime-web@([\w.-]+)", (ROOT / "README.md").read_text()))
    assert versions == {ORT_WEB_VERSION}, versions

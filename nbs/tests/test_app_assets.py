"""The app's front-end files in minivit/assets/web/: the widgets' ES modules load in Chromium and export what
anywidget calls, the style sheet parses with no rule dropped, every class its header documents is one the app
builds, and its colour scale is the pictures' green.

The modules are loaded in headless Chromium (skipped without it, unless CI=true, where it fails) from a local
server on 127.0.0.1, as a page loads them.
"""
import contextlib
import functools
import http.server
import re
import threading
from types import SimpleNamespace

import ipywidgets
import numpy as np
import pytest

from minivit.app import STYLE_PATH, DigitApp, DrawingPad, Readout
from minivit.explain import attention_overlay

WEB = STYLE_PATH.parent
# The files anywidget reads for each widget: the file in WEB whose text is the widget's module.
MODULES = {cls.__name__: next(p for p in WEB.glob("*.js") if p.read_text() == str(cls._esm)) for cls in (DrawingPad, Readout)}


def documented_classes() -> set:
    "The `.minivit-...` classes the style sheet's header comment names."
    header = STYLE_PATH.read_text().split("*/", 1)[0]
    return set(re.findall(r"\.(minivit-[a-z-]+)", header))


class Fixed:
    "A stand-in predictor: a 3 for any image, one block of two heads, no full attention matrices."
    def __init__(self, spec=None): pass
    def predict(self, images):
        probs = np.full((len(images), 10), 0.05); probs[:, 3] = 0.55
        return SimpleNamespace(probs=probs, maps=[np.full((len(images), 2, 7, 7), 1 / 49)], attention=None)


def built_classes(app) -> set:
    "Every `minivit-...` class the app's widgets carry or put in their HTML, and those its ES modules create."
    found, todo = set(), [app.page]
    while todo:
        w = todo.pop()
        found |= {c for c in getattr(w, "_dom_classes", ()) if c.startswith("minivit-")}
        if isinstance(w, ipywidgets.HTML): found |= set(re.findall(r"minivit-[a-z-]+", w.value))
        todo += list(getattr(w, "children", ()))
    for path in MODULES.values(): found |= set(re.findall(r"minivit-[a-z-]+", path.read_text()))
    return found


def test_documented_classes_are_built():
    app = DigitApp(models={"Three": "a"}, predictor_factory=Fixed)
    documented = documented_classes()
    assert len(documented) > 20, sorted(documented)
    missing = documented - built_classes(app)
    assert not missing, f"app.css documents classes the app does not build: {sorted(missing)}"


def test_colour_scale_is_the_pictures_green():
    "The scale ends on the greenest a picture shows: the most attended patch of black background."
    strongest = attention_overlay(np.zeros((28, 28)), np.eye(7), size=28)[0, 0]
    end = re.search(r"\.minivit-scale-bar\s*\{[^}]*linear-gradient\([^)]*?rgb\((\d+), (\d+), (\d+)\)\)", STYLE_PATH.read_text())
    assert end, "no colour scale gradient ending in rgb(...) in app.css"
    assert [int(v) for v in end.groups()] == strongest.tolist()


@pytest.fixture(scope="module")
def page(browser):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(WEB)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        yield page
        page.close()
    finally:
        with contextlib.suppress(Exception): server.shutdown()


def test_widget_modules_load(page):
    "Each widget's module parses and runs as an ES module and exports `render`, as anywidget expects."
    loaded = page.evaluate("""async names => { const out = {};
        for (const [widget, file] of Object.entries(names)) {
            try { const m = await import('/' + file); out[widget] = typeof (m.default && m.default.render); }
            catch (e) { out[widget] = `${e.name}: ${e.message}`; } }
        return out; }""", {name: path.name for name, path in MODULES.items()})
    assert loaded == {name: "function" for name in MODULES}, loaded


def test_style_sheet_parses(page):
    "Chromium keeps every rule of app.css (a rule it cannot parse is dropped silently)."
    css = STYLE_PATH.read_text()
    rules = page.evaluate("css => { const s = new CSSStyleSheet(); s.replaceSync(css); return s.cssRules.length; }", css)
    written = len(re.findall(r"\{", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    assert rules == written, f"app.css has {written} rules, Chromium kept {rules}"

"""The static page reads a drawing as the Python app does: drawings replayed with the mouse in Chromium on the page
`minivit_web` builds (onnxruntime-web from npm), then the same canvas read by Python.

- The 28x28 image: the page's `preprocess.js` against `minivit.preprocess.canvas_to_mnist` on the very pixels of the
  page's canvas (sent back as PNG, lossless): within one grey level everywhere.
- The answer: the page's prediction (onnxruntime-web) against `Predictor` (ONNX Runtime, Python) on that image, same
  digit and probabilities within 1e-3, for both models.
- The Voila app's reading: it draws the strokes again with Pillow (`render_strokes`) rather than reading a browser's
  canvas; the ten digits must get the same answer that way too.

Prints the figures: the largest grey-level difference and how many predictions agree.
"""
import base64
import io
import math

import numpy as np
import pytest
from PIL import Image

from demo_page import ARTIFACTS, DIGITS, path
from minivit.inference import Predictor
from minivit.preprocess import canvas_to_mnist, render_strokes
from test_demo_browser import answer, draw, open_app
from web_page import PAGE_READY_JS, served_page


def moved(points, scale=1.0, dx=0.0, dy=0.0, angle=0.0):
    "`points` scaled about the canvas centre, turned by `angle` degrees and shifted."
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(140 + scale * (c * (x - 140) - s * (y - 140)) + dx, 140 + scale * (s * (x - 140) + c * (y - 140)) + dy)
            for x, y in points]


# Drawings, each a list of strokes: the ten digits as they are, and smaller, off-centre, tilted, in two strokes, and
# shapes that are hard to crop and scale (a thin bar either way, a tiny mark, a stroke along the edge).
DRAWINGS = {f"digit {d}": [pts] for d, pts in DIGITS.items()}
DRAWINGS |= {f"small {d} in a corner": [moved(DIGITS[d], 0.35, -80, -85)] for d in (2, 5, 8)}
DRAWINGS |= {f"tilted {d}": [moved(DIGITS[d], 0.8, 10, 5, angle)] for d, angle in ((1, 20), (4, -15), (6, 12), (9, -20))}
DRAWINGS |= {
    "4 in two strokes": [[(90, 40), (70, 170), (210, 170)], [(170, 60), (170, 245)]],
    "7 with a bar": [DIGITS[7], [(110, 145), (185, 145)]],
    "5 in two strokes": [[(95, 45), (90, 125)] + moved(DIGITS[5][3:], 1.0), [(95, 45), (195, 45)]],
    "thin bar": [[(40, 140), (240, 140)]],
    "tall bar": [[(200, 20), (200, 260)]],
    "tiny mark": [[(100, 100), (104, 103)]],
    "along the edge": [[(2, 5), (2, 275), (140, 277)]],
}


def canvas_pixels(page) -> np.ndarray:
    "The pad's canvas as an RGBA array, through a PNG (lossless)."
    url = page.evaluate("document.querySelector('canvas.minivit-canvas').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    with served_page(tmp_path_factory.mktemp("site")) as (url, _):
        page = open_app(browser, url)
        page.wait_for_function(PAGE_READY_JS, timeout=120_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        assert not errors, errors
        page.context.close()


@pytest.mark.parametrize("model", ["Fast", "Large"])
def test_page_reads_as_python(page, model):
    page.locator(".minivit-model button", has_text=model).click()
    predictor = Predictor(model.lower(), threads=1)
    worst, agree, agree_voila, rows = 0, 0, 0, []
    for name, strokes in DRAWINGS.items():
        page.locator(".minivit-clear").click()
        for stroke in strokes: draw(page, stroke)
        text = answer(page)
        reading = page.evaluate("window.minivitReading")
        assert reading["model"] == model.lower(), reading
        x = canvas_to_mnist(canvas_pixels(page))
        assert x is not None and reading["label"] is not None, f"{name}: {text}"
        js = np.asarray(reading["image"], np.float32).reshape(28, 28)
        diff = int(np.abs(np.round(js * 255) - np.round(x * 255)).max())
        worst = max(worst, diff)
        assert diff <= 1, f"{name}: the page's 28x28 image is {diff} grey levels from canvas_to_mnist's"
        py = predictor.predict(x)
        same = int(py.labels[0]) == reading["label"]
        agree += same
        assert same, f"{name}: the page says {reading['label']}, Predictor {int(py.labels[0])}"
        np.testing.assert_allclose(reading["probs"], py.probs[0], atol=1e-3, err_msg=name)
        assert text.startswith(f"Prediction: {reading['label']} ("), text
        voila = int(predictor.predict(canvas_to_mnist(render_strokes([path(s) for s in strokes]))).labels[0])
        agree_voila += voila == reading["label"]
        rows.append(f"  {name:22} page {reading['label']}  Python {int(py.labels[0])}  Voila's reading {voila}  "
                    f"max grey-level difference {diff}")
        if name.startswith("digit "):
            digit = int(name.split()[1])
            assert reading["label"] == digit and voila == digit, rows[-1]
    page.screenshot(path=str(ARTIFACTS / f"web-parity-{model.lower()}.png"))
    n = len(DRAWINGS)
    print(f"\n{model}: {n} drawings; largest grey-level difference {worst}; page and Predictor agree {agree}/{n}; "
          f"page and the Voila app's own rasterising agree {agree_voila}/{n}")
    print("\n".join(rows))

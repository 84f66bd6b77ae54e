"""The kernel's own limits, behind the server's (nbs/12_app.ipynb): every page action that reads the drawing (the pad,
Undo, Clear, the model toggle) draws on one reading budget, and a refused state update is not answered with large
state. The app is driven as the page's messages drive it, with a stand-in model that counts its readings.
"""
import json
from types import SimpleNamespace

import numpy as np

from minivit.app import DigitApp


class Three:
    "A stand-in model: always a 3, two heads of 7x7 attention in one block."
    def predict(self, images):
        probs = np.full((len(images), 10), 0.05); probs[:, 3] = 0.55
        return SimpleNamespace(probs=probs, maps=[np.full((len(images), 2, 7, 7), 1 / 49)])


def app() -> DigitApp:
    a = DigitApp({"One": "a", "Two": "b"}, predictor_factory=lambda spec: Three())
    a.add_stroke([(140, 40), (140, 240)])
    return a


def test_undo_clear_and_toggle_share_the_reading_budget():
    "300 clicks and toggles at once: the kernel reads the drawing at most a burst's worth of times."
    a, reads = app(), []
    now = a.budget.last
    a.budget.clock = lambda: now                       # time stands still: the bucket does not refill meanwhile
    predict_now = a.predict_now
    a.predict_now = lambda: reads.append(1) or predict_now()
    for i in range(100):
        a.page.undo_button.click()
        a.page.clear_button.click()
        a.page.model_toggle.value = ("One", "Two")[i % 2]
    assert 1 <= len(reads) <= a.budget.burst, f"{len(reads)} readings for 300 actions"


def test_a_page_set_state_gets_back_only_small_traits():
    "The page sets the pad's size, code and strokes: the size is sent back, not the code or the strokes."
    a = app()
    sent = []
    a.page.pad.send_state = lambda keys=None: sent.append(sorted(keys))
    a.page.pad.set_state({"size": 100_000, "_esm": "x", "strokes": 0, "_css": 0, "nonsense": 1})
    assert sent == [["size"]], sent
    assert a.page.pad.size == 280 and len(a.page.pad.strokes) == 1
    a.page.readout.send_state = lambda keys=None: sent.append(sorted(keys))
    a.page.readout.set_state({"result": {"text": "x" * 10_000}, "_esm": 0})
    assert sent == [["size"]], "the readout's result (a dict) or its code was sent back"
    assert json.dumps(a.page.readout.result).count("x" * 100) == 0

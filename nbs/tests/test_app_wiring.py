"""The drawing app driven without a browser, message by message, with a real (untrained) ONNX model: every part of
the display filled in, the pad's messages throttled and answered, undo, hostile and broken clients, odd drawings,
the rollout picture both ways, failing and missing models. What a browser adds is in test_demo_browser.py.

The model is an untrained ViT exported to ONNX in a temporary folder: its predictions mean nothing, but every part
of the display must be filled in, in the right shape. (Exporting needs PyTorch; the app itself does not.)
"""
from types import SimpleNamespace

import ipywidgets
import numpy as np
import pytest

from minivit.app import FULL, HINT, DigitApp
from minivit.inference import Predictor


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "Path of an untrained ViT (2 heads, 3 blocks) exported to ONNX."
    import torch
    from minivit.export import export_onnx
    from minivit.vit import ViTConfig, VisionTransformer
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    torch.manual_seed(0)
    export_onnx(VisionTransformer(ViTConfig(emb_dim=32, num_heads=2, num_layers=3)).eval(), path)
    return str(path)


@pytest.fixture
def app(tiny):
    return DigitApp(models={"Tiny": tiny})


def send(w, content=None, method="custom", **kw):
    "Deliver a comm message to widget `w` as the kernel would: `content` (custom) or `state` (update)."
    data = {"method": method, **({"content": content} if method == "custom" else kw)}
    w._handle_msg({"content": {"data": data}, "buffers": []})


def readings(app) -> list:
    "A list that grows by one for each reading shown."
    seen = []
    app.page.readout.observe(lambda ch: seen.append(ch.new), "result")
    return seen


def heads_shown(app) -> list:
    "Head pictures per block in the pictures' details part."
    return [len(row.children) for row in app.page.pictures.heads.children]


def controlled_clocks(app):
    "Give the app's throttle and budget a clock the test sets; returns the clock (a one-item list)."
    clock = [0.0]
    Throttle, RateLimit = type(app.live), type(app.budget)
    app.live, app.budget = Throttle(0.05, clock=lambda: clock[0]), RateLimit(20, 5, clock=lambda: clock[0])
    return clock


def test_every_part_filled_in(app):
    assert (app.prediction_text, app.status_text, app.page.readout.result["state"]) == (HINT, "", "empty")
    assert heads_shown(app) == [2, 2, 2]                          # the picture grid is known before the first drawing
    shown = app.add_stroke([(140, 40), (140, 240)])
    assert app.prediction_text.startswith(f"Prediction: {shown.label} (")
    assert shown.probs.sum() == pytest.approx(1, abs=1e-4)
    assert shown.image.shape == (28, 28)
    assert [m.shape for m in shown.maps] == [(2, 7, 7)] * 3
    r = app.page.readout.result
    assert (r["label"], r["state"], len(r["probs"])) == (shown.label, "shown", 10)
    assert app.timing_text.startswith("Inference ") and "Tiny model" in app.timing_text
    assert app.page.pad.strokes == [[140, 40, 140, 240]]           # the page is shown the stroke


def test_pictures_in_one_message_after_the_answer(app, monkeypatch):
    """All pictures of a reading go in one message (ipycanvas' hold_canvas), one image each, after the answer: what the
    model sees and the rollout always, every head's picture only while the details part is open, and once when it
    opens (not again however often a page opens it)."""
    sent, answered = [], []
    monkeypatch.setattr(ipywidgets.Widget, "send", lambda self, content, buffers=None: sent.append(
        (self._model_name, len(buffers or []))))
    app.page.readout.observe(lambda ch: answered.append(len(sent)), "result")
    pictures, rollout = app.page.pictures, app.models.shapes["Tiny"][1]
    app.add_stroke([(140, 40), (140, 240)])
    assert answered == [0]                                         # the answer first
    assert sent == [("CanvasManagerModel", 1 + 1 + rollout)]       # the commands, then what the model sees and the rollout
    for _ in range(3):                                             # a page opens the details part, three times
        send(pictures.details, method="update", state={"selected_index": 0})
        send(pictures.details, method="update", state={"selected_index": None})
    assert sent[1:] == [("CanvasManagerModel", 1 + 6)]             # every head, 3 blocks of 2, painted once
    send(pictures.details, method="update", state={"selected_index": 0})
    app.add_stroke([(60, 100), (220, 100)])
    assert sent[2:] == [("CanvasManagerModel", 1 + 1 + rollout + 6)]   # open: a reading paints every head too


def test_pictures_follow_finished_strokes(app, monkeypatch):
    "A reading while the pen is down shows the answer only; the one at pen-up paints the pictures too."
    sent = []
    monkeypatch.setattr(ipywidgets.Widget, "send", lambda self, content, buffers=None: sent.append(self._model_name))
    controlled_clocks(app)
    log = readings(app)
    send(app.page.pad, {"kind": "down", "seq": 1, "points": [100, 60]})
    send(app.page.pad, {"kind": "move", "seq": 2, "points": [100, 70, 100, 90, 100, 110]})
    assert (len(log), sent) == (1, [])                             # read live: the answer, no pictures
    send(app.page.pad, {"kind": "up", "seq": 3, "points": [100, 230]})
    assert (len(log), sent) == (2, ["CanvasManagerModel"])          # pen up: the answer and the pictures


def test_pad_messages_throttled_and_answered(app):
    """With the clocks of the throttle and the budget under the test's control: pressing does not read yet; the first
    batch of moves is read at once, a second one within 50 ms is not, one after it is; lifting the pen always reads,
    and the readout carries the `seq` of the message it answers. The pad is then shown the finished stroke."""
    clock = controlled_clocks(app)
    log = readings(app)
    send(app.page.pad, {"kind": "down", "seq": 1, "points": [100, 60]})
    assert (len(log), app.prediction_text) == (0, HINT)
    send(app.page.pad, {"kind": "move", "seq": 2, "points": [100, 70, 100, 90, 100, 110]})
    assert (len(log), log[-1]["seq"]) == (1, 2) and app.prediction_text.startswith("Prediction: ")
    clock[0] = 0.03; send(app.page.pad, {"kind": "move", "seq": 3, "points": [100, 130]})
    assert len(log) == 1                                           # too soon: no reading
    clock[0] = 0.06; send(app.page.pad, {"kind": "move", "seq": 4, "points": [100, 150, 100, 170]})
    assert (len(log), log[-1]["seq"]) == (2, 4)
    assert app.page.pad.strokes == []                              # nothing finished yet
    clock[0] = 0.07; send(app.page.pad, {"kind": "up", "seq": 5, "points": [100, 230]})
    assert (len(log), log[-1]["seq"], app.page.pad.seq) == (3, 5, 5)   # pen up: read at once
    assert len(app.page.pad.strokes[0]) == 2 * 8


def test_undo(app):
    "Undo removes the last stroke and reads again; undoing the last one shows the hint, not a prediction."
    one = app.add_stroke([(140, 40), (140, 240)])
    app.add_stroke([(60, 100), (220, 100)])
    np.testing.assert_array_equal(app.undo().probs, one.probs)
    assert app.page.pad.strokes == [[140, 40, 140, 240]]
    assert app.undo() is None
    assert (app.prediction_text, app.page.readout.result["state"], app.page.pad.strokes) == (HINT, "empty", [])
    assert app.undo() is None                                      # nothing left to undo


JUNK = ["text", None, 42, [1, 2], {}, {"kind": "fly"}, {"kind": "down", "points": "x" * 10**5},
        {"kind": "move", "points": [[1, 2]]}, {"kind": "up", "seq": "NaN"}, {"kind": "down", "seq": True},
        {"kind": "up", "points": [float("nan")] * 6, "seq": -3}]


def test_junk_ignored_and_points_clamped(app):
    log, seq = readings(app), app.seq
    for junk in JUNK: send(app.page.pad, junk)
    assert (app.status_text, app.drawing.all, app.seq, log) == ("", [], seq, [])
    send(app.page.pad, {"kind": "down", "seq": 1, "points": [-50, 1e12, float("inf"), 5, 140, 140]})
    assert app.drawing.current == [(0.0, 280.0), (140.0, 140.0)]


def test_floods_read_within_limits(app):
    "A flood of moves is read at most at the throttle's rate, a flood of whole strokes within the budget."
    clock = controlled_clocks(app)
    send(app.page.pad, {"kind": "down", "seq": 1, "points": [140, 140]})
    clock[0] = 1.0
    log = readings(app)
    for i in range(2000): send(app.page.pad, {"kind": "move", "seq": 2 + i, "points": [140, 140 + i % 50]})
    assert len(log) == 1                                           # 2000 moves at one instant: one reading
    reads, read = [], app.predict_now
    app.predict_now = lambda **kw: reads.append(1) or read(**kw)   # count the readings themselves
    for i in range(300):                                           # 300 whole strokes at one instant
        send(app.page.pad, {"kind": "down", "points": [float(i % 280), 10.0]})
        send(app.page.pad, {"kind": "up", "points": list(range(40))})
    assert len(reads) == 4                                         # the rest of the budget's burst
    d = app.drawing
    assert d.full and d.n_points <= d.max_points and len(d) <= d.max_strokes
    assert app.status_text == FULL


def test_open_stroke_ended_by_the_next(app):
    "A stroke left open (the page gone mid-stroke) is ended by the next one."
    send(app.page.pad, {"kind": "down", "seq": 9000, "points": [20, 20]})
    send(app.page.pad, {"kind": "down", "seq": 9001, "points": [30, 30]})
    assert app.drawing.done[-1] == [(20.0, 20.0)]


def test_state_updates_refused(app):
    "A page cannot set the pad's size, the readout's answer, a picture's size or the details' titles: the kernel's state stays."
    send(app.page.pad, method="update", state={"size": 100_000, "pen_width": -1})
    send(app.page.readout, method="update", state={"result": {"text": "x" * 10**6}})
    send(app.page.pictures.seen, method="update", state={"width": 100_000, "sync_image_data": True})
    send(app.page.pictures.details, method="update", state={"selected_index": 3, "titles": ["x" * 10**6]})
    assert (app.page.pad.size, app.page.pad.pen_width, app.size) == (280, 18.0, 280)
    assert app.prediction_text == HINT
    assert (app.page.pictures.seen.width, app.page.pictures.seen.sync_image_data) == (28, False)
    assert (app.page.pictures.details.selected_index, app.page.pictures.details.titles) == (None, ("Details: each attention head",))
    app.clear()
    assert (app.prediction_text, app.status_text) == (HINT, "")


@pytest.mark.parametrize("pen, strokes", [
    (18, [[(140, 140)]]),                                                         # a single dot
    (18, [np.random.default_rng(0).uniform(0, 280, size=(200, 2))]),             # a scribble over everything
    (1, [[(140, 40), (140, 240)]]),                                               # a hairline pen
    (90, [[(140, 40), (140, 240)]])])                                             # a very thick one
def test_odd_drawings_read(tiny, pen, strokes):
    a = DigitApp(models={"Tiny": tiny}, pen_width=pen)
    for s in strokes: shown = a.add_stroke(s)
    assert shown is not None and a.prediction_text.startswith("Prediction: "), a.status_text
    assert a.status_text == ""


def test_bad_strokes_refused_with_a_message(app):
    with pytest.raises(ValueError, match="non-empty sequence of \\(x, y\\) points"): app.add_stroke([])
    with pytest.raises(ValueError, match="must be finite"): app.add_stroke([(1, float("nan"))])


class CLSMapsOnly:
    "Wrap a `Predictor` and drop the full attention matrices from its results."
    def __init__(self, spec): self.inner = Predictor(spec)
    def predict(self, images):
        res = self.inner.predict(images)
        return SimpleNamespace(probs=res.probs, maps=res.maps, attention=None)


class RandomFullAttention(CLSMapsOnly):
    "Wrap a `Predictor` and replace its full attention matrices by random ones."
    def predict(self, images):
        res = self.inner.predict(images)
        z = np.random.default_rng(0).random((len(res.probs), 2, 50, 50))
        return SimpleNamespace(probs=res.probs, maps=res.maps, attention=[z / z.sum(-1, keepdims=True)] * 3)


def test_rollout_shown_when_the_model_gives_full_attention(tiny):
    "A model that also returns full attention matrices gets a rollout picture; one without them a note instead."
    full = DigitApp(models={"Tiny": tiny}, predictor_factory=RandomFullAttention)
    assert full.add_stroke([(140, 40), (140, 240)]).rollout.shape == (7, 7)
    pictures = full.page.pictures
    assert pictures.rollout_box.layout.display is None and pictures.note.value == ""
    assert heads_shown(full) == [2, 2, 2]
    cls_only = DigitApp(models={"Tiny": tiny}, predictor_factory=CLSMapsOnly)
    assert cls_only.add_stroke([(140, 40), (140, 240)]).rollout is None
    pictures = cls_only.page.pictures
    assert pictures.rollout_box.layout.display == "none" and "no rollout" in pictures.note.value
    assert heads_shown(cls_only) == [2, 2, 2]


class Flaky:
    "A `Predictor` that fails while `Flaky.fail` is set."
    fail = False
    def __init__(self, spec): self.inner = Predictor(spec)
    def predict(self, images):
        if Flaky.fail: raise RuntimeError("inference failed")
        return self.inner.predict(images)


def test_failure_reported_then_cleared(tiny):
    "A failure during prediction is shown in the status line, never raised, and the next good prediction clears it."
    flaky = DigitApp(models={"Tiny": tiny}, predictor_factory=Flaky)
    Flaky.fail = True
    try:
        assert flaky.add_stroke([(140, 40), (140, 240)]) is None
        assert flaky.status_text == "Something went wrong: RuntimeError: inference failed"
        assert flaky.prediction_text == "Could not read the digit"
    finally:
        Flaky.fail = False
    assert flaky.add_stroke([(100, 40), (100, 240)]) is not None
    assert flaky.status_text == ""


def test_missing_model_reported(tmp_path):
    "A missing or unreadable model is reported in the page, not raised."
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    bad = DigitApp(models={"Missing": str(tmp_path / "nothing.onnx"), "Junk": str(tmp_path / "junk.onnx")})
    assert bad.status_text.startswith(f"The Missing model ({tmp_path / 'nothing.onnx'}) could not be loaded"), bad.status_text
    assert bad.add_stroke([(140, 40), (140, 240)]) is None
    assert bad.prediction_text == "No model to read the digit"
    bad.page.model_toggle.value = "Junk"
    assert bad.status_text.startswith("The Junk model"), bad.status_text

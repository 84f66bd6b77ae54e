"""The demo's kernel websockets against hand-written hostile clients (loopback only, bounded in count and time): what
one page can make the server and its kernel hold, send and compute. See nbs/13_serve.ipynb (`GuardedChannels`).

Each test opens the page once (a kernel of its own, from a pool of two) and then speaks the v1 kernel protocol
directly (`kernel_client.KernelClient`). `MINIVIT_SERVE_ROOT=/path/to/older/checkout` runs them against another
checkout.
"""
import json
import math
import threading
import time

import pytest

from demo_page import ARTIFACTS, server_memory, voila_server
from websockets.exceptions import ConnectionClosed

from kernel_client import SERVED_ROOT, KernelClient, kernel_process

LOG = ARTIFACTS / "voila-websocket.log"
# The bound on a client's unsent data: nbs/voila.json has 4 MiB; here 128 KiB, so that a kernel within its rate limit
# (about 100 kB a second of readings) fills it in seconds, not a minute.
UNSENT_BOUND = 128 << 10
ARGS = ["--VoilaConfiguration.default_pool_size=2", f"--GuardedChannels.max_unsent_bytes={UNSENT_BOUND}"]
RING = [round(v, 1) for a in range(0, 360, 3)
        for v in (140 + 80 * math.cos(math.radians(a)), 140 + 100 * math.sin(math.radians(a)))]


@pytest.fixture(scope="module")
def server():
    with voila_server(SERVED_ROOT, args=ARGS, log_path=LOG) as served: yield served


@pytest.fixture
def client(server):
    "A client on a page of its own, with the app's widgets found (the page's one request for every widget's state)."
    url, _ = server
    c = KernelClient(url)
    c.app = c.widgets()
    c.state_bytes = sum(len(json.dumps(s)) for s in c.app.values())
    c.drain(0.5)
    yield c
    c.close()


def update(c, css_class, state): c.comm_msg(c.find(c.app, css_class), {"method": "update", "state": state, "buffer_paths": []})


def test_page_set_state_is_small_and_not_echoed(client):
    "A 900 kB label, a 2 kB one, and the pad's code and strokes set to 0: the kernel keeps none, sends back little."
    update(client, "minivit-undo", {"description": "x" * 900_000})
    update(client, "minivit-clear", {"description": "y" * 2_000, "tooltip": "z" * 2_000})
    update(client, "minivit-pad", {"_esm": 0, "strokes": 0, "_css": 0})
    back = client.drain(3)
    assert sum(m["size"] for m in back) < 16_000, [(m["msg_type"], m["size"]) for m in back]
    time.sleep(10.5)                                   # the page's next request for every widget's state is allowed
    state = client.widgets()
    labels = {k: s.get("description") for k, s in state.items() if s.get("_model_name") == "ButtonModel"}
    assert sorted(labels.values()) == ["Clear", "Undo"], {k: (v or "")[:20] for k, v in labels.items()}
    assert sum(len(json.dumps(s)) for s in state.values()) < client.state_bytes + 10_000


def test_state_requests_are_rare(client):
    "The page asks for every widget's state once when it loads; asking again at once gets nothing."
    with pytest.raises(TimeoutError): client.widgets(timeout=4)


def test_every_message_is_rate_limited(server, client):
    "2,000 model toggles on a drawing, as fast as they go (each a reading with the model): bounded work in the kernel."
    _, proc = server
    kernel = kernel_process(proc, client.kernel_id)
    toggle, pad = client.find(client.app, "minivit-model"), client.find(client.app, "minivit-pad")
    client.comm_msg(pad, {"method": "custom", "content": {"kind": "down", "seq": 1, "points": RING}})
    client.comm_msg(pad, {"method": "custom", "content": {"kind": "up", "seq": 2, "points": []}})
    client.drain(2)                                    # a drawing: each reading runs the model
    cpu0 = sum(kernel.cpu_times()[:2])
    reader = threading.Thread(target=client.drain, args=(15,), daemon=True); reader.start()
    t0 = time.monotonic()
    for i in range(2000):
        client.comm_msg(toggle, {"method": "update", "state": {"index": i % 2}, "buffer_paths": []})
        if i % 100 == 0: client.comm_msg(pad, {"method": "custom", "content": {"kind": "down", "seq": 3 + i, "points": RING}})
    flood_s = time.monotonic() - t0
    reader.join()
    cpu = sum(kernel.cpu_times()[:2]) - cpu0
    client.send("kernel_info_request", {})
    replies = [m for m in client.drain(5) if m["msg_type"] == "kernel_info_reply"]
    assert cpu < 6, f"the kernel spent {cpu:.1f} s of CPU on a {flood_s:.1f} s flood"
    assert replies, "the kernel was still busy with the flood 15 s later"


def test_websockets_per_kernel_are_bounded(server, client):
    "Eight more websockets to the same kernel: one is accepted (the page's own makes two), the others closed."
    url, _ = server
    extra = [KernelClient(url, client.kernel_id) for _ in range(8)]
    try:
        time.sleep(1)
        open_ = []
        for c in extra:
            try:
                c.send("kernel_info_request", {})
                open_.append(any(m["msg_type"] == "kernel_info_reply" for m in c.drain(2)))
            except ConnectionClosed: open_.append(False)
        assert sum(open_) <= 1, f"{sum(open_)} more websockets accepted to one kernel"
    finally:
        for c in extra: c.close()


def test_client_that_stops_reading_is_disconnected(server, client):
    """A websocket that never reads while its kernel reads a drawing again and again: disconnected past the bound,
    with one log line and no traceback; the server's memory bounded."""
    url, proc = server
    before = LOG.read_text().count("stopped reading")
    stalled = KernelClient(url, client.kernel_id, reads=False)
    server0 = server_memory(proc)["server"]
    toggle, pad = client.find(client.app, "minivit-model"), client.find(client.app, "minivit-pad")
    client.comm_msg(pad, {"method": "custom", "content": {"kind": "down", "seq": 1, "points": RING}})
    client.comm_msg(pad, {"method": "custom", "content": {"kind": "up", "seq": 2, "points": []}})
    reader = threading.Thread(target=client.drain, args=(60,), daemon=True); reader.start()
    peak, t0 = server0, time.monotonic()
    while time.monotonic() - t0 < 60 and LOG.read_text().count("stopped reading") == before:
        for i in range(4): client.comm_msg(toggle, {"method": "update", "state": {"index": i % 2}, "buffer_paths": []})
        peak = max(peak, server_memory(proc)["server"])
        time.sleep(0.2)
    took = time.monotonic() - t0
    time.sleep(2)
    lines = LOG.read_text().count("stopped reading") - before
    stalled.close()
    assert lines == 1, f"{lines} log lines about the stalled client in {took:.0f} s"
    assert peak - server0 < 40, f"the server grew from {server0:.0f} to {peak:.0f} MB"
    assert "Task exception was never retrieved" not in LOG.read_text()


def test_no_traceback_reaches_the_page(client):
    "Messages that make the kernel fail: the page is told nothing of the server's files or code."
    update(client, "minivit-model", {"index": 99})
    client.comm_msg(client.find(client.app, "minivit-model"), {"method": "update", "state": 5})
    client.comm_msg("no-such-comm", {"method": "update", "state": {}})
    client.send("comm_open", {"comm_id": "x", "target_name": "no-such-target", "data": {}})
    texts = [json.dumps(m["content"]) for m in client.drain(4)]
    leaks = [t[:200] for t in texts if any(s in t for s in ("Traceback", "site-packages", ".py", "/root", "/home"))]
    assert texts and not leaks, leaks

"""A hand-written kernel websocket client, as a hostile visitor would write one: it opens the demo page to get a
kernel, then speaks the v1 kernel websocket protocol directly (no browser, no widget manager).

Not a test module (pytest collects `test_*.py` only); the `test_serve_*.py` tests and `nbs/benchmarks/demo_load.py`
import it. Loopback only.
"""
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from demo_page import ROOT

V1 = "v1.kernel.websocket.jupyter.org"
# The checkout the serving tests serve: this one, or another (an older commit unpacked with `git archive`) to see
# the tests fail where the serving layer lacked a defence.
SERVED_ROOT = Path(os.environ.get("MINIVIT_SERVE_ROOT", ROOT)).resolve()


def kernel_process(server, kernel_id: str):
    "The psutil process of kernel `kernel_id` of the server process `server`, or `None`."
    import psutil
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            if kernel_id in " ".join(child.cmdline()): return child
        except psutil.Error: pass
    return None


def kernel_ids(server) -> set:
    "Ids of the live kernels (processes) of the server process `server`."
    import psutil
    ids = set()
    for child in psutil.Process(server.pid).children(recursive=True):
        try: m = re.search(r"kernel-([0-9a-f-]+)\.json", " ".join(child.cmdline()))
        except psutil.Error: continue
        if m: ids.add(m[1])
    return ids


def get(url: str, timeout: float = 30) -> tuple:
    """`(status, body)` of a GET, errors included; `TimeoutError` when the whole answer has not come within `timeout`
    seconds (a server that sends a heartbeat every few seconds and never finishes would keep a plain read waiting)."""
    out = {}
    def fetch():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r: out["answer"] = r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e: out["answer"] = e.code, e.read().decode(errors="replace")
        except Exception as e: out["error"] = e
    t = threading.Thread(target=fetch, daemon=True); t.start(); t.join(timeout)
    if "answer" in out: return out["answer"]
    raise TimeoutError(f"no complete answer from {url} within {timeout} s") from out.get("error")


def page_kernel(url: str, timeout: float = 60) -> str:
    "Open the demo page as a browser would (without running its scripts); the id of the kernel it was given."
    status, html = get(url, timeout)
    m = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', html)
    if status != 200 or not m: raise RuntimeError(f"no kernel in the page (HTTP {status}): {html[:300]!r}")
    return m[1]


def frame(channel: str, msg_type: str, content: dict, session: str, metadata: dict | None = None) -> bytes:
    "One v1 frame: offsets, channel, header, parent header, metadata, content."
    header = dict(msg_id=uuid.uuid4().hex, username="visitor", session=session, msg_type=msg_type, version="5.3",
                  date="2026-01-01T00:00:00Z")
    parts = [json.dumps(p).encode() for p in (header, {}, metadata or {}, content)]
    chan = channel.encode()
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(chan))
    for p in parts: offsets.append(offsets[-1] + len(p))
    return b"".join([len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets), chan, *parts])


def unframe(data) -> dict:
    "A v1 frame (or a legacy JSON message) as `{channel, msg_type, content, size}`."
    if isinstance(data, str):
        msg = json.loads(data)
        return dict(channel=msg.get("channel"), msg_type=msg["header"]["msg_type"], content=msg["content"], size=len(data))
    n = int.from_bytes(data[:8], "little")
    offsets = [int.from_bytes(data[8 * (i + 1):8 * (i + 2)], "little") for i in range(n)]
    parts = [data[offsets[i]:offsets[i + 1]] for i in range(n - 1)] + [data[offsets[-1]:]]
    return dict(channel=parts[0].decode(), msg_type=json.loads(parts[1])["msg_type"], content=json.loads(parts[4]),
                size=len(data))


class KernelClient:
    "A websocket to the kernel of one page: send comm messages, read what comes back."
    def __init__(self, base_url: str, kernel_id: str | None = None, timeout: float = 30, subprotocol: str | None = V1,
                 reads: bool = True):
        """A websocket to `kernel_id` (default: the kernel of a page opened for it). `reads=False`: a client that
        stops reading, with a small receive buffer and no queue, so that what the server sends it waits in the server."""
        self.kernel_id = kernel_id or page_kernel(base_url)
        self.session = uuid.uuid4().hex
        ws_url = base_url.replace("http://", "ws://").rstrip("/") + f"/api/kernels/{self.kernel_id}/channels?session_id={self.session}"
        sock = None
        if not reads:
            host, port = base_url.split("//")[1].split("/")[0].split(":")
            sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((host, int(port)))
        # entered as a context (as websockets asks), left by `close`
        self.ws = connect(ws_url, sock=sock, subprotocols=[subprotocol] if subprotocol else None, max_size=None,
                          max_queue=1 if not reads else 16, open_timeout=timeout, close_timeout=2).__enter__()

    def send(self, msg_type: str, content: dict, channel: str = "shell", metadata: dict | None = None):
        self.ws.send(frame(channel, msg_type, content, self.session, metadata))

    def comm_msg(self, comm_id: str, data: dict): self.send("comm_msg", {"comm_id": comm_id, "data": data})

    def recv(self, timeout: float = 1.0) -> dict | None:
        "The next message, or `None` after `timeout` seconds of silence."
        try: return unframe(self.ws.recv(timeout=timeout))
        except TimeoutError: return None

    def drain(self, seconds: float) -> list:
        "Every message that arrives within `seconds`, or until the server closes the connection."
        out, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try: m = self.recv(timeout=left)
            except ConnectionClosed: break
            if m is not None: out.append(m)
        return out

    def widgets(self, timeout: float = 20) -> dict:
        "The app's widgets as the kernel reports them: `{comm_id: state}`, asked for on a control comm of our own."
        control = uuid.uuid4().hex
        self.send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
                  metadata={"version": "1.0.0"})
        self.comm_msg(control, {"method": "request_states"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(timeout=1)
            if m and m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update_states":
                return {k: v["state"] for k, v in m["content"]["data"]["states"].items()}
        raise TimeoutError("the kernel did not send the widgets' states")

    def find(self, widgets: dict, css_class: str) -> str:
        "The comm id of the widget with `css_class`."
        return next(k for k, s in widgets.items() if css_class in (s.get("_dom_classes") or []))

    def close(self):
        try: self.ws.close()
        except Exception: pass

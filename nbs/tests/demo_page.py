"""What the browser tests and the demo benchmark share: serving the demo with Voila, launching Chromium, the digits
they draw and the page's own checks (written in JavaScript, run in the page).

Not a test module (pytest collects `test_*.py` only); `nbs/tests/test_demo_browser.py` and
`nbs/benchmarks/demo_load.py` import it.
"""
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NBS = ROOT / "nbs"
ARTIFACTS = NBS / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY_LINE = "Voilà is running at"
POOL_LINE = "Kernel pool of demo.ipynb is filled"
CANVAS_SIZE = 280


def require_chromium():
    "Skip (or, under CI=true, fail) with a clear message when Chromium is missing."
    if CHROMIUM.exists(): return
    import pytest
    msg = f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests"
    if os.environ.get("CI", "").lower() == "true": pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(root) -> list:
    "How `root` serves its demo: with `minivit.serve.DemoServer` (Voila behind the project's gate) where it has one."
    serve = Path(root) / "minivit" / "serve.py"
    if serve.exists() and "class DemoServer(" in serve.read_text():
        return ["-c", "from minivit.serve import DemoServer; DemoServer.launch_instance()"]
    return ["-m", "voila"]


@contextlib.contextmanager
def voila_server(root=ROOT, args=(), timeout: float = 120, log_path=None, wait_for_pool: bool = True):
    """Serve `root`/nbs/demo.ipynb from nbs/ (so nbs/voila.json applies), as `root` serves it (`serve_command`), on a
    free local port, with `root`'s minivit first on the path. Yields `(url, process)`; stops the process group."""
    root, port = Path(root), free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = Path(log_path or ARTIFACTS / "voila.log")
    cmd = [sys.executable, *serve_command(root), "demo.ipynb", "--no-browser", f"--port={port}", *args]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=root / "nbs", stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    config = json.loads((root / "nbs" / "voila.json").read_text()) if (root / "nbs" / "voila.json").exists() else {}
    preheat = config.get("VoilaConfiguration", {}).get("preheat_kernel", False) and wait_for_pool
    try:
        deadline = time.monotonic() + timeout
        while True:                  # ready when the log says so (and the kernel pool, if any, is full); never GET /
            text = log_path.read_text(errors="replace")
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with code {proc.returncode}:\n{text[-3000:]}")
            if READY_LINE in text and (POOL_LINE in text or not preheat): break
            if time.monotonic() > deadline:
                raise RuntimeError(f"voila not ready after {timeout} s:\n{text[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/", proc
    finally: stop_group(proc, timeout=15)


def stop_group(proc, timeout: float = 15):
    "End a server started in its own process group: SIGTERM, then SIGKILL after `timeout` seconds."
    with contextlib.suppress(ProcessLookupError): os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError): os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def server_memory(proc) -> dict:
    "RSS in MB of the Voila server, of each of its kernels, and in all."
    import psutil
    server = psutil.Process(proc.pid)
    kernels = {}
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmd = " ".join(child.cmdline())
            if "ipykernel" in cmd: kernels[cmd.split("kernel-")[-1].split(".json")[0]] = child.memory_info().rss / 2**20
    total = server.memory_info().rss / 2**20 + sum(kernels.values())
    return dict(server=server.memory_info().rss / 2**20, kernels=kernels, total=total)


def _arc(cx, cy, rx, ry, a0, a1, n=16):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


# One stroke per digit, in canvas pixels: both shipped models read each as its digit (checked by the benchmark,
# which counts wrong answers).
DIGITS = {
    0: _arc(140, 140, 70, 100, -90, 270, 24),
    1: [(140, 40), (140, 140), (140, 240)],
    2: _arc(140, 95, 60, 55, 200, 360, 10)[:-1] + _arc(140, 95, 60, 55, 0, 60, 4) + [(80, 235), (205, 235)],
    3: _arc(135, 90, 55, 50, 210, 450, 12) + _arc(135, 190, 60, 50, -90, 150, 12),
    4: [(170, 240), (170, 40), (70, 170), (210, 170)],
    5: [(195, 45), (95, 45), (90, 125)] + _arc(135, 175, 65, 60, -120, 150, 14),
    6: [(175, 40), (120, 100)] + _arc(140, 180, 55, 55, 180, 540, 20),
    7: [(80, 50), (200, 50), (120, 240)],
    8: _arc(140, 85, 45, 45, 90, -270, 16) + _arc(140, 180, 55, 55, -90, 270, 18),
    9: _arc(140, 90, 55, 50, 0, 360, 20) + [(195, 90), (190, 240)],
}


def path(points, step: float = 8.0) -> list:
    "`points` joined by straight lines, with a point every `step` pixels: the pointer positions a hand would pass."
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


# The page is ready when the canvas is shown, painted (a black pixel in its middle) and the hint is up.
READY_JS = """() => { const c = document.querySelector('canvas.minivit-canvas'), p = document.querySelector('.minivit-prediction');
    if (!c || !p || !p.innerText.includes('Draw a digit')) return false;
    const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
    return d[3] === 255 && d[0] === 0; }"""

# Times each pen-up to the answer for that drawing, with the page's clock. The pad numbers its messages
# (canvas data-seq) and the readout names the message it answers (data-seq); a page without them (the app before
# the readout existed) answers when the prediction text appears after a Clear.
WATCH_JS = """() => {
    window.__answers = [];
    let pending = null;
    const canvas = document.querySelector('canvas.minivit-canvas'), app = document.querySelector('.minivit-app');
    const text = () => document.querySelector('.minivit-prediction').innerText.trim();
    const check = () => {
        if (!pending) return;
        const readout = document.querySelector('.minivit-readout');
        const done = pending.seq !== null ? Number(readout.dataset.seq) >= pending.seq : text().startsWith('Prediction');
        if (done) { window.__answers.push({ms: performance.now() - pending.t, text: text()}); pending = null; }
    };
    canvas.addEventListener('pointerup', () => {         // after the pad's own listener has sent its last message
        pending = {t: performance.now(), seq: canvas.dataset.seq ? Number(canvas.dataset.seq) : null}; check(); });
    new MutationObserver(check).observe(app, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

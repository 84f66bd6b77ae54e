"""What the static page's tests and benchmark share: onnxruntime-web from npm, the page built by `minivit_web`, and
a static file server on a free local port.

Not a test module (pytest collects `test_*.py` only). onnxruntime-web is fetched with `npm pack` (the version
`minivit.web` pins) into a cache folder, once: ~/.cache/minivit/ (or $XDG_CACHE_HOME/minivit/). Without npm the tests
are skipped, and under CI=true they fail (`.ci/run` installs npm).
"""
import contextlib
import functools
import os
import shutil
import subprocess
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from minivit.web import ORT_FILES, ORT_WEB_VERSION, build_page

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minivit"


def require(what: str, found: bool):
    "Skip (or, under CI=true, fail) with a clear message when `what` is missing."
    if found: return
    msg = f"{what} not found: the static page's tests need it"
    if os.environ.get("CI", "").lower() == "true": pytest.fail(msg)
    pytest.skip(msg)


def ort_dist(version: str = ORT_WEB_VERSION) -> Path:
    "onnxruntime-web's dist folder, fetched with `npm pack` into the cache the first time."
    dist = CACHE / f"onnxruntime-web-{version}" / "package" / "dist"
    if all((dist / f).is_file() for f in ORT_FILES): return dist
    npm = shutil.which("npm")
    require("npm (to fetch onnxruntime-web)", npm is not None)
    work = CACHE / f"onnxruntime-web-{version}.partial"
    shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)
    res = subprocess.run([npm, "pack", f"onnxruntime-web@{version}", "--pack-destination", str(work)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"npm pack onnxruntime-web@{version} failed:\n{res.stderr[-2000:]}"
    with tarfile.open(work / f"onnxruntime-web-{version}.tgz") as tar: tar.extractall(work, filter="data")
    (work / f"onnxruntime-web-{version}.tgz").unlink()
    shutil.rmtree(dist.parents[1], ignore_errors=True)
    work.rename(dist.parents[1])                      # whole or not at all: a broken fetch leaves no dist behind
    return dist


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@contextlib.contextmanager
def static_server(root):
    "Serve the folder `root` as `python -m http.server -d root` does, on a free port of 127.0.0.1; yields the URL."
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try: yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown(); server.server_close(); thread.join(10)


@contextlib.contextmanager
def served_page(out_dir):
    "The static page built into `out_dir` with onnxruntime-web from npm, served: `(url, sizes)`."
    sizes = build_page(out_dir, ort=ort_dist())
    with static_server(out_dir) as url: yield url, sizes


# The static page is ready when its first model is loaded (and the pad is painted: demo_page.READY_JS).
PAGE_READY_JS = "() => document.querySelector('.minivit-app').dataset.ready === 'true'"

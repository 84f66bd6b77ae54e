"""The demo server's pages under load, as a hostile visitor would load them (loopback only, bounded in count and time):
a cap on live kernels with a short "busy" page past it, no kernel started by a query parameter, and no file served
that the page does not need. See nbs/13_serve.ipynb.

`MINIVIT_SERVE_ROOT=/path/to/older/checkout` runs them against another checkout (they fail where it lacks a defence).
"""
import concurrent.futures
import time

from demo_page import ARTIFACTS, voila_server
from kernel_client import SERVED_ROOT, get, kernel_ids, page_kernel

import pytest

CAP, POOL, CONNECT_S = 3, 1, 20
ARGS = [f"--DemoKernelManager.max_kernels={CAP}", f"--VoilaConfiguration.default_pool_size={POOL}",
        f"--DemoKernelManager.page_connect_timeout={CONNECT_S}"]


@pytest.fixture(scope="module")
def server():
    with voila_server(SERVED_ROOT, args=ARGS, log_path=ARTIFACTS / "voila-pages.log") as served: yield served


def test_kernel_cap_and_busy_page(server):
    "12 visitors at once: at most the cap in kernels, the pool included; the others get the busy page, at once."
    url, proc = server
    peak, answers = [len(kernel_ids(proc))], []
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        started = time.monotonic()
        def visit():
            try: return get(url, timeout=60), time.monotonic() - started
            except TimeoutError: return (None, ""), time.monotonic() - started
        futures = [pool.submit(visit) for _ in range(12)]
        while not all(f.done() for f in futures):
            peak.append(len(kernel_ids(proc))); time.sleep(0.2)
        answers = [f.result() for f in futures]
    deadline = time.monotonic() + 15                   # the pool refills (fill_delay 5 s): still within the cap
    while time.monotonic() < deadline: peak.append(len(kernel_ids(proc))); time.sleep(0.5)
    statuses = [status for (status, _), _ in answers]
    assert max(peak) <= CAP, f"{max(peak)} kernels at once with a cap of {CAP}"
    assert statuses.count(200) == CAP - POOL and statuses.count(503) == 12 - (CAP - POOL), statuses
    busy = [(body, took) for (status, body), took in answers if status == 503]
    assert all("busy" in body and len(body) < 2000 for body, _ in busy), busy[0][0][:300]
    assert max(took for _, took in busy) < 10, f"a busy page took {max(t for _, t in busy):.1f} s"


@pytest.mark.parametrize("query", ["template=nosuch", "theme=dark", "template=classic", "template=lab&theme=dark"])
def test_query_parameters_start_no_kernel(server, query):
    "A template or theme other than the one served is refused with a 4xx at once, and starts no kernel."
    url, proc = server
    before = kernel_ids(proc)
    t = time.monotonic()
    try: status, body = get(f"{url}?{query}", timeout=20)
    except TimeoutError: status, body = None, ""
    took = time.monotonic() - t
    assert status is not None and 400 <= status < 500 and took < 5, f"?{query}: HTTP {status} after {took:.1f} s"
    time.sleep(2)
    assert kernel_ids(proc) <= before, f"?{query} started a kernel"
    assert "Traceback" not in body and "/site-packages" not in body


def test_only_needed_files_served(server):
    "The page needs no file from nbs/: an image there is not served."
    url, _ = server
    probe = SERVED_ROOT / "nbs" / "test-artifacts" / "probe.png"     # in nbs/, the directory Voila serves files from
    probe.parent.mkdir(exist_ok=True)
    probe.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    try: status, _ = get(f"{url}voila/files/test-artifacts/probe.png")
    finally: probe.unlink()
    assert status in (403, 404), f"an image under nbs/ was served (HTTP {status})"
    assert get(f"{url}voila/files/demo.ipynb")[0] in (403, 404)


def test_page_that_never_connects_frees_its_seat(server):
    "A client that only fetches the page: its kernel is shut down once the page has not connected in time."
    url, proc = server
    kernel, deadline = None, time.monotonic() + 90     # a seat comes free once the busy test's visitors' are freed
    while kernel is None and time.monotonic() < deadline:
        try: kernel = page_kernel(url)
        except RuntimeError: time.sleep(2)
    assert kernel, "no seat came free"
    time.sleep(CONNECT_S + 8)
    assert kernel not in kernel_ids(proc), f"the kernel of a page that never connected lives on after {CONNECT_S + 8} s"
    assert f"Shutting down kernel {kernel}: its page did not connect" in (ARTIFACTS / "voila-pages.log").read_text()

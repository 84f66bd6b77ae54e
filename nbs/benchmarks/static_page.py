"""Benchmark of the static demo (a benchmark, not a test): what a first visit downloads and how long it takes until
the page answers, in headless Chromium.

Builds the page with `minivit_web` (onnxruntime-web from npm, as the tests get it) and serves it on 127.0.0.1 as
`python -m http.server` does (no compression). Each visit is a new browser context, so nothing is cached. It reports:

- download: the bytes of a first visit, by the page's own resource timing, and what gzip makes of the same files (as a
  host that compresses would send them);
- page ready: from the start of navigation until the first model is loaded and the page can answer;
- first answer: pen-up to the answer of the first drawing (the page reads a drawing live as it is drawn, so the
  model's first run is behind it by then), and the next drawings' pen-up to answer (median), by the page's clock;
- with `--mbps`, the same visit over a link of that speed (Chromium's network emulation, 20 ms latency).

    python nbs/benchmarks/static_page.py [--visits 3] [--mbps 20]
"""
import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from demo_page import CHROMIUM, CHROMIUM_ARGS, DIGITS, path  # noqa: E402
from web_page import PAGE_READY_JS, served_page  # noqa: E402

from minivit.web import first_visit_bytes  # noqa: E402


# Times each pen-up to the answer for that drawing, by the page's clock, from the moment the page gets the pointerup
# (capture phase, before the pad's own listener: the page reads the drawing inside that listener) until the readout
# names the pad message that pen-up sent (data-seq).
WATCH_JS = """() => {
    window.__answers = [];
    let pending = null;
    const canvas = document.querySelector('canvas.minivit-canvas'), readout = document.querySelector('.minivit-readout');
    const check = () => {
        if (!pending || Number(readout.dataset.seq) < pending.seq) return;
        window.__answers.push({ms: performance.now() - pending.t,
                               text: document.querySelector('.minivit-prediction').innerText.trim()});
        pending = null;
    };
    document.addEventListener('pointerup', e => {
        if (e.target === canvas) pending = {t: performance.now(), seq: Number(canvas.dataset.seq || 0) + 1}; },
        {capture: true});
    new MutationObserver(check).observe(readout, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def visit(browser, url, mbps=None) -> dict:
    "One first visit: download, page ready, pen-up to answer of three digits."
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    if mbps:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                 "downloadThroughput": mbps * 1e6 / 8, "uploadThroughput": mbps * 1e6 / 8})
    page.goto(url, timeout=300_000)
    page.wait_for_function(PAGE_READY_JS, timeout=300_000, polling=20)
    ready_ms = page.evaluate("performance.now()")            # navigation starts at the page clock's zero
    page.evaluate(WATCH_JS)
    box = page.locator("canvas.minivit-canvas").bounding_box()
    at = lambda x, y: (box["x"] + x * box["width"] / 280, box["y"] + y * box["height"] / 280)
    for d in (7, 2, 5):
        page.locator(".minivit-clear").click()
        pts = path(DIGITS[d])
        page.mouse.move(*at(*pts[0])); page.mouse.down()
        for p in pts[1:]: page.mouse.move(*at(*p))
        page.mouse.up()
        page.wait_for_function(f"() => window.__answers.length >= {[7, 2, 5].index(d) + 1}", timeout=60_000)
    answers = page.evaluate("window.__answers")
    downloaded = page.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)""")
    context.close()
    return dict(ready_ms=ready_ms, first_ms=answers[0]["ms"], next_ms=statistics.median(a["ms"] for a in answers[1:]),
                texts=[a["text"] for a in answers], downloaded=downloaded)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--visits", type=int, default=3)
    p.add_argument("--mbps", type=float, default=None, help="also one visit over a link of this many Mbit/s")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp, served_page(Path(tmp)) as (url, sizes), sync_playwright() as pw:
        first = first_visit_bytes(sizes)
        gz = sum(len(gzip.compress((Path(tmp) / rel).read_bytes(), 6)) for rel in sizes
                 if not rel.startswith("models/") or rel == "models/fast.onnx")
        wasm = sizes["ort/ort-wasm-simd-threaded.wasm"]
        print(f"Static page: {len(sizes)} files, {sum(sizes.values()) / 1e6:.1f} MB in all; a first visit downloads "
              f"{first / 1e6:.1f} MB ({gz / 1e6:.1f} MB gzipped), of which onnxruntime-web's WebAssembly "
              f"{wasm / 1e6:.1f} MB and the Fast model {sizes['models/fast.onnx'] / 1e6:.2f} MB; "
              f"Large ({sizes['models/large.onnx'] / 1e6:.1f} MB) only when chosen.")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        runs = [visit(browser, url) for _ in range(args.visits)]
        med = lambda k: statistics.median(r[k] for r in runs)
        print(f"Chromium (headless, no GPU), served from 127.0.0.1, {args.visits} first visits, medians: "
              f"downloaded {med('downloaded') / 1e6:.1f} MB; page ready {med('ready_ms'):.0f} ms; "
              f"first answer {med('first_ms'):.0f} ms after pen-up; next answers {med('next_ms'):.0f} ms after pen-up.")
        print("Answers:", ", ".join(sorted({t for r in runs for t in r["texts"]})))
        if args.mbps:
            r = visit(browser, url, args.mbps)
            print(f"Over {args.mbps:g} Mbit/s (20 ms latency): page ready {r['ready_ms'] / 1000:.1f} s, "
                  f"first answer {r['first_ms']:.0f} ms after pen-up.")
        browser.close()


if __name__ == "__main__":
    main()

"""Benchmark (not a test): time from releasing the mouse to the prediction shown, in a real browser.

Serves nbs/demo.ipynb with Voila, draws digits in headless Chromium, and measures in the page, with the page's own
clock, from the `mouseup` event to the moment the prediction text changes. Prints median and 90th percentile per
model, beside the time spent in the kernel (rasterising, preprocessing, ONNX inference) as the app reports it.

    python nbs/tests/bench_demo_latency.py [--draws 20] [--models Fast Large]
"""
import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_demo_browser import CHROMIUM, DEMO, ONE, ZERO, chromium, draw, open_app, voila_server  # noqa: E402

WATCH = """() => {
    window.__latencies = []; window.__up = null;
    const canvas = document.querySelector('canvas.minivit-canvas');
    canvas.addEventListener('mouseup', () => { window.__up = performance.now(); }, true);
    const target = document.querySelector('.minivit-prediction');
    new MutationObserver(() => {
        if (window.__up !== null && target.innerText.startsWith('Prediction')) {
            window.__latencies.push(performance.now() - window.__up); window.__up = null; }
    }).observe(target, {subtree: true, childList: true, characterData: true});
}"""
KERNEL_MS = re.compile(r"Inference ([\d.]+) ms .*drawing to 28x28 ([\d.]+) ms")


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bench(draws: int = 20, models=("Fast", "Large"), notebook=DEMO) -> dict:
    "Per model, the browser latencies (ms) of `draws` drawings and the kernel's own time for each."
    results = {}
    with voila_server(notebook) as url, chromium() as browser:
        page = open_app(browser, url)
        status = page.locator(".minivit-status").inner_text().strip()
        if status: raise SystemExit(f"the app reports a problem: {status}")
        page.evaluate(WATCH)
        pred = page.locator(".minivit-prediction")
        for model in models:
            page.locator(".minivit-model button", has_text=model).click()
            page.locator(".minivit-time", has_text=f"{model} model").or_(pred.filter(has_text="Draw a digit")).wait_for()
            browser_ms, kernel = [], []
            for i in range(draws + 1):                         # the first draw warms up and is not counted
                page.locator(".minivit-clear").click()
                pred.filter(has_text="Draw a digit").wait_for()
                page.evaluate("() => { window.__latencies = []; window.__up = null; }")
                draw(page, ONE if i % 2 == 0 else ZERO)
                page.wait_for_function("() => window.__latencies.length > 0")
                m = KERNEL_MS.search(page.locator(".minivit-time").inner_text())
                if not m: raise RuntimeError(f"no timing shown: {page.locator('.minivit-time').inner_text()!r}")
                if i:
                    browser_ms.append(page.evaluate("() => window.__latencies[0]"))
                    kernel.append(float(m[1]) + float(m[2]))
            results[model] = dict(browser=browser_ms, kernel=kernel)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--models", nargs="+", default=["Fast", "Large"])
    p.add_argument("--notebook", default=str(DEMO), help="the notebook to serve (default: nbs/demo.ipynb)")
    args = p.parse_args()
    if not CHROMIUM.exists(): raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    results = bench(args.draws, args.models, Path(args.notebook).absolute())
    print(f"mouse-up to prediction shown, {args.draws} draws per model (goal: median under 300 ms)")
    for model, r in results.items():
        b, k = r["browser"], r["kernel"]
        print(f"{model:6s} browser: median {statistics.median(b):6.1f} ms, p90 {percentile(b, 0.9):6.1f} ms, "
              f"max {max(b):6.1f} ms | in the kernel: median {statistics.median(k):5.1f} ms")


if __name__ == "__main__":
    main()

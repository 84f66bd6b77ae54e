"""Load benchmark of the drawing demo (a benchmark, not a test): N visitors at once, each in its own headless
Chromium context, draw digits on the page Voila serves.

Serves nbs/demo.ipynb as the README says (`cd nbs && voila demo.ipynb`, nbs/voila.json applies) and waits for the
kernel pool, if one is configured. Then N visitors open the page at the same moment and each draws `--digits` digits
(Clear, then one stroke at 60 pointer events a second, as a hand would). It reports:

- page ready: from the start of navigation until the canvas is shown and painted and the hint is up; and, within
  it, page served: until the HTML has arrived (the rest is the browser loading Voila's JavaScript and the widgets);
- pen-up to answer: from the page's `pointerup` until the page shows the answer for that drawing, by the page's clock;
- wrong (answer is not the digit drawn) and missing (no answer within 10 s) answers;
- memory: RSS of the Voila server and all its kernels (pooled ones included), peak over the run, and per kernel;
- the kernel's own time per reading (rasterising, preprocessing, inference), as the app reports it;
- the websocket traffic of one drawing, from pen down to the answer: messages and bytes each way (medians).

    python nbs/benchmarks/demo_load.py --visitors 1 4 8 [--digits 8] [--model Fast] [--root DIR]

`--root` serves another checkout (e.g. an older commit unpacked with `git archive`) for before/after figures.
The browsers run on the same machine as the server and take CPU from it, as they would not in production.
"""
import argparse
import asyncio
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from demo_page import (CANVAS_SIZE, CHROMIUM, CHROMIUM_ARGS, DIGITS, READY_JS, ROOT, WATCH_JS, path,  # noqa: E402
                       server_memory, voila_server)

ANSWER_TIMEOUT_S = 10
KERNEL_MS = re.compile(r"Inference ([\d.]+) ms .*drawing to 28x28 ([\d.]+) ms")


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


async def visitor(browser, url, index, digits, model, out):
    "One visitor: open the page, pick the model, draw `digits` digits; record what happened in `out`."
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    frames = dict(up=0, down=0, up_bytes=0, down_bytes=0)        # websocket traffic, counted per drawing
    def count(direction, payload):
        frames[direction] += 1; frames[f"{direction}_bytes"] += len(payload)
    page.on("websocket", lambda ws: (ws.on("framesent", lambda p: count("up", p)),
                                     ws.on("framereceived", lambda p: count("down", p))))
    try:
        t0 = time.perf_counter()
        await page.goto(url, timeout=180_000)
        await page.wait_for_function(READY_JS, timeout=180_000, polling=50)
        out["ready_s"] = time.perf_counter() - t0
        out["served_s"] = await page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd / 1000")
        if model:
            await page.locator(".minivit-model button", has_text=model).click()
            await page.locator(".minivit-model button.mod-active", has_text=model).wait_for()
        await page.evaluate(WATCH_JS)
        box = await page.locator("canvas.minivit-canvas").bounding_box()
        scale = box["width"] / CANVAS_SIZE
        for k in range(digits):
            digit = (index * 3 + k) % 10
            await page.locator(".minivit-clear").click()
            await page.locator(".minivit-prediction", has_text="Draw a digit").wait_for(timeout=30_000)
            await page.evaluate("() => { window.__answers = []; }")
            points = path(DIGITS[digit])
            frames.update(up=0, down=0, up_bytes=0, down_bytes=0)
            await page.mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
            await page.mouse.down()
            for x, y in points[1:]:
                await page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
                await asyncio.sleep(1 / 60)
            await page.mouse.up()
            try:
                await page.wait_for_function("() => window.__answers.length > 0", timeout=ANSWER_TIMEOUT_S * 1000)
            except Exception:
                out["missing"] += 1; continue
            answer = (await page.evaluate("() => window.__answers"))[0]
            out["frames"].append(dict(frames))
            out["ms"].append(answer["ms"])
            if not answer["text"].startswith(f"Prediction: {digit} "): out["wrong"].append((digit, answer["text"]))
            m = KERNEL_MS.search(await page.locator(".minivit-time").inner_text())
            if m: out["kernel_ms"].append(float(m[1]) + float(m[2]))
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    finally:
        await context.close()


async def visitors(url, n, digits, model):
    from playwright.async_api import async_playwright
    outs = [dict(ms=[], wrong=[], missing=0, kernel_ms=[], ready_s=None, served_s=None, frames=[]) for _ in range(n)]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try: await asyncio.gather(*(visitor(browser, url, i, digits, model, out) for i, out in enumerate(outs)))
        finally: await browser.close()
    return outs


def run(n: int, digits: int = 8, model: str | None = None, root=ROOT, voila_args=()) -> dict:
    "Serve the demo, send `n` visitors at once, and sum up."
    with voila_server(root, args=voila_args, timeout=300) as (url, proc):
        peak, stop = [server_memory(proc)], threading.Event()
        def sample():
            while not stop.wait(0.25):
                try: m = server_memory(proc)
                except Exception: continue
                if m["total"] > peak[0]["total"]: peak[0] = m
        sampler = threading.Thread(target=sample, daemon=True); sampler.start()
        try: outs = asyncio.run(visitors(url, n, digits, model))
        finally: stop.set(); sampler.join()
        after = server_memory(proc)
    ms = [x for o in outs for x in o["ms"]]
    ready = [o["ready_s"] for o in outs if o["ready_s"] is not None]
    served = [o["served_s"] for o in outs if o["served_s"] is not None]
    kernels = list(peak[0]["kernels"].values())
    return dict(visitors=n, drawings=n * digits, ready_median=statistics.median(ready) if ready else float("nan"),
                ready_max=max(ready, default=float("nan")),
                served_median=statistics.median(served) if served else float("nan"), p50=percentile(ms, 0.5), p95=percentile(ms, 0.95),
                max=max(ms, default=float("nan")), wrong=sum(len(o["wrong"]) for o in outs),
                missing=sum(o["missing"] for o in outs) + sum(digits for o in outs if o["ready_s"] is None),
                peak_mb=peak[0]["total"], server_mb=peak[0]["server"], kernels=len(kernels),
                kernel_mb=statistics.median(kernels) if kernels else float("nan"), after_mb=after["total"],
                kernel_ms=statistics.median(x for o in outs for x in o["kernel_ms"]) if any(o["kernel_ms"] for o in outs) else float("nan"),
                traffic={k: statistics.median(f[k] for o in outs for f in o["frames"]) for k in ("up", "down", "up_bytes", "down_bytes")}
                        if any(o["frames"] for o in outs) else None,
                errors=[o["error"] for o in outs if "error" in o], wrong_examples=[w for o in outs for w in o["wrong"]][:5])


HEADER = ("| visitors | page ready, median (max) | page served, median | pen-up to answer p50 / p95 (max) | wrong / missing | "
          "server + kernels, peak | kernels | per kernel | in the kernel |\n|---|---|---|---|---|---|---|---|---|")


def row(r) -> str:
    return (f"| {r['visitors']} | {r['ready_median']:.1f} s ({r['ready_max']:.1f} s) | {r['served_median']:.2f} s | {r['p50']:.0f} / {r['p95']:.0f} ms "
            f"({r['max']:.0f} ms) | {r['wrong']} / {r['missing']} of {r['drawings']} | {r['peak_mb']:.0f} MB | "
            f"{r['kernels']} | {r['kernel_mb']:.0f} MB | {r['kernel_ms']:.1f} ms |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--visitors", type=int, nargs="+", default=[1, 4, 8], help="visitor counts, one run each")
    p.add_argument("--digits", type=int, default=8, help="digits each visitor draws")
    p.add_argument("--model", default=None, help="toggle label to pick first (default: the app's default model)")
    p.add_argument("--root", default=str(ROOT), help="checkout to serve (default: this one)")
    p.add_argument("--voila-arg", action="append", default=[], metavar="ARG",
                   help="extra Voila option, e.g. --voila-arg=--VoilaConfiguration.default_pool_size=2 (repeatable)")
    args = p.parse_args()
    if not CHROMIUM.exists(): raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    print(f"serving {Path(args.root).resolve()}/nbs/demo.ipynb {' '.join(args.voila_arg)}; "
          f"{args.digits} digits per visitor\n\n{HEADER}", flush=True)
    for n in args.visitors:
        r = run(n, args.digits, args.model, Path(args.root).resolve(), args.voila_arg)
        print(row(r), flush=True)
        if r["traffic"]:
            t = r["traffic"]
            print(f"  websocket per drawing (median, pen down to answer): {t['up']:.0f} messages up ({t['up_bytes'] / 1e3:.1f} kB), "
                  f"{t['down']:.0f} down ({t['down_bytes'] / 1e3:.1f} kB)", file=sys.stderr, flush=True)
        for e in r["errors"]: print(f"  visitor error: {e}", file=sys.stderr)
        for w in r["wrong_examples"]: print(f"  wrong: drew {w[0]}, page said {w[1]!r}", file=sys.stderr)


if __name__ == "__main__":
    main()

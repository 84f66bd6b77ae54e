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

`--hostile` adds a hostile neighbour to each run: from the start, one attacker with a page (a kernel) of its own floods
it through two hand-written websockets, one of which never reads (model toggles, clicks on Undo and Clear, requests
for every widget's state, 900 kB labels, as fast as they go), while the visitors draw; the honest visitors' p50/p95
are then figures under attack. `--pages N` sends N page requests at once instead, and reports what they got and the
server's peak memory (server and every kernel) against the kernel cap's budget.

    python nbs/benchmarks/demo_load.py --visitors 1 --hostile
    python nbs/benchmarks/demo_load.py --pages 50

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
from kernel_client import KernelClient, get  # noqa: E402

ANSWER_TIMEOUT_S = 10
SAFETY_MB = 3000          # the hostile neighbour stops when the server process passes this (a server without bounds)
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


def attacker(url: str, stop: threading.Event, out: dict):
    """A hostile neighbour: a page of its own, then, until `stop`, a flood through two websockets to its kernel, one
    of which never reads. Counts what it sent in `out`."""
    out.update(sent=0, errors=[])
    sent = 0
    try:
        c = KernelClient(url)
        app = c.widgets()
        stalled = KernelClient(url, c.kernel_id, reads=False)
        find = lambda name: c.find(app, f"minivit-{name}")
        toggle, undo, clear, pad = find("model"), find("undo"), find("clear"), find("pad")
        control = "flood-control"
        c.send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
               metadata={"version": "1.0.0"})
        def drain():                               # read what comes back on the first websocket, until closed
            try:
                while not stop.is_set(): c.recv(0.5)
            except Exception: pass
        threading.Thread(target=drain, daemon=True).start()
        i = 0
        while not stop.is_set():
            i += 1
            c.comm_msg(toggle, {"method": "update", "state": {"index": i % 2}, "buffer_paths": []})
            c.comm_msg((undo, clear)[i % 2], {"method": "custom", "content": {"event": "click"}})
            c.comm_msg(pad, {"method": "custom", "content": {"kind": ("down", "up")[i % 2], "seq": i, "points": [1, 2] * 200}})
            c.comm_msg(control, {"method": "request_states"})
            if i % 50 == 0: c.comm_msg(undo, {"method": "update", "state": {"description": "x" * 900_000}, "buffer_paths": []})
            sent += 5 + (i % 50 == 0)
            if i % 20 == 0: time.sleep(0.001)      # let the draining thread and the sender share the GIL
        stalled.close(); c.close()
    except Exception as e:
        out["errors"] = [f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"]
    out["sent"] = sent


def page_burst(n: int, root=ROOT, voila_args=()) -> dict:
    "Serve the demo and send `n` page requests at once: what they got, how fast, and the server's peak memory."
    import concurrent.futures
    with voila_server(root, args=voila_args, timeout=300) as (url, proc):
        peak, stop = [server_memory(proc)], threading.Event()
        def sample():
            while not stop.wait(0.25):
                try: m = server_memory(proc)
                except Exception: continue
                if m["total"] > peak[0]["total"]: peak[0] = m
        sampler = threading.Thread(target=sample, daemon=True); sampler.start()
        def visit():
            t = time.perf_counter()
            try: status = get(url, timeout=120)[0]
            except TimeoutError: status = None
            return status, time.perf_counter() - t
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda _: visit(), range(n)))
        time.sleep(15)                               # the pool refills after the hand-outs
        stop.set(); sampler.join()
    statuses = [a[0] for a in answers]
    return dict(requests=n, ok=statuses.count(200), busy=statuses.count(503), other=n - statuses.count(200) - statuses.count(503),
                slowest=max(a[1] for a in answers), peak_mb=peak[0]["total"], server_mb=peak[0]["server"],
                kernels=len(peak[0]["kernels"]))


def run(n: int, digits: int = 8, model: str | None = None, root=ROOT, voila_args=(), hostile: bool = False) -> dict:
    "Serve the demo, send `n` visitors at once (and a hostile neighbour, if `hostile`), and sum up."
    with voila_server(root, args=voila_args, timeout=300) as (url, proc):
        peak, stop, stop_attack = [server_memory(proc)], threading.Event(), threading.Event()
        attack, attack_out = None, {}
        if hostile:      # a process of its own: in a thread it would take the GIL from the visitors' browser driver
            import multiprocessing
            stop_attack, attack_out = multiprocessing.Event(), multiprocessing.Manager().dict()
            attack = multiprocessing.Process(target=attacker, args=(url, stop_attack, attack_out), daemon=True)
            attack.start()
        def sample():
            while not stop.wait(0.25):
                try: m = server_memory(proc)
                except Exception: continue
                if m["server"] > SAFETY_MB and not stop_attack.is_set():
                    stop_attack.set(); attack_out["safety"] = m["server"]
                if m["total"] > peak[0]["total"]: peak[0] = m
        sampler = threading.Thread(target=sample, daemon=True); sampler.start()
        try: outs = asyncio.run(visitors(url, n, digits, model))
        finally:
            stop.set(); stop_attack.set(); sampler.join()
            if attack: attack.join(30); attack_out = dict(attack_out)
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
                errors=[o["error"] for o in outs if "error" in o] + [f"attacker: {e}" for e in attack_out.get("errors", [])],
                wrong_examples=[w for o in outs for w in o["wrong"]][:5], attack_sent=attack_out.get("sent"),
                attack_safety=attack_out.get("safety"))


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
    p.add_argument("--hostile", action="store_true", help="a hostile neighbour floods its own kernel during each run")
    p.add_argument("--pages", type=int, default=0, metavar="N", help="instead: N page requests at once, and memory")
    p.add_argument("--voila-arg", action="append", default=[], metavar="ARG",
                   help="extra Voila option, e.g. --voila-arg=--VoilaConfiguration.default_pool_size=2 (repeatable)")
    args = p.parse_args()
    if not CHROMIUM.exists(): raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    print(f"serving {Path(args.root).resolve()}/nbs/demo.ipynb {' '.join(args.voila_arg)}; "
          f"{args.digits} digits per visitor{', a hostile neighbour flooding' if args.hostile else ''}\n", flush=True)
    if not args.pages: print(HEADER, flush=True)
    if args.pages:
        r = page_burst(args.pages, Path(args.root).resolve(), args.voila_arg)
        print(f"{r['requests']} page requests at once: {r['ok']} pages, {r['busy']} busy, {r['other']} other (slowest "
              f"answer {r['slowest']:.1f} s); peak memory {r['peak_mb']:.0f} MB (server {r['server_mb']:.0f} MB, "
              f"{r['kernels']} kernels)", flush=True)
        return
    for n in args.visitors:
        r = run(n, args.digits, args.model, Path(args.root).resolve(), args.voila_arg, args.hostile)
        print(row(r), flush=True)
        if args.hostile:
            stopped = f"; stopped when the server passed {r['attack_safety']:.0f} MB" if r["attack_safety"] else ""
            print(f"  hostile neighbour: {r['attack_sent']} messages sent while the visitors drew{stopped}; server process "
                  f"peak {r['server_mb']:.0f} MB", flush=True)
        if r["traffic"]:
            t = r["traffic"]
            print(f"  websocket per drawing (median, pen down to answer): {t['up']:.0f} messages up ({t['up_bytes'] / 1e3:.1f} kB), "
                  f"{t['down']:.0f} down ({t['down_bytes'] / 1e3:.1f} kB)", file=sys.stderr, flush=True)
        for e in r["errors"]: print(f"  visitor error: {e}", file=sys.stderr)
        for w in r["wrong_examples"]: print(f"  wrong: drew {w[0]}, page said {w[1]!r}", file=sys.stderr)


if __name__ == "__main__":
    main()

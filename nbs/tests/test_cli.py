"""The command-line tools say what they mean: `minivit_predict` refuses an image that is too large in one line, and
`minivit_bench` states the latency goal the project holds, says plainly when a figure misses it, and counts nodes in
integers. Each tool runs as a user runs it, in a process of its own."""
import re
import struct
import subprocess
import sys
import zlib

import pandas as pd
import pytest
from PIL import Image, ImageDraw

from minivit.inference import MAX_IMAGE_PIXELS


def run(*args, timeout=600):
    return subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=timeout)


# --- minivit_predict ------------------------------------------------------------------------------------------------

def stroke_png(path, width, height):
    "A PNG of `width` x `height` pixels holding one dark stroke on white: small on disk, large once decoded."
    im = Image.new("L", (width, height), 255)
    ImageDraw.Draw(im).line([(width // 2, height // 4), (width // 2, 3 * height // 4)], fill=0, width=max(1, width // 20))
    im.save(path)
    return path


def header_only_png(path, width, height):
    "A PNG whose header claims `width` x `height` pixels and whose pixel data is one empty row: it cannot be decoded."
    def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    return {"14000x14000": stroke_png(d / "huge.png", 14_000, 14_000),      # over Pillow's error limit (179 M pixels)
            "10000x10000": stroke_png(d / "large.png", 10_000, 10_000),     # over Pillow's warning limit (89 M pixels)
            "8000x7000": stroke_png(d / "over.png", 8_000, 7_000),          # over MAX_IMAGE_PIXELS only
            "header 30000x30000": header_only_png(d / "bomb.png", 30_000, 30_000),
            "280x280": stroke_png(d / "small.png", 280, 280)}


@pytest.mark.parametrize("name,pixels", [("14000x14000", 196_000_000), ("10000x10000", 100_000_000),
                                         ("8000x7000", 56_000_000), ("header 30000x30000", 900_000_000)])
def test_predict_refuses_an_image_over_the_limit_in_one_line(images, name, pixels):
    r = run("minivit_predict", images[name])
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert r.stderr == (f"minivit_predict: {images[name]} is too large to read: {pixels:,} pixels, over the limit of "
                        f"{MAX_IMAGE_PIXELS:,}; scale it down first\n"), r.stderr       # no traceback, no Pillow warning


def test_predict_refuses_from_the_header_before_decoding(images):
    "A file that only claims its size is refused for its size; decoded, it would be refused as unreadable."
    r = run("minivit_predict", images["header 30000x30000"])
    assert "too large" in r.stderr and "not an image file" not in r.stderr, r.stderr
    r = run("minivit_predict", header_only_png(images["280x280"].with_name("claims.png"), 300, 300))
    assert r.returncode == 2 and "is not an image file that Pillow can read" in r.stderr, r.stderr


def test_predict_reads_an_image_under_the_limit(images):
    r = run("minivit_predict", images["280x280"])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert re.fullmatch(r".*small\.png: \d\n(  \d +\d+\.\d%\n){3}", r.stdout), r.stdout


def test_the_limit_is_stated_in_the_help():
    r = run("minivit_predict", "--help")
    assert r.returncode == 0 and "at most 50 million pixels" in " ".join(r.stdout.split()), r.stdout


# --- minivit_bench --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_bench():
    "`minivit_bench --quick` on the reference and Fast, one thread (the goal compares those two)."
    r = run("minivit_bench", "--models", "reference,fast", "--threads", "1", "--quick", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_bench_states_only_the_goal_the_project_holds(quick_bench):
    assert "at most 0.5" not in quick_bench
    assert "latency goal: fast in ort-fp32 no slower at batch 1 than the reference in ort-fp32-naive (vs naive reference at most 1.00)" in quick_bench
    assert re.search(r"^  1 thread: \d+\.\d\d, (met|MISSED: fast is \d+% slower than the naive reference)$", quick_bench, re.M), quick_bench


def test_bench_counts_nodes_in_integers(quick_bench):
    table = quick_bench.split("\n\n")[0].splitlines()
    header, rows = table[0].split(), [l for l in table[2:] if "ort-" in l]
    assert header[:3] == ["params", "mflops", "nodes"] and len(rows) == 5, table      # 3 ONNX routes of the reference, 2 of Fast
    for row in rows:                               # model, route, threads, params, mflops, nodes, ...
        nodes = row.split()[-len(header) + 2]
        assert re.fullmatch(r"\d+", nodes), f"nodes printed as {nodes!r} in {row!r}"


def test_bench_says_plainly_when_fast_misses_the_goal(monkeypatch, capsys):
    "With timings where Fast is slower than the naive reference on 2 threads, the command says MISSED for 2 threads."
    import minivit.bench as bench
    rows = [dict(model=m, route=r, threads=t, nodes=n, p50_ms=p, p99_ms=2 * p)
            for t, fast_ms in ((1, 0.17), (2, 0.25))
            for m, r, n, p in (("reference", "torch", None, 0.6), ("reference", "ort-fp32", 60, 0.18),
                               ("reference", "ort-int8", 98, 0.15), ("reference", "ort-fp32-naive", 199, 0.20),
                               ("fast", "torch", None, 0.6), ("fast", "ort-fp32", 60, fast_ms), ("fast", "ort-int8", 98, 0.15))]
    made_up = pd.DataFrame(rows).astype({"nodes": "Int64"}).assign(
        params=72074, mflops=6.66, **{"images_per_s@256": 5000.0, "speedup_p50": 1.0, "speedup@256": 1.0},
        gflops=30.0, peak_pct=30.0, other_cpus=0.0)
    monkeypatch.setattr(bench, "benchmark", lambda *a, **kw: made_up)
    bench.bench_cli.__wrapped__(models="reference,fast", threads="1,2", quick=True)
    out = capsys.readouterr().out
    assert "  1 thread: 0.85, met\n  2 threads: 1.25, MISSED: fast is 25% slower than the naive reference\n" in out, out

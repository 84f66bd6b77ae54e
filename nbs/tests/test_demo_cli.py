"""`minivit_demo` as a user of the package runs it: a wheel built from this checkout, installed in a fresh virtual
environment, started from a directory outside the repository, serving the demo with the packaged settings
(voila.json) to a page that Chromium draws on.

The virtual environment sees the tests' own site-packages after its own (as `--system-site-packages` would) so that
Voila, ONNX Runtime and the rest are not downloaded again; the wheel is installed without dependencies and shadows the checkout's editable
install, which the test checks (the server's and the kernel's `minivit` must be the wheel's). The demo needs no
PyTorch: the test checks that serving the demo and drawing on it never imports it. Prints the kernels' memory.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from pathlib import Path

import pytest

from demo_page import DIGITS, ROOT, free_port
from demo_page import require_chromium, stop_group
from test_demo_browser import answer, draw, open_app

START_TIMEOUT = 180          # seconds: a pool kernel on a busy machine
SOURCES = ["setup.py", "settings.ini", "README.md", "LICENSE", "minivit", "nbs/demo.ipynb", "nbs/voila.json"]


def run(cmd, **kwargs):
    "Run `cmd`; its output on failure."
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    "A wheel built from a copy of this checkout (so nothing is written into the working tree)."
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else: shutil.copy2(ROOT / name, src / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)])
    (whl,) = out.glob("minivit-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv_python(wheel, tmp_path_factory) -> Path:
    "The Python of a fresh virtual environment with the wheel installed (dependencies from the tests' environment)."
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # the tests' own site-packages, after the venv's: as --system-site-packages would, but for whichever environment
    # runs the tests (itself perhaps a venv, which --system-site-packages would skip)
    site_dir = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    theirs = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site_dir / "tests_environment.pth").write_text(f"import site; {'; '.join(f'site.addsitedir({d!r})' for d in theirs)}\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])
    return python


def test_wheel_carries_the_demo(wheel):
    "The demo notebook, its settings, the pad's module and both models are files of the wheel, the checkout's own."
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for name in ["demo.ipynb", "voila.json"]:
            assert z.read(f"minivit/assets/demo/{name}") == (ROOT / "nbs" / name).read_bytes()
        assert z.read("minivit/assets/web/pad.js") == (ROOT / "minivit/assets/web/pad.js").read_bytes()
        for name in ["fast.onnx", "large.onnx", "fast.json", "large.json"]: assert f"minivit/assets/models/{name}" in names
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "minivit_demo = minivit.demo_server:demo_cli" in entry_points


def test_demo_options_refused_with_one_line(venv_python, tmp_path):
    res = subprocess.run([str(venv_python.parent / "minivit_demo"), "--port", "99999"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == \
        "minivit_demo: error: argument --port: a port is a number from 1 to 65535, got 99999"
    assert res.stdout == ""


def test_minivit_demo_from_a_wheel(venv_python, tmp_path):
    "The installed command serves the demo with its settings from an unrelated directory; a page draws and is read."
    require_chromium()
    import psutil
    from playwright.sync_api import sync_playwright
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}   # as a user's shell
    where = run([str(venv_python), "-c", "import minivit.demo_server as d; print(d.__file__); print(d.DEMO_DIR)"],
                cwd=tmp_path, env=env).split()
    venv_dir = venv_python.parent.parent
    assert all(Path(p).is_relative_to(venv_dir) for p in where), where       # the wheel's, not the checkout's

    port, log_path = free_port(), tmp_path / "voila.log"
    # Voila's templates and the widgets' page scripts are data files of the system's install (share/jupyter), which a
    # venv that borrows the system's site-packages does not search by itself; a full install puts them in the venv.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [env.get("JUPYTER_PATH"), f"{sys.prefix}/share/jupyter",
                                                        f"{sys.base_prefix}/share/jupyter"]))
    cmd = [str(venv_python.parent / "minivit_demo"), "--port", str(port), "--pool", "1"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ("Voilà is running at" in (text := log_path.read_text(errors="replace"))
                   and "is filled with 1 kernel(s)" in text):
            assert proc.poll() is None, f"minivit_demo exited with {proc.returncode}:\n{text[-3000:]}"
            assert time.monotonic() < deadline, f"minivit_demo not ready after {START_TIMEOUT} s:\n{text[-3000:]}"
            time.sleep(0.3)
        assert f"http://127.0.0.1:{port}/" in text            # voila.json's bind address, the port asked for

        with sync_playwright() as p:
            from demo_page import CHROMIUM, CHROMIUM_ARGS
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = open_app(browser, f"http://127.0.0.1:{port}/")
            draw(page, DIGITS[7])
            assert answer(page).startswith("Prediction: 7"), answer(page)

            kernels = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if "ipykernel" in " ".join(c.cmdline())]
            assert len(kernels) >= 1
            for k in kernels:
                assert Path(k.cmdline()[0]).parent == venv_python.parent, k.cmdline()   # the venv's Python
            mb = [k.memory_info().rss / 2**20 for k in kernels]
            print(f"\nminivit_demo from a wheel: {len(kernels)} kernel(s), "
                  f"RSS {', '.join(f'{m:.0f}' for m in mb)} MB")
            browser.close()

        # the kernel loaded the wheel's minivit and never PyTorch: ask the server's settings and the kernel's modules
        settings = json.loads((Path(where[1]) / "voila.json").read_text())
        assert settings["Voila"]["kernel_websocket_connection_class"].startswith("minivit.serve.")
        for k in kernels:
            maps = Path(f"/proc/{k.pid}/maps").read_text() if Path(f"/proc/{k.pid}/maps").exists() else ""
            assert "libtorch" not in maps, "a demo kernel loaded PyTorch"
    finally: stop_group(proc, timeout=20)

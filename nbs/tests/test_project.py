"""Project-level checks that are not a notebook's concern."""
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_in_sync_with_index():
    "README.md is generated from nbs/index.ipynb; regenerating it must change nothing."
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "sync_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_import_gives_the_modules():
    import minivit
    for name in ("contract", "attention", "block", "patch_embed", "vit"):
        assert hasattr(minivit, name), name
    assert minivit.vit.VisionTransformer.__module__ == "minivit.vit"


def test_quarto_link_points_to_top_level_config():
    link = ROOT / "nbs" / "_quarto.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "_quarto.yml").resolve()


# nbdev's docs commands (`nbdev_docs`, `nbdev_preview`, `nbdev_proc_nbs`) start with `_ensure_quarto`, which, without
# Quarto on the PATH, calls `install` -> `install_quarto`: `sudo` and `curl` to install Quarto, then `pip install` of
# this package. The docs check must never get there. In the checking process the installer's entry points are
# replaced by a refusal; in every process (nbdev processes notebooks in spawned workers) `sudo` and `curl` are stand-ins
# that leave a mark and fail.
INSTALLER_GUARD = """
import nbdev.quarto as q
def refuse(*args, **kwargs): raise SystemExit("nbdev's Quarto installer was called")
refuse.__wrapped__ = refuse
for name in ("install", "install_quarto", "_install_linux", "_install_mac"): setattr(q, name, refuse)
"""


def guarded_env(tmp_path):
    "Environment whose `sudo` and `curl` write `tmp_path/installer-called` and fail; the mark's path."
    bin_dir, mark = tmp_path / "bin", tmp_path / "installer-called"
    bin_dir.mkdir()
    for name in ("sudo", "curl"):
        (bin_dir / name).write_text(f"#!/bin/sh\necho {name} \"$@\" >> '{mark}'\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, mark


def test_installer_guard_catches_nbdev_quarto_install(tmp_path):
    "The guard stops nbdev's own route to the installer, so the docs check below would fail if it took that route."
    if shutil.which("quarto"): pytest.skip("Quarto is installed: nbdev does not try to install it")
    env, mark = guarded_env(tmp_path)
    r = subprocess.run([sys.executable, "-c", INSTALLER_GUARD + "q._ensure_quarto()"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Quarto installer was called" in r.stderr, r.stdout + r.stderr
    assert not mark.exists()


def test_docs_preprocess_without_quarto(tmp_path):
    """Everything of the docs build that runs before Quarto: nbdev processes every notebook (show_doc cells executed,
    directives applied) and writes the sidebar. Quarto itself then only renders."""
    import yaml
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert cfg["project"]["type"] == "website" and "nbdev.yml" in cfg["metadata-files"]
    # What `nbdev_proc_nbs` does, minus `_ensure_quarto`: refresh the Quarto config, process the notebooks.
    code = INSTALLER_GUARD + "from nbdev.serve import proc_nbs; q.refresh_quarto_yml(); proc_nbs(force=True)"
    env, mark = guarded_env(tmp_path)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Quarto is not installed" not in r.stdout and not mark.exists(), "the docs check started nbdev's Quarto installer"
    proc = ROOT / "_proc"
    notebooks = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb"))
    assert notebooks and all((proc / n).exists() for n in notebooks), sorted(p.name for p in proc.glob("*"))
    sidebar = yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())
    listed = set()
    def walk(items):
        for it in items:
            if isinstance(it, dict): walk(it.get("contents", []))
            else: listed.add(it)
    walk(sidebar["website"]["sidebar"]["contents"])
    assert listed == set(notebooks) - {"demo.ipynb"}, "nbs/sidebar.yml must list every notebook but the demo"


def test_workflows():
    "GitHub Actions: `.ci/run` on every push and pull request; the docs built with nbdev and Quarto and published to Pages."
    import yaml
    wf = ROOT / ".github" / "workflows"
    def load(name):
        d = yaml.safe_load((wf / name).read_text())
        on = d.get("on", d.get(True))                   # YAML 1.1 reads the bare key `on` as true
        steps = [s for job in d["jobs"].values() for s in job.get("steps", [])]
        return on, [s.get("run", "") for s in steps], [s.get("uses", "") for s in steps], steps
    on, runs, uses, _ = load("test.yaml")
    assert {"push", "pull_request"} <= set(on)
    assert any(r.strip() == "bash .ci/run" for r in runs)
    on, runs, uses, steps = load("deploy.yaml")
    assert on["push"]["branches"] == ["main"]
    assert any(u.startswith("quarto-dev/quarto-actions/setup@") for u in uses)
    assert any(r.strip() == "nbdev_docs" for r in runs)
    doc_path = configparser.ConfigParser(interpolation=None)
    doc_path.read(ROOT / "settings.ini")
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == doc_path["DEFAULT"]["doc_path"], "the site nbdev_docs builds is not the one uploaded"
    assert any(u.startswith("actions/deploy-pages@") for u in uses)

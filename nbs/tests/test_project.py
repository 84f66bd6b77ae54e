"""Project-level checks that are not a notebook's concern."""
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_in_sync_with_index():
    "README.md is generated from nbs/index.ipynb; regenerating it must change nothing."
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "sync_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_import_gives_the_modules():
    import minivit
    for name in ("attention", "block", "encoder", "vit"):
        assert hasattr(minivit, name), name
    assert minivit.vit.VisionTransformer.__module__ == "minivit.vit"


def test_quarto_link_points_to_top_level_config():
    link = ROOT / "nbs" / "_quarto.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "_quarto.yml").resolve()


def test_docs_preprocess_without_quarto(tmp_path):
    """Everything of the docs build that runs before Quarto: nbdev processes every notebook (show_doc cells executed,
    directives applied) and writes the sidebar. Quarto itself then only renders."""
    import yaml
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert cfg["project"]["type"] == "website" and "nbdev.yml" in cfg["metadata-files"]
    # What `nbdev_proc_nbs` does, minus its attempt to download Quarto: refresh the Quarto config, process notebooks.
    code = "from nbdev.quarto import refresh_quarto_yml; from nbdev.serve import proc_nbs; refresh_quarto_yml(); proc_nbs()"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
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

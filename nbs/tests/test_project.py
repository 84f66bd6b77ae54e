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

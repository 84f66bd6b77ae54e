"""The project's parameter grid ships in the package: `default_grid_path` finds it in a wheel built from this
checkout, with no source tree beside it."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["setup.py", "settings.ini", "README.md", "LICENSE", "minivit"]


def test_default_grid_ships_in_the_wheel(tmp_path):
    src, out, site = tmp_path / 'src', tmp_path / 'wheel', tmp_path / 'site'
    for name in SOURCES:                                      # a copy: nothing is written into the working tree
        if (ROOT / name).is_dir(): shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns('__pycache__'))
        else: src.mkdir(exist_ok=True); shutil.copy2(ROOT / name, src / name)
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(out), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob('minivit-*.whl')
    with zipfile.ZipFile(whl) as z:
        assert 'minivit/assets/grid/param_grid.json' in z.namelist()
        z.extractall(site)
    code = ("import minivit.grid as g; p = g.default_grid_path(); "
            "print(p.is_relative_to(sys.argv[1]), len(g.load_param_grid(p)))")
    r = subprocess.run([sys.executable, '-c', 'import sys; ' + code, str(site)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env={'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ['True', '108'], r.stdout      # the wheel's own grid, all 108 points

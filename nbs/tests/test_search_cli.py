"""What `minivit_grid` says: a `--quick` run calls itself a smoke test and chooses nothing; run again, it resumes
the finished experiment without a word of alarm and trains nothing. One grid point, three epochs on 1,000 digits:
two Ray starts, about a minute on two cores."""
import configparser
import importlib
import json
import subprocess
import sys
from pathlib import Path

from minivit.grid import read_results

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_is_the_search_command():
    "settings.ini's `minivit_grid` names a function that exists, in the search's command module."
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT / 'settings.ini')
    scripts = dict(line.split('=') for line in cfg['DEFAULT']['console_scripts'].split())
    module, func = scripts['minivit_grid'].split(':')
    assert module == 'minivit.search_cli' and callable(getattr(importlib.import_module(module), func))


def test_quick_says_smoke_test_and_resumes_quietly(tmp_path):
    (tmp_path / 'grid.json').write_text(json.dumps({'emb_dim': [32], 'num_heads': [2], 'num_layers': [1], 'lr': [5e-3]}))
    cmd = [sys.executable, '-m', 'minivit.search_cli', '--grid', str(tmp_path / 'grid.json'), '--out', str(tmp_path),
           '--quick', '--no_tracking', '--cpus', '1']            # a local Ray of one CPU
    run = lambda: subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    lines = first.stdout.splitlines()
    assert lines[0].endswith('(--quick: a smoke test, not a ranking)'), lines[0]
    assert lines[-1].startswith('a smoke test: ') and 'rank nothing' in lines[-1], lines[-1]
    assert not any(l.startswith(('fast:', 'large:')) for l in lines), lines            # no Fast/Large choice
    rows = read_results(tmp_path / 'grid-quick' / 'results.jsonl')
    assert [(r.status, r.epochs_run) for r in rows] == [('ok', 3)]
    assert not list((tmp_path / 'grid-quick').glob('*/checkpoint_*'))                 # a smoke run leaves no checkpoints

    again = run()                                     # the finished experiment, its checkpoints gone: nothing to do
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    said = again.stdout.splitlines()
    assert any(l.startswith('resuming the search in ') for l in said), said
    assert not any('resuming from epoch' in l or 'gone' in l for l in said), said    # a finished trial says nothing
    assert said[-1] == lines[-1]
    assert [(r.trial_id, r.pids) for r in read_results(tmp_path / 'grid-quick' / 'results.jsonl')] == \
           [(r.trial_id, r.pids) for r in rows]                                 # nothing trained again

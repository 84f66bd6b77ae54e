"""Killing the search's driver loses no finished trial, and the same command resumes it.

The real test of resumability (moved here from `06a_search`): start `minivit_grid` in another process, kill it with
`SIGKILL` (no chance to clean up; its local Ray goes down with it) as soon as a first trial has finished, and run the
same command again. Tune restores the experiment: the finished trial is not trained again (its reports come from one
process, as before), the others run to the end, and a trial that was interrupted continues from its checkpoint rather
than from epoch 1, saying so in one line. The interrupted trials are also given the worst moment to have been killed
at: their named checkpoint is gone and the next one is there, as when Tune had just replaced it
(`minivit.search._repair_checkpoint`). About two and a half minutes on two cores.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from minivit.grid import read_results
from polling import wait_for


def test_killed_driver_resumes(tmp_path):
    d = tmp_path
    (d / 'grid.json').write_text(json.dumps({'emb_dim': [32], 'num_heads': [2], 'num_layers': [1, 2, 3], 'lr': [5e-3]}))
    cmd = [sys.executable, '-m', 'minivit.search_cli', '--grid', f'{d}/grid.json', '--out', str(d), '--quick',
           '--no_tracking', '--grace', '3', '--cpus_per_trial', '1']
    results = d / 'grid-quick' / 'results.jsonl'
    with open(d / 'first.log', 'w') as log:
        driver = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    def first_finished():
        assert driver.poll() is None, f"the search ended ({driver.returncode}) before a trial finished: {(d / 'first.log').read_text()[-2000:]}"
        return [r for r in read_results(results) if r.complete]
    try: first = wait_for(first_finished)[0]
    finally: os.killpg(driver.pid, signal.SIGKILL); driver.wait()
    # Ray's workers outlive the driver for a moment and may still write a checkpoint: look once the folders are still
    def checkpoints(): return sorted(str(p) for p in (d / 'grid-quick').glob('*/checkpoint_*/history.json'))
    seen = [checkpoints()]
    def settled():
        time.sleep(3); seen.append(checkpoints()); return seen[-1] == seen[-2]
    wait_for(settled, timeout=120)
    dangling, interrupted = {}, {}      # what a kill just after Tune replaced a checkpoint leaves: the named one gone
    recorded = {r.key for r in read_results(results) if r.complete}       # finished as far as the killed driver knew
    for trial in (d / 'grid-quick').glob('*_emb_dim=*'):
        key = trial.name.split('_', 2)[2]
        histories = sorted(trial.glob('checkpoint_*/history.json'))
        if not histories or key in recorded: continue                       # none yet, or finished before the kill
        interrupted[key] = len(json.loads(histories[-1].read_text()))     # epochs in its newest checkpoint
        if interrupted[key] >= 3: continue            # its last epoch was saved after the kill: nothing left to break
        if len(histories) > 1: continue               # the kill came before Tune deleted the older one, which the
                                                      # saved state may still name: nothing is dangling to repair
        newest = histories[-1].parent
        newest.rename(newest.with_name(f"checkpoint_{int(newest.name.split('_')[1]) + 1:06d}"))
        dangling[key] = interrupted[key]
    with open(d / 'resumed.log', 'w+') as log:
        resumed, snapshots = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True), []
        while resumed.poll() is None:                  # the results file as the resumed run rewrites it
            snapshots.append({r.key for r in read_results(results)}); time.sleep(0.2)
        log.seek(0); out = log.read()
    assert resumed.returncode == 0, out[-3000:]
    assert 'resuming the search' in out, out
    assert all(first.key in keys for keys in snapshots), "a rewrite of the results lost a trial finished before the kill"
    final = {r.key: r for r in read_results(results)}
    assert len(final) == 3
    unfinished = {k: (r.status, r.epochs_run, r.error) for k, r in final.items() if not (r.status == 'ok' and r.complete)}
    assert not unfinished, (unfinished, out[-3000:])
    # one line per resumed trial, naming the epoch it continues from; a saved state that named no checkpoint yet
    # restarts the trial without a line, so there may be fewer lines than interrupted trials, never others
    resumes = dict(re.findall(r'^(\S+): resuming from epoch (\d+)$', out, re.M))
    assert set(resumes) <= set(interrupted), (resumes, interrupted)
    for key, epoch in resumes.items():
        assert 1 <= int(epoch) <= interrupted[key] + 1, (key, epoch, interrupted[key])
        if key in dangling: assert int(epoch) == dangling[key] + 1, (key, epoch, dangling[key])   # repaired: the newest one
    assert 'gone' not in out and 'Traceback' not in out, out[-3000:]
    assert (final[first.key].trial_id, final[first.key].pids) == (first.trial_id, first.pids)
    assert [[h['epoch'] for h in r.history] for r in final.values()] == [[0, 1, 2]] * 3   # no epoch twice, none lost
    print(f"finished before the kill: {first.key}; reports per trial came from {[len(r.pids) for r in final.values()]} "
          f"processes; {len(dangling)} interrupted trial(s) given a deleted checkpoint; resumed: {resumes}")

"""The recipe study end to end, at a tiny scale: one grid point trained once per change of the recipe on Ray Tune,
each change reaching its run (its own epochs, its augmentation, a teacher), and the study read against a baseline run,
with the paired tests computed from the runs' kept weights."""
from dataclasses import replace

from minivit.grid import TrialResult, config_key, write_results
from minivit.train import TrainConfig
from minivit.vit import ViTConfig, VisionTransformer, save_model


def test_recipe_study_runs_each_change(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    from minivit.data import get_datasets
    from minivit.finals import kept_epoch
    from minivit.recipe import distillation_change, kept_correct, paired_tests, recipe_table, run_recipe_study
    arch = dict(emb_dim=16, num_heads=2, num_layers=1, mlp_ratio=2, lr=3e-3)
    stage_one = write_results([TrialResult(key=config_key(arch), params=arch, status='ok', complete=True, epochs_run=3,
                                           max_epochs=3, valid_acc=.5, latency_ms=.1, trial_id='s1_00000')],
                              tmp_path / 'stage_one.jsonl')
    teacher = tmp_path / 'teachers' / 'large.pt'                  # a path in a grid point: the trial's folder flattens it
    teacher.parent.mkdir()
    save_model(VisionTransformer(ViTConfig(emb_dim=16, num_heads=2, num_layers=1)), teacher)
    changes = {'no augmentation': {'augment': 0.0}, 'three epochs': {'epochs': 3}, **distillation_change(teacher)}
    rows = run_recipe_study(stage_one, tmp_path / 'runs', changes=changes, recipe=TrainConfig(epochs=2, batch_size=256),
                            source='bundled', widths=(16,))
    runs = {config_key(r.params): r for r in rows}
    assert runs[config_key({**arch, 'augment': 0.0})].epochs_run == 2
    assert runs[config_key({**arch, 'epochs': 3})].epochs_run == 3
    assert runs[config_key({**arch, 'teacher': str(teacher)})].epochs_run == 2
    assert all(r.status == 'ok' and r.cpu_seconds > 0 for r in rows), [(r.key, r.error) for r in rows]
    assert all('/' not in r.folder for r in rows)
    # the first epoch (same seed, batches and warm-up) differs only by augmentation: unaugmented digits are easier
    plain, augmented = runs[config_key({**arch, 'augment': 0.0})], runs[config_key({**arch, 'epochs': 3})]
    assert plain.history[0]['train_loss'] < augmented.history[0]['train_loss']
    baseline = replace(augmented, params=arch, key=config_key(arch))      # standing in for a stage-two run
    table = recipe_table(rows, baseline, changes={'no augmentation': {'augment': 0.0}})
    assert list(table.index) == ['baseline (the stage-two run)', 'no augmentation']
    assert table.loc['no augmentation', 'epochs'] == '2/2'
    # the paired tests read each run's kept weights: they get right exactly the validation digits its kept epoch counted
    valid, study = get_datasets('bundled', augment=False)['valid'], tmp_path / 'runs' / 'recipe'
    for r in rows: assert kept_correct(study, r, valid).mean() == kept_epoch(r)['valid_acc'], r.key
    paired = paired_tests(rows, study, baseline, study, valid)
    assert set(paired) == {r.key for r in rows}
    n, base_acc = len(valid), kept_epoch(baseline)['valid_acc']
    for r in rows:                       # a difference in accuracy is the digits won less the digits lost
        t = paired[r.key]
        assert round((t['only_change'] - t['only_baseline']) / n, 9) == round(kept_epoch(r)['valid_acc'] - base_acc, 9)
    assert paired[augmented.key] == {'only_change': 0, 'only_baseline': 0, 'p': 1.0}    # the baseline's own weights
    table = recipe_table(rows, baseline, changes={'no augmentation': {'augment': 0.0}}, paired=paired)
    assert table.loc['no augmentation', 'verdict'] in ('helps', 'hurts', 'within noise')

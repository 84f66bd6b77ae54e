"""Stage two of the search end to end, at a tiny scale: the finalists of a stage-one results file trained on Ray Tune,
chosen by the rule, and finished into checkpoints that carry their evaluation, temperature and provenance; a second
call resumes the finished experiment instead of training again; with recipe changes adopted, the candidates are
trained again (a recipe study's run of the same point counts) and the rule is applied to each finalist's better run."""
import pytest

from minivit.grid import TrialResult, config_key, read_results, write_results
from minivit.train import TrainConfig
from minivit.vit import load_checkpoint


def stage_one_row(width, acc, ms, trial_id):
    params = dict(emb_dim=width, num_heads=2, num_layers=1, mlp_ratio=2, lr=3e-3)
    return TrialResult(key=config_key(params), params=params, status='ok', complete=True, epochs_run=3, max_epochs=3,
                       valid_acc=acc, latency_ms=ms, trial_id=trial_id)


def test_stage_two_trains_chooses_and_finishes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    from minivit.finals import kept_epoch, run_finals
    stage_one = write_results([stage_one_row(16, .5, .1, 's1_00000'), stage_one_row(24, .6, .2, 's1_00001'),
                               stage_one_row(16, .4, .3, 's1_00002')],       # behind the front: not a finalist
                              tmp_path / 'stage_one.jsonl')
    stage_one_rows = read_results(stage_one)
    recipe = TrainConfig(epochs=2, batch_size=256, patience=2)
    run = lambda: run_finals(stage_one, tmp_path / 'runs', recipe=recipe, source='bundled', widths=(16, 24),
                             models=tmp_path / 'models')
    chosen = run()
    rows = read_results(tmp_path / 'runs' / 'finals' / 'results.jsonl')
    assert sorted(r.params['emb_dim'] for r in rows) == [16, 24] and all(r.epochs_run == 2 for r in rows)
    assert {chosen['fast'].key, chosen['large'].key} <= {r.key for r in stage_one_rows[:2]}
    best = max(rows, key=lambda r: kept_epoch(r)['valid_acc'])
    assert kept_epoch(chosen['large'])['valid_acc'] == kept_epoch(best)['valid_acc']
    for name in ('fast', 'large'):
        ckpt = load_checkpoint(tmp_path / 'models' / f'{name}.pt')
        assert ckpt['trial_id'] == chosen[name].trial_id and ckpt['grid_key'] == chosen[name].key
        assert ckpt['metrics']['digits'] == {'train': 8000, 'valid': 1000, 'test': 1000}
        assert 'test' not in ckpt['metrics']                 # not shipped: the test digits are not read
        assert ckpt['temperature'] > 0 and ckpt['selection'].endswith('chosen on validation digits only')
        assert ckpt['train_config']['epochs'] == 2
    capsys.readouterr()
    again = run()                                        # finished: resumed, nothing trained again
    assert "resuming" in capsys.readouterr().out
    assert [r.epochs_run for r in read_results(tmp_path / 'runs' / 'finals' / 'results.jsonl')] == [2, 2]
    assert again['fast'].key == chosen['fast'].key
    # the chosen Large's kept weights, for a teacher, straight from the finished experiment
    from minivit.finals import chosen_checkpoint
    teacher = chosen_checkpoint(tmp_path / 'runs' / 'finals')
    assert teacher.name == 'best.pt' and teacher.parent.parent.name == chosen['large'].folder
    assert load_checkpoint(teacher)['epoch'] == kept_epoch(chosen['large'])['epoch']
    # a recipe change adopted: the Large and every quicker finalist trained again with it (a point the recipe study
    # already trained counts as it is), and the rule applied again to each finalist's better run
    from minivit.finals import choose_final, shipping_candidates, shipping_points
    from minivit.recipe import run_recipe_study
    from minivit.search_results import experiment_rows
    changes = {'label_smoothing': 0.0}
    studied = run_recipe_study(stage_one, tmp_path / 'runs', changes={'no label smoothing': changes}, recipe=recipe,
                               source='bundled', arch=chosen['large'].params)     # the Large's shipping point, studied
    shipped = run_finals(stage_one, tmp_path / 'runs', recipe=recipe, source='bundled', widths=(16, 24),
                         models=tmp_path / 'shipped', changes=changes, studies=[tmp_path / 'runs' / 'recipe'])
    points = shipping_points(chosen, rows, changes)
    shipping = tmp_path / 'runs' / 'finals-shipping'
    again = experiment_rows(shipping) if shipping.is_dir() else []
    assert [r.key for r in studied] == [config_key(points[chosen['large'].key])]      # trained once, by the study
    assert {r.key for r in again} == {config_key(p) for p in points.values()} - {studied[0].key}
    assert all(r.epochs_run == 2 and r.train_config['label_smoothing'] == 0.0 for r in again + studied)
    runs = {r.key: r for r in again + studied}
    expected = choose_final(shipping_candidates(rows, {k: runs[config_key(p)] for k, p in points.items()}))
    for name in ('fast', 'large'):
        ckpt = load_checkpoint(tmp_path / 'shipped' / f'{name}.pt')
        assert ckpt['trial_id'] == expected[name].trial_id == shipped[name].trial_id
        assert ckpt['train_config']['label_smoothing'] == expected[name].train_config['label_smoothing']
        assert 'with the changes the recipe studies adopted (label_smoothing=0.0)' in ckpt['selection']


def test_stage_two_needs_stage_one(tmp_path):
    from minivit.finals import run_finals
    with pytest.raises(FileNotFoundError, match="no stage-one results at"):
        run_finals(tmp_path / 'missing.jsonl', tmp_path / 'runs')

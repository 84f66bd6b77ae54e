"""A node of a Ray cluster dies; its trial moves to another (moved here from `06a_search`).

A real two-node Ray cluster on this machine (`ray.cluster_utils.Cluster`: a head that runs no trials and two worker
nodes with one CPU each), and a search of two trials, one on each node. As soon as both have reported an epoch, one
node is killed with its trial. Tune sees the trial fail, retries it (`FailureConfig`) on the node that is left, from
its last checkpoint, and every trial is in the results at the end, complete. (Ray logs the dead node's actor as an
`ActorDiedError`: that is the failure under test.)
"""
import threading
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

from minivit.search import run_search, search_settings
from minivit.search_results import experiment_rows
from polling import wait_for


def test_trial_of_a_dead_node_moves(tmp_path):
    cluster = Cluster(initialize_head=True, head_node_args={'num_cpus': 0})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        two = search_settings({'emb_dim': [32], 'num_heads': [2], 'num_layers': [1, 2], 'lr': [5e-3]}, max_epochs=6,
                              grace=6, data={'n_train': 1024, 'n_valid': 100})
        def both_trials_running():
            folder = tmp_path / 'two'
            return (folder / 'search.json').exists() and sum(r.epochs_run >= 1 for r in experiment_rows(folder)) == 2
        def kill_a_node():
            wait_for(both_trials_running, every=0.2)
            cluster.remove_node(nodes[0])
        killer = threading.Thread(target=kill_a_node); killer.start()
        rows = run_search(two, tmp_path, 'two', address=cluster.address, verbose=False)
        killer.join()
        assert [(r.status, r.complete) for r in rows] == [('ok', True)] * 2
        retried = [r for r in rows if r.resumed_at]
        assert len(retried) == 1                                   # the trial of the killed node ran in a second process
        assert retried[0].resumed_at[0] >= 1, retried[0].resumed_at      # ... from its checkpoint, not from epoch 1
        assert [h['epoch'] for h in retried[0].history] == list(range(6))   # and no epoch is missing
        print(f"retried after its node died: {retried[0].key}, resumed at epoch {retried[0].resumed_at[0] + 1}")
    finally:
        ray.shutdown(); cluster.shutdown()

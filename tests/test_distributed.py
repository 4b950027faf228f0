"""Certification on a Dask cluster: real ``dask scheduler`` and ``dask worker`` processes give
what the local run gives, get the training set once, and fail with a clear message."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from robustdml import LMNN, CertifiedKNN, knn_attack
from robustdml.evaluation import certify_blocks

distributed = pytest.importorskip(
    "dask.distributed", reason="dask.distributed is not installed: pip install "
    "'robustdml[distributed]' to run the cluster tests")
cloudpickle = pytest.importorskip("cloudpickle", reason="cloudpickle comes with dask")

# functions of this module run on the workers (client.run), which cannot import it
cloudpickle.register_pickle_by_value(sys.modules[__name__])

DASK = [sys.executable, "-m", "dask", "scheduler"]
WORKER = [sys.executable, "-m", "dask", "worker"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(tmp_path, env=None):
    """A scheduler and one single-threaded worker process; returns (address, processes)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = [open(tmp_path / name, "w") for name in ("scheduler.log", "worker.log")]
    scheduler = subprocess.Popen(DASK + ["--host", "127.0.0.1", "--port", str(port),
                                         "--no-dashboard"],
                                 stdout=logs[0], stderr=subprocess.STDOUT,
                                 start_new_session=True)
    worker = subprocess.Popen(WORKER + [address, "--nworkers", "1", "--nthreads", "1",
                                        "--no-dashboard", "--local-directory", str(tmp_path)],
                              stdout=logs[1], stderr=subprocess.STDOUT,
                              env=None if env is None else {**os.environ, **env},
                              start_new_session=True)
    return address, [worker, scheduler], logs


def stop_cluster(processes, logs):
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for log in logs:
        log.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    address, processes, logs = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        with distributed.Client(address, timeout=60) as connected:
            connected.wait_for_workers(1, timeout=60)
            yield connected
    finally:
        stop_cluster(processes, logs)


@pytest.fixture(scope="module")
def problem():
    X, y = make_blobs(n_samples=330, n_features=4, centers=3, cluster_std=2.5, random_state=0)
    knn = CertifiedKNN(3, LMNN(max_iter=30)).fit(X[:300], y[:300])
    return knn, X[300:], y[300:]


def arrivals():
    """On a worker: how many times each estimator sent to it was unpickled there."""
    from robustdml.evaluation import distributed as module

    return dict(module._ARRIVALS)


def test_cluster_gives_the_local_results(client, problem):
    knn, X, y = problem
    attack = {"n_grid": 8, "n_bisect": 12}
    remote = certify_blocks(knn, X, y, client=client, block_size=7, attack=attack)
    local = certify_blocks(knn, X, y, block_size=7, attack=attack)
    assert remote.n_blocks == local.n_blocks == 5
    # the same blocks here and there, and one call on all queries
    np.testing.assert_array_equal(remote.predictions, knn.predict(X))
    np.testing.assert_array_equal(remote.predictions, local.predictions)
    np.testing.assert_array_equal(remote.radii, knn.certified_radius(X, y))
    np.testing.assert_array_equal(remote.radii, local.radii)
    whole = knn_attack(knn, X, y, **attack)
    for result in (remote.attack, local.attack):
        np.testing.assert_array_equal(result.norms, whole.norms)
        np.testing.assert_array_equal(result.examples, whole.examples)
        np.testing.assert_array_equal(result.success, whole.success)
    assert np.all(remote.radii <= remote.attack.norms)
    # by address, with capped radii and no attack
    capped = certify_blocks(knn, X, None, client=client.scheduler.address, block_size=11,
                            max_radius=0.5)
    np.testing.assert_array_equal(capped.radii, knn.certified_radius(X, max_radius=0.5))
    assert capped.attack is None


def test_training_set_is_sent_once(client, problem):
    knn, X, y = problem
    before = client.run(arrivals)
    result = certify_blocks(knn, X, y, client=client, block_size=3)
    assert result.n_blocks == 10
    for worker, counts in client.run(arrivals).items():
        new = {token: count for token, count in counts.items()
               if token not in before[worker]}
        assert list(new.values()) == [1], new  # ten blocks, one arrival


def test_a_wrong_address_says_what_to_do(problem):
    knn, X, y = problem
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionError, match="No Dask scheduler answered.*dask scheduler"):
        certify_blocks(knn, X, y, client=address, timeout=2)


def test_workers_without_robustdml_are_refused(problem, tmp_path):
    # a worker whose robustdml cannot be imported, as in an environment without it
    shadow = tmp_path / "shadow" / "robustdml"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('robustdml is not installed')\n")
    address, processes, logs = start_cluster(tmp_path, env={"PYTHONPATH": str(shadow.parent)})
    try:
        knn, X, y = problem
        with pytest.raises(RuntimeError, match="cannot run robustdml.*Install robustdml"):
            certify_blocks(knn, X, y, client=address, timeout=60)
    finally:
        stop_cluster(processes, logs)


def test_local_blocks_check_their_arguments(problem):
    knn, X, y = problem
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        certify_blocks(knn, X, y, block_size=0)
    with pytest.raises(ValueError, match="no queries"):
        certify_blocks(knn, X[:0], y[:0])

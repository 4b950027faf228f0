"""Neighbor search (robustdml.math.neighbors): every exact backend returns what a naive float64
search does, ties and adversarial scales included; the approximate search and its recall."""

import importlib.util

import numpy as np
import pytest

from robustdml.math import (ExactNeighbors, approximate_kneighbors, exact_kneighbors,
                            neighbor_recall, resolve_neighbor_search)
from robustdml.math import neighbors as neighbors_module

HAS_FAISS = importlib.util.find_spec("faiss") is not None
FAISS = pytest.param("faiss", marks=pytest.mark.skipif(
    not HAS_FAISS, reason="faiss is not installed (optional extra robustdml[fast])"))
EXACT = ["sklearn", "float64", "float32", FAISS]


def naive_sq_dist(reference, queries):
    """Every squared distance, ``|q - r|^2`` in float64, one pair at a time (no expansion)."""
    return np.array([[np.sum((q - r) ** 2) for r in reference] for q in queries])


def naive_kneighbors(reference, queries, k):
    sq = naive_sq_dist(reference, queries)
    order = np.lexsort((np.broadcast_to(np.arange(len(reference)), sq.shape), sq), axis=1)
    order = order[:, :k]
    return np.sqrt(np.take_along_axis(sq, order, 1)), order


def check_kneighbors(reference, queries, k, backend):
    distances, indices = exact_kneighbors(reference, queries, k, backend=backend)
    true_distances, true_indices = naive_kneighbors(reference, queries, k)
    np.testing.assert_allclose(distances, true_distances, rtol=1e-12, atol=0)
    if backend == "sklearn":  # its own order among ties: compare up to them
        kth = true_distances[:, -1:]
        sq = naive_sq_dist(reference, queries)
        assert np.all(np.take_along_axis(sq, indices, 1) <= kth ** 2 * (1 + 1e-12))
    else:  # ties broken by index
        np.testing.assert_array_equal(indices, true_indices)


def tied_data(seed=0):
    """Integer points on a small grid: many exactly tied distances, duplicated points."""
    rng = np.random.RandomState(seed)
    reference = rng.randint(0, 3, size=(120, 8)).astype(float)
    queries = np.vstack([reference[:10], rng.randint(0, 3, size=(15, 8))]).astype(float)
    return reference, queries


@pytest.mark.parametrize("backend", EXACT)
def test_kneighbors_equal_naive_search_with_ties(backend):
    reference, queries = tied_data()
    for k in (1, 4, 30, len(reference)):
        check_kneighbors(reference, queries, k, backend)


@pytest.mark.parametrize("backend", EXACT)
def test_kneighbors_on_random_data(backend):
    rng = np.random.RandomState(1)
    reference, queries = rng.normal(size=(400, 20)), rng.normal(size=(50, 20))
    check_kneighbors(reference, queries, 5, backend)


def naive_within(reference, queries, radius, n_nearest, widen, keep):
    sq = naive_sq_dist(reference, queries)
    kept = keep(*np.indices(sq.shape)) if keep is not None else np.ones(sq.shape, bool)
    cap = radius ** 2
    for i in range(len(queries)):
        inside = np.sort(sq[i][kept[i] & (sq[i] <= radius[i] ** 2)])
        if n_nearest is not None and inside.size >= n_nearest:
            cap[i] = min(cap[i], inside[n_nearest - 1])
    cap *= widen ** 2
    return {(i, j) for i, j in zip(*np.nonzero(kept & (sq <= cap[:, None])))}, np.sqrt(cap)


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("n_nearest", [None, 1, 3])
@pytest.mark.parametrize("sampled", [False, True])
def test_within_equals_naive_search(backend, n_nearest, sampled):
    reference, queries = tied_data(2)
    radius = np.linspace(0.0, 3.0, len(queries))
    keep = (lambda rows, cols: (rows * 7 + cols * 3) % 5 != 0) if sampled else None
    rows, cols, sq_dist, cap = ExactNeighbors(reference, backend=backend).within(
        queries, radius, n_nearest=n_nearest, widen=1.1, keep=keep)
    pairs, true_cap = naive_within(reference, queries, radius, n_nearest, 1.1, keep)
    assert set(zip(rows.tolist(), cols.tolist())) == pairs
    np.testing.assert_allclose(sq_dist, naive_sq_dist(reference, queries)[rows, cols])
    np.testing.assert_allclose(cap, true_cap)


ADVERSARIAL = {
    # far from the origin: |q|^2 + |r|^2 - 2 q.r cancels catastrophically in float32
    "offset": lambda X: X + 1e7,
    # beyond float32's range, and below its normal numbers
    "huge": lambda X: X * 1e30,
    "tiny": lambda X: X * 1e-30,
    # features on scales 1e12 apart
    "mixed": lambda X: X * np.logspace(-6, 6, X.shape[1]),
    # one point far out inflates every norm, hence every error bound
    "outlier": lambda X: np.vstack([X, np.full(X.shape[1], 1e6)]),
}


@pytest.mark.parametrize("backend", ["float64", "float32", FAISS])
@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_float32_backends_exact_under_adversarial_scaling(backend, case):
    rng = np.random.RandomState(3)
    reference = ADVERSARIAL[case](rng.normal(size=(300, 12)))
    # queries at distances that float32 cannot tell apart: near-ties a float64 search orders
    queries = reference[:20] + 1e-9 * np.abs(reference[:20]).max() * rng.normal(size=(20, 12))
    check_kneighbors(reference, queries, 6, backend)
    check_kneighbors(reference, reference[::7], 3, backend)


@pytest.mark.parametrize("backend", ["float32", FAISS])
def test_float32_near_ties_ordered_in_float64(backend):
    """Reference points at distances 1 + j 1e-10 from the query: float32 sees one distance,
    the answer is the float64 order."""
    rng = np.random.RandomState(4)
    directions = rng.normal(size=(200, 10))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    shuffled = rng.permutation(200)
    reference = directions * (1 + 1e-10 * shuffled)[:, None]
    distances, indices = exact_kneighbors(reference, np.zeros((1, 10)), 5, backend=backend)
    np.testing.assert_array_equal(indices[0], np.argsort(shuffled)[:5])


def test_faiss_backend_absent_says_what_to_install(monkeypatch):
    monkeypatch.setattr(neighbors_module, "faiss_available", lambda: False)
    with pytest.raises(ImportError, match=r"robustdml\[fast\]"):
        ExactNeighbors(np.zeros((3, 8)), backend="faiss")
    assert ExactNeighbors(np.zeros((3, 8))).backend_ == "sklearn"  # "auto" goes on without


def test_neighbor_recall_on_a_toy():
    X = np.arange(10.0)[:, None]
    exact = exact_kneighbors(X, X, 2)[1]
    assert neighbor_recall(X, X, exact) == 1.0
    wrong = exact.copy()
    wrong[:, 1] = (np.arange(10) + 5) % 10  # never a true neighbor: half the neighbors found
    assert neighbor_recall(X, X, wrong) == 0.5
    # a point tied with the true k-th counts as found: 1's neighbors {1, 0} or {1, 2}
    assert neighbor_recall(X, X[1:2], np.array([[1, 2]])) == 1.0
    assert neighbor_recall(X, X, wrong, n_samples=4) == 0.5


@pytest.mark.parametrize("backend", [
    pytest.param(name, marks=pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"))
    for name, module in [("faiss-hnsw", "faiss"), ("hnswlib", "hnswlib")]])
def test_approximate_kneighbors_recall(backend):
    rng = np.random.RandomState(6)
    X = rng.normal(size=(2000, 8))
    distances, indices = approximate_kneighbors(X, X[:300], 5, backend=backend)
    assert neighbor_recall(X, X[:300], indices) > 0.9
    np.testing.assert_allclose(distances, np.linalg.norm(
        X[:300, None] - X[indices], axis=2))
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_resolve_neighbor_search():
    assert resolve_neighbor_search("exact", 10 ** 7) == "exact"
    assert resolve_neighbor_search("approximate", 10) == "approximate"
    assert resolve_neighbor_search("auto", neighbors_module.APPROXIMATE_MIN_SAMPLES) == (
        "approximate")
    with pytest.raises(ValueError, match="neighbor_search"):
        resolve_neighbor_search("fast", 10)


def test_leave_one_out_accuracy_of_a_sample_is_the_mean_over_its_rows():
    from robustdml.math import leave_one_out_accuracy

    rng = np.random.RandomState(3)
    Z, y = rng.randn(300, 4), rng.randint(0, 3, 300)
    per_row = np.array([leave_one_out_accuracy(Z, y, 3, rows=[i]) for i in range(len(Z))])
    assert leave_one_out_accuracy(Z, y, 3) == pytest.approx(per_row.mean())
    sample = np.arange(0, 300, 7)
    assert leave_one_out_accuracy(Z, y, 3, rows=sample) == pytest.approx(per_row[sample].mean())


def test_training_accuracy_is_measured_on_a_fixed_sample_above_its_size(monkeypatch):
    from robustdml import LMNN
    from robustdml.math import leave_one_out_accuracy

    rng = np.random.RandomState(0)
    X = rng.randn(400, 3)
    y = (X[:, 0] + 0.3 * rng.randn(400) > 0).astype(int)
    monkeypatch.setattr(LMNN, "TRAINING_ACCURACY_SAMPLE", 100)
    model = LMNN(impostors="fixed").fit(X, y)
    rows = np.sort(np.random.RandomState(0).choice(400, 100, replace=False))
    assert model.train_accuracy_ == leave_one_out_accuracy(model.transform(X), y, 3, rows=rows)
    assert model.initial_train_accuracy_ == leave_one_out_accuracy(X, y, 3, rows=rows)

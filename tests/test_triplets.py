"""Triplet construction (docs/user_guide/method.md, section 4) on toys with known neighbors."""

import numpy as np
import pytest

from robustdml.math import TripletSet, _linalg, build_triplets


def as_set(triplets):
    return set(zip(triplets.anchors.tolist(), triplets.targets.tolist(),
                   triplets.impostors.tolist()))


def test_line_toy_known_triplets():
    # class 0 at x = 0, 1, 3; class 1 at x = 10, 11.5
    X = np.array([[0.0], [1.0], [3.0], [10.0], [11.5]])
    y = np.array([0, 0, 0, 1, 1])
    triplets = build_triplets(X, y, n_neighbors=1, n_impostors=1)
    assert as_set(triplets) == {(0, 1, 3), (1, 0, 3), (2, 1, 3), (3, 4, 2), (4, 3, 2)}


# a k-d tree, then brute force, searches; on one thread (small search) or on all
@pytest.mark.parametrize("n_features", [4, 20])
@pytest.mark.parametrize("serial_search_pairs", [0, _linalg.SERIAL_SEARCH_PAIRS])
def test_counts_and_all_combinations(n_features, serial_search_pairs, monkeypatch):
    monkeypatch.setattr(_linalg, "SERIAL_SEARCH_PAIRS", serial_search_pairs)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, n_features))
    y = np.repeat([0, 1, 2], 20)
    k, v = 3, 5
    triplets = build_triplets(X, y, k, v)
    assert triplets.n_triplets == 60 * k * v
    assert len(triplets.pull_pairs) == 60 * k and len(triplets.push_pairs) == 60 * v
    assert (y[triplets.targets] == y[triplets.anchors]).all()
    assert (y[triplets.impostors] != y[triplets.anchors]).all()
    assert (triplets.targets != triplets.anchors).all()
    # the targets of an anchor are its k nearest same-class points
    for i in range(60):
        same = np.flatnonzero((y == y[i]) & (np.arange(60) != i))
        nearest = same[np.argsort(np.linalg.norm(X[same] - X[i], axis=1))[:k]]
        assert set(triplets.targets[triplets.anchors == i]) == set(nearest)
        other = np.flatnonzero(y != y[i])
        nearest = other[np.argsort(np.linalg.norm(X[other] - X[i], axis=1))[:v]]
        assert set(triplets.impostors[triplets.anchors == i]) == set(nearest)
    # every (target, impostor) combination appears once per anchor
    assert len(as_set(triplets)) == triplets.n_triplets


def test_small_class_uses_all_its_points_with_a_warning():
    X = np.arange(10, dtype=float)[:, None]
    y = np.array([0] * 7 + [1] * 2 + [2])
    with pytest.warns(UserWarning, match="n_neighbors=3"):
        triplets = build_triplets(X, y, n_neighbors=3, n_impostors=2)
    # class 1 (2 points): one target each; class 2 (1 point): anchors nothing
    assert (triplets.n_triplets == 7 * 3 * 2 + 2 * 1 * 2)
    assert 9 not in set(triplets.anchors.tolist())


def test_duplicates_never_target_themselves():
    X = np.zeros((6, 2))
    y = np.array([0, 0, 0, 1, 1, 1])
    triplets = build_triplets(X, y, n_neighbors=2, n_impostors=2)
    assert (triplets.targets != triplets.anchors).all()
    assert triplets.n_triplets == 6 * 2 * 2


def test_held_out_anchors_use_only_candidates():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 2, size=40)
    train, test = np.arange(30), np.arange(30, 40)
    triplets = build_triplets(X, y, 3, 4, anchors=test, candidates=train)
    assert set(triplets.anchors.tolist()) <= set(test.tolist())
    assert set(triplets.targets.tolist()) | set(triplets.impostors.tolist()) <= set(train.tolist())
    assert triplets.n_triplets == 10 * 3 * 4


def test_from_indices_roundtrip_and_validation():
    triplets = TripletSet.from_indices([0, 0, 1], [1, 2, 0], [3, 3, 3])
    assert as_set(triplets) == {(0, 1, 3), (0, 2, 3), (1, 0, 3)}
    with pytest.raises(ValueError, match="same length"):
        TripletSet.from_indices([0], [1, 2], [3])


def test_no_triplet_possible_is_an_error():
    with pytest.raises(ValueError, match="No triplet"):
        build_triplets(np.zeros((3, 2)), np.array([0, 0, 0]))

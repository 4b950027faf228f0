"""The full LMNN objective's active triplets against brute force over every impostor."""

import warnings

import numpy as np
import pytest

from robustdml.math import (ActiveTriplets, LMNNLoss, PerturbationLoss, TripletObjective,
                            TripletSet)


def every_triplet(active, y):
    """Every (anchor, target, other-class point) triplet, with the active set's normalizer."""
    anchors, targets, impostors = [], [], []
    for i, j in active.pull_pairs:
        others = np.flatnonzero(y != y[i])
        anchors += [i] * len(others)
        targets += [j] * len(others)
        impostors += others.tolist()
    full = TripletSet.from_indices(anchors, targets, impostors, len(y))
    return TripletSet(full.pull_pairs, full.push_pairs, full.pull_index, full.push_index,
                      len(y), normalizer=active.normalizer)


def assert_same_objective(X, triplets, reference, losses, L):
    """Value and gradient at L agree, exact and smoothed."""
    for smoothing in (0.0, 0.3):
        got = TripletObjective(X, triplets, losses, smoothing).value_and_gradient_M(L)
        want = TripletObjective(X, reference, losses, smoothing).value_and_gradient_M(L)
        assert got[0] == pytest.approx(want[0], rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-10)


def problem(seed, n=45, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.integers(0, 3, size=n)
    return rng, X, y


LOSSES = [[LMNNLoss(0.3)], [LMNNLoss(0.5), PerturbationLoss(2.0, 0.4)],
          [LMNNLoss(0.1), PerturbationLoss(5.0, 3.0)]]


@pytest.mark.parametrize("slack", [0.0, 0.5])
@pytest.mark.parametrize("losses", LOSSES)
@pytest.mark.parametrize("seed", range(3))
def test_equals_the_objective_over_every_impostor(losses, seed, slack):
    rng, X, y = problem(seed)
    active = ActiveTriplets(X, y, 2, 5, losses, slack=slack)
    full = every_triplet(active, y)
    L = rng.normal(size=(4, 4))
    for step in range(12):
        # small moves reuse the last search, large ones and rank-deficient L search again
        L = L + rng.normal(size=L.shape) * (0.02 if step % 3 else 0.5)
        if step == 6:
            L[0] = 0.0
        assert_same_objective(X, active, full, losses, L)
    # about a search per new metric without slack; with it, small moves reuse the last one
    assert 1 < active.n_searches <= 12 if slack == 0 else 1 < active.n_searches < 12


def nearest_triplets(active, X, y, L, v):
    """Every target x the v nearest other-class points under L, of every anchor."""
    Z = X @ L.T
    anchors, targets, impostors = [], [], []
    for i, j in active.pull_pairs:
        others = np.flatnonzero(y != y[i])
        nearest = others[np.argsort(np.linalg.norm(Z[others] - Z[i], axis=1))[:v]]
        anchors += [i] * len(nearest)
        targets += [j] * len(nearest)
        impostors += nearest.tolist()
    chosen = TripletSet.from_indices(anchors, targets, impostors, len(y))
    return TripletSet(chosen.pull_pairs, chosen.push_pairs, chosen.pull_index,
                      chosen.push_index, len(y), normalizer=active.normalizer)


@pytest.mark.parametrize("slack", [0.0, 0.5])
@pytest.mark.parametrize("losses", LOSSES)
@pytest.mark.parametrize("seed", range(3))
def test_nearest_only_equals_the_v_nearest_impostors_under_the_metric(losses, seed, slack):
    rng, X, y = problem(seed)
    active = ActiveTriplets(X, y, 2, 4, losses, nearest_only=True, slack=slack)
    L = rng.normal(size=(4, 4))
    for step in range(10):
        L = L + rng.normal(size=L.shape) * (0.02 if step % 3 else 0.5)
        assert_same_objective(X, active, nearest_triplets(active, X, y, L, 4), losses, L)
    assert 1 < active.n_searches <= 10 if slack == 0 else 1 < active.n_searches < 10


@pytest.mark.parametrize("seed", range(5))
def test_a_reused_search_never_misses_a_contributing_impostor(seed):
    """Whenever the validity test accepts a cached search, brute force finds no contributing
    (anchor, impostor) pair outside it, at random metrics near and far from the reference."""
    rng, X, y = problem(seed, n=60, p=5)
    losses = [LMNNLoss(0.5), PerturbationLoss(1.0, 0.5)]
    active = ActiveTriplets(X, y, 3, 10, losses, slack=0.5)
    reference = rng.normal(size=(3, 5))  # rank-deficient: the diameter term is needed
    active.at(reference)
    accepted = 0
    for scale in np.geomspace(1e-3, 1.0, 40):
        L = reference + rng.normal(size=reference.shape) * scale
        if not active.covers(L, active.reach(L)):
            continue
        accepted += 1
        kept = {tuple(pair) for pair in active._candidates.tolist()}
        reach = active.reach(L)
        Z = X @ L.T
        for i in np.flatnonzero(np.isfinite(reach)):
            for l in np.flatnonzero(y != y[i]):
                if np.linalg.norm(Z[i] - Z[l]) < reach[i]:
                    assert (i, l) in kept
    assert accepted >= 5


def test_no_contribution_beyond_the_reach():
    """The reach of each loss is a true bound: triplets just outside it add nothing."""
    rng, X, y = problem(7, n=80, p=3)
    losses = [LMNNLoss(0.5), PerturbationLoss(1.0, 0.8)]
    active = ActiveTriplets(X, y, 2, 5, losses)
    full = every_triplet(active, y)
    for _ in range(5):
        L = rng.normal(size=(3, 3))
        Z = X @ L.T
        reach = active.reach(L)
        outside = np.linalg.norm(Z[full.anchors] - Z[full.impostors], axis=1) >= \
            reach[full.anchors]
        assert outside.any()
        keep = np.flatnonzero(~outside)
        inside = TripletSet.from_indices(full.anchors[keep], full.targets[keep],
                                         full.impostors[keep], len(y))
        inside = TripletSet(full.pull_pairs, *_reindex(full, inside), len(y),
                            normalizer=active.normalizer)
        for loss in losses:
            a = TripletObjective(X, full, [loss]).value_and_gradient_M(L)
            b = TripletObjective(X, inside, [loss]).value_and_gradient_M(L)
            assert a[0] == pytest.approx(b[0], rel=1e-12)
            np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)


def _reindex(full, subset):
    """Push pairs and indices of ``subset`` against ``full``'s pull pairs (all of B)."""
    pull_row = {tuple(pair): row for row, pair in enumerate(full.pull_pairs.tolist())}
    pull_index = np.array([pull_row[(a, t)] for a, t in zip(subset.anchors, subset.targets)],
                          dtype=np.intp)
    return subset.push_pairs, pull_index, subset.push_index


def test_sampling_warns_and_estimates_the_objective_without_bias():
    rng, X, y = problem(3, n=120, p=3)
    losses = [LMNNLoss(0.2)]
    L = np.eye(3) * 0.3  # a small scale: nearly every pair is inside the margin
    exact = ActiveTriplets(X, y, 3, 10, losses)
    want = TripletObjective(X, exact, losses).value_and_gradient_M(L)[0]
    estimates = []
    for seed in range(40):
        sampled = ActiveTriplets(X, y, 3, 10, losses, max_triplets=3000, random_state=seed)
        with pytest.warns(UserWarning, match="max_triplets=3,000"):
            value = TripletObjective(X, sampled, losses).value_and_gradient_M(L)[0]
        assert sampled.sample_rate < 1
        assert sampled.at(L).n_triplets <= 3000
        estimates.append(value)
    assert exact.at(L).n_triplets > 3000
    assert np.mean(estimates) == pytest.approx(want, rel=3 * np.std(estimates) / want / 6 + 1e-3)


def test_sample_is_a_function_of_the_pair():
    """A lower rate keeps a subset of the pairs a higher rate keeps (so lowering it never
    brings back pairs, and the objective between rate changes is one function)."""
    rng, X, y = problem(4, n=100, p=3)
    active = ActiveTriplets(X, y, 3, 10, [LMNNLoss(0.5)])
    pairs = np.array([(i, l) for i in range(100) for l in range(100) if y[i] != y[l]])
    high, low = active._kept(pairs, 0.5), active._kept(pairs, 0.2)
    assert not np.any(low & ~high)
    assert 0.45 < high.mean() < 0.55 and 0.15 < low.mean() < 0.25


@pytest.mark.parametrize("mu", [0.1, 0.5, 0.7])
def test_best_scale_minimizes_the_objective_along_the_ray(mu):
    rng, X, y = problem(5, n=60, p=4)
    losses = [LMNNLoss(mu)]
    active = ActiveTriplets(X, y, 3, 10, losses)
    L0 = rng.normal(size=(4, 4))
    best = active.best_scale(L0, mu, n_candidates=60)  # every impostor: exact
    full = every_triplet(active, y)
    objective = TripletObjective(X, full, losses)
    value = lambda c: objective.value_and_gradient_M(c * L0)[0]  # noqa: E731
    assert all(value(best) <= value(best * factor) + 1e-12
               for factor in np.geomspace(0.2, 5.0, 41))


def test_best_scale_stays_positive_when_the_ray_minimum_is_zero():
    """With mu near 1 the pull term wins everywhere on the ray (its minimum is the collapsed
    metric): the start is the scale where the last impostor enters the margin, not 0."""
    rng, X, y = problem(5, n=60, p=4)
    active = ActiveTriplets(X, y, 3, 10, [LMNNLoss(0.99)])
    L0 = rng.normal(size=(4, 4))
    best = active.best_scale(L0, 0.99, n_candidates=60)
    Z = X @ L0.T * best
    pull = np.sum((Z[active.pull_pairs[:, 0]] - Z[active.pull_pairs[:, 1]]) ** 2, axis=1)
    assert 0 < best < np.inf
    assert np.max(np.sum((Z[:, None] - Z[None]) ** 2, axis=2)) <= pull.max() + 1 + 1e-9


def test_fixed_and_active_normalize_alike():
    """lambda, tau and mu mean the same in both modes: fixed triplets divide by |T| = v|B|,
    the active set by v|B|."""
    rng, X, y = problem(6, n=60, p=3)
    from robustdml.math import build_triplets
    fixed = build_triplets(X, y, 3, 10)
    active = ActiveTriplets(X, y, 3, 10, [LMNNLoss(0.5)])
    assert fixed.triplet_normalizer == fixed.n_triplets == active.normalizer


def test_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        ActiveTriplets(np.zeros((5, 2)), np.zeros(5), 2, 3, [LMNNLoss()])


def test_a_loss_without_a_reach_is_refused():
    from robustdml.math import TripletLoss
    rng, X, y = problem(0)
    active = ActiveTriplets(X, y, 2, 5, [TripletLoss()])
    with warnings.catch_warnings(), pytest.raises(NotImplementedError, match="fixed triplets"):
        active.at(np.eye(4))


@pytest.mark.parametrize("seed", range(3))
def test_reused_nearest_search_caps_candidates_per_anchor(seed):
    """With slack, the nearest impostors' search keeps at most REUSE_CANDIDATES * v
    candidates per anchor (instead of sampling pairs when (1 + slack) times the v-th nearest
    holds many): no warning, no sampling, and still the v nearest at every metric."""
    from robustdml.math.impostors import REUSE_CANDIDATES
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(150, 10))  # distances concentrate: a wide slack holds most points
    y = rng.integers(0, 3, size=150)
    losses = [LMNNLoss(0.3)]
    v = 3
    active = ActiveTriplets(X, y, 2, v, losses, nearest_only=True, slack=2.0,
                            max_triplets=150 * 2 * REUSE_CANDIDATES * v)
    L = np.eye(10) * 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(6):
            L = L + rng.normal(size=L.shape) * (1e-4 if step % 2 else 0.05)
            assert_same_objective(X, active, nearest_triplets(active, X, y, L, v), losses, L)
            per_anchor = np.bincount(active._candidates[:, 0], minlength=150)
            assert per_anchor.max() <= REUSE_CANDIDATES * v
    assert active.sample_rate == 1.0
    assert active.n_searches < 6  # small moves reuse the capped search

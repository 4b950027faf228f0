"""ARML: its objective against a naive loop, its gradient against finite differences, and fits
that behave as the method says (wider margins than the Euclidean metric)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from robustdml import ARML, CertifiedKNN
from robustdml.math import SignedMarginLoss, TripletObjective, TripletSet, build_triplets
from test_losses import finite_difference


def naive_signed_margins(X, triplets, M, eps=1e-10):
    """-mean over triplets of (d2(z, y) - d2(z, x)) / (2 sqrt(||M (x - y)||^2 + eps)), a loop."""
    total = 0.0
    for z, x, y in zip(triplets.anchors, triplets.targets, triplets.impostors):
        gap = (X[z] - X[y]) @ M @ (X[z] - X[y]) - (X[z] - X[x]) @ M @ (X[z] - X[x])
        direction = M @ (X[x] - X[y])
        total += gap / (2 * np.sqrt(direction @ direction + eps))
    return -total / triplets.n_triplets


@pytest.fixture
def problem():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, size=30)
    return X, build_triplets(X, y, 3, 3), rng.normal(size=(4, 4)) * 0.5


def test_objective_matches_naive_loop(problem):
    X, triplets, L = problem
    value, _ = TripletObjective(X, triplets, [SignedMarginLoss()]).value_and_gradient_M(L)
    assert value == pytest.approx(naive_signed_margins(X, triplets, L.T @ L), rel=1e-12)


def test_hand_computed_toy():
    # z = 0, x = (-1, 0), y = (3, 0), M = I: margin 1 (the bisector x = 1); swapped: -1
    X = np.array([[0.0, 0.0], [-1.0, 0.0], [3.0, 0.0]])
    agree = TripletSet.from_indices([0], [1], [2])
    disagree = TripletSet.from_indices([0], [2], [1])
    for triplets, expected in ((agree, -1.0), (disagree, 1.0)):
        value, _ = TripletObjective(X, triplets, [SignedMarginLoss()]).value_and_gradient_M(
            np.eye(2))
        assert value == pytest.approx(expected)


@pytest.mark.parametrize("rows", [4, 2])
def test_gradient_matches_finite_differences(problem, rows):
    X, triplets, L = problem
    objective = TripletObjective(X, triplets, [SignedMarginLoss(2.0)])
    L = L[:rows]
    _, gradient = objective.value_and_gradient_L(L)
    numeric = finite_difference(lambda A: objective.value_and_gradient_L(A)[0], L)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_objective_does_not_change_along_the_ray(problem):
    X, triplets, L = problem
    objective = TripletObjective(X, triplets, [SignedMarginLoss()])
    assert objective.value_and_gradient_L(3.0 * L)[0] == pytest.approx(
        objective.value_and_gradient_L(L)[0], rel=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_widens_margins_and_keeps_accuracy(seed):
    """On random halves of standardized wine: larger median certified 3-NN radius than the
    Euclidean metric's, no worse held-out accuracy than 3 points below it, and a mean signed
    margin (the objective) above the start's."""
    X, y = load_wine(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train, test = order[:120], order[120:]
    scaler = StandardScaler().fit(X[train])
    X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
    euclidean = CertifiedKNN(3).fit(X_train, y[train])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arml = CertifiedKNN(3, ARML()).fit(X_train, y[train])
    learner = arml.metric_learner_
    assert learner.objective_[-1] < learner.objective_[0]
    assert 1 <= learner.n_rounds_ <= learner.max_rounds
    assert (np.median(arml.certified_radius(X_test, y[test]))
            > np.median(euclidean.certified_radius(X_test, y[test])))
    assert arml.score(X_test, y[test]) >= euclidean.score(X_test, y[test]) - 0.03

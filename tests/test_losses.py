"""Losses against naive loops over triplets, and every gradient against finite differences."""

import numpy as np
import pytest

from robustdml.math import (LMNNLoss, PerturbationLoss, TripletGeometry, TripletObjective,
                            build_triplets)


def naive_objective(X, triplets, M, mu, lam, tau, eps=1e-10):
    """docs/user_guide/method.md, sections 3-4 written as loops: value and gradient w.r.t. M."""
    n_features = X.shape[1]
    pulls = {(int(i), int(j)) for i, j in zip(triplets.anchors, triplets.targets)}
    T = triplets.n_triplets
    value, grad = 0.0, np.zeros((n_features, n_features))
    for i, j in pulls:
        d = X[i] - X[j]
        value += mu / len(pulls) * d @ M @ d
        grad += mu / len(pulls) * np.outer(d, d)
    for i, j, l in zip(triplets.anchors, triplets.targets, triplets.impostors):
        t_ij, t_il, v = X[i] - X[j], X[i] - X[l], X[j] - X[l]
        delta = t_il @ M @ t_il - t_ij @ M @ t_ij
        if delta < 1:
            value += (1 - mu) / T * (1 - delta)
            grad += (1 - mu) / T * (np.outer(t_ij, t_ij) - np.outer(t_il, t_il))
        if lam == 0:
            continue
        q = v @ M @ M @ v
        if delta < 0:
            value += lam / T * tau ** 2
            continue
        m2 = delta ** 2 / (4 * (q + eps))
        if m2 <= tau ** 2:
            value += lam / T * (tau ** 2 - m2)
            a = delta / (q + eps)
            grad += lam / T * (-(a / 2) * (np.outer(t_il, t_il) - np.outer(t_ij, t_ij))
                               + (a ** 2 / 4) * (M @ np.outer(v, v) + np.outer(v, v) @ M))
    return value, grad


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, size=30)
    triplets = build_triplets(X, y, n_neighbors=2, n_impostors=3)
    L = rng.normal(size=(4, 4)) * 0.5
    return X, triplets, L


@pytest.mark.parametrize("lam, tau", [(0.0, 0.3), (2.0, 0.3), (5.0, 3.0)])
def test_objective_matches_naive_loop(problem, lam, tau):
    X, triplets, L = problem
    losses = [LMNNLoss(0.3)] + ([PerturbationLoss(lam, tau)] if lam else [])
    value, grad = TripletObjective(X, triplets, losses).value_and_gradient_M(L)
    naive_value, naive_grad = naive_objective(X, triplets, L.T @ L, 0.3, lam, tau)
    assert value == pytest.approx(naive_value, rel=1e-10)
    np.testing.assert_allclose(grad, naive_grad, rtol=1e-9, atol=1e-12)


def test_perturbation_loss_hand_computed_toy():
    # 1-D: anchor 0, target -1, impostor 3, M = m^2: Delta = 8 m^2, q = 16 m^4, margin = 1
    # whatever m; tau = 2 gives P = tau^2 - 1 = 3, weight 0.5 over one triplet: 1.5.
    X = np.array([[0.0], [-1.0], [3.0]])
    from robustdml.math import TripletSet
    triplets = TripletSet.from_indices([0], [1], [2])
    for scale in (0.5, 1.0, 3.0):
        geometry = TripletGeometry(X, triplets, np.array([[scale]]))
        assert geometry.margin()[0] == pytest.approx(1.0)
        value, grad = PerturbationLoss(0.5, 2.0).value_and_gradient(geometry)
        assert value == pytest.approx(1.5)
        # the margin does not depend on the scale of M, so the gradient is orthogonal to M
        assert grad[0, 0] * scale ** 2 == pytest.approx(0.0, abs=1e-8)
    # tau below the margin: no loss, no gradient
    value, grad = PerturbationLoss(0.5, 0.9).value_and_gradient(geometry)
    assert value == 0.0 and np.all(grad == 0.0)


def finite_difference(f, L, h=1e-6):
    grad = np.zeros_like(L)
    for index in np.ndindex(L.shape):
        step = np.zeros_like(L)
        step[index] = h
        grad[index] = (f(L + step) - f(L - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("smoothing", [0.0, 0.5])
@pytest.mark.parametrize("lam", [0.0, 3.0])
def test_gradient_wrt_L_matches_finite_differences(problem, smoothing, lam):
    X, triplets, L = problem
    losses = [LMNNLoss(0.4)] + ([PerturbationLoss(lam, 0.8)] if lam else [])
    objective = TripletObjective(X, triplets, losses, smoothing=smoothing)
    _, grad = objective.value_and_gradient_L(L)
    numeric = finite_difference(lambda A: objective.value_and_gradient_L(A)[0], L)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_gradient_wrt_L_rectangular(problem):
    X, triplets, L = problem
    objective = TripletObjective(X, triplets, [LMNNLoss(0.5), PerturbationLoss(2.0, 0.5)],
                                 smoothing=0.2)
    L = L[:2]
    _, grad = objective.value_and_gradient_L(L)
    numeric = finite_difference(lambda A: objective.value_and_gradient_L(A)[0], L)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("lam", [0.0, 3.0])
def test_gradient_wrt_M_matches_finite_differences(problem, lam):
    """G is the gradient for symmetric perturbations of M: <G, E> = d f(M + hE)/dh."""
    X, triplets, L = problem
    losses = [LMNNLoss(0.4)] + ([PerturbationLoss(lam, 0.8)] if lam else [])
    objective = TripletObjective(X, triplets, losses)
    M = L.T @ L

    def value_at(M_):  # f through any factor of M; M stays PD for small steps
        return objective.value_and_gradient_M(np.linalg.cholesky(M_).T)[0]

    _, grad = objective.value_and_gradient_M(L)
    rng = np.random.default_rng(5)
    for _ in range(5):
        E = rng.normal(size=M.shape)
        E = E + E.T
        h = 1e-6
        numeric = (value_at(M + h * E) - value_at(M - h * E)) / (2 * h)
        assert np.sum(grad * E) == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_smoothing_stays_close_to_exact(problem):
    X, triplets, L = problem
    losses = [LMNNLoss(0.5), PerturbationLoss(1.0, 0.5)]
    exact = TripletObjective(X, triplets, losses).value_and_gradient_M(L)[0]
    smooth = TripletObjective(X, triplets, losses, smoothing=0.1).value_and_gradient_M(L)[0]
    # each hinge moves by at most s/2 (in its own units), weighted by (1 - mu) and lambda tau^2
    assert 0 <= exact - smooth <= 0.5 * 0.1 * (0.5 + 1.0 * 0.5 ** 2) + 1e-12


def test_new_regularizer_plugs_in(problem):
    """A third-party term only implements value_and_gradient and composes with the others."""
    from robustdml.math import TripletLoss

    class Frobenius(TripletLoss):
        def value_and_gradient(self, geometry, smoothing=0.0):
            return float(np.sum(geometry.M ** 2)), 2 * geometry.M

    X, triplets, L = problem
    base = TripletObjective(X, triplets, [LMNNLoss(0.5)]).value_and_gradient_M(L)
    both = TripletObjective(X, triplets, [LMNNLoss(0.5), Frobenius()]).value_and_gradient_M(L)
    M = L.T @ L
    assert both[0] == pytest.approx(base[0] + np.sum(M ** 2))
    np.testing.assert_allclose(both[1], base[1] + 2 * M)

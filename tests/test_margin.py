"""The closed-form adversarial margin (docs/user_guide/method.md, section 2) against geometry and
numerical optimization."""

import numpy as np
import pytest
from scipy.optimize import minimize

from robustdml.math import adversarial_margin, margin_from_gap


def sq_dist(a, b, M):
    d = a - b
    return d @ M @ d


def random_psd(rng, p, rank=None):
    A = rng.normal(size=(rank or p, p))
    return A.T @ A, A


def test_hand_computed_toy():
    # Euclidean: the bisector of (-1, 0) and (3, 0) is x = 1, at distance 1 from the origin.
    margin, example = adversarial_margin([[0.0, 0.0]], [[-1.0, 0.0]], [[3.0, 0.0]],
                                         M=np.eye(2), return_examples=True)
    assert margin == pytest.approx([1.0], abs=1e-9)
    np.testing.assert_allclose(example, [[1.0, 0.0]], atol=1e-9)


def test_stretched_metric_toy():
    # M = diag(4, 1): d2 = 4 dx^2 + dy^2, the equidistant set of (-1,0), (3,0) is still x = 1.
    margin = adversarial_margin([[0.0, 5.0]], [[-1.0, 0.0]], [[3.0, 0.0]], M=np.diag([4.0, 1.0]))
    assert margin == pytest.approx([1.0], abs=1e-9)


def test_violated_triplet_has_zero_margin_and_stays_put():
    margin, example = adversarial_margin([[2.5, 0.0]], [[-1.0, 0.0]], [[3.0, 0.0]],
                                         M=np.eye(2), return_examples=True)
    assert margin[0] == 0.0
    np.testing.assert_allclose(example, [[2.5, 0.0]])


def test_degenerate_triplet_is_finite():
    # M cannot tell target from impostor: they tie everywhere, the margin is 0, not 0/0.
    M = np.diag([0.0, 1.0])
    margin, example = adversarial_margin([[0.0, 0.0]], [[1.0, 1.0]], [[-1.0, 1.0]], M=M,
                                         return_examples=True)
    assert np.isfinite(margin).all() and margin[0] == 0.0
    np.testing.assert_array_equal(example, [[0.0, 0.0]])
    assert margin_from_gap(0.0, 0.0) == 0.0
    # the loss's smoothing constant is an explicit argument
    assert margin_from_gap(1.0, 0.0, 1e-10) == pytest.approx(1.0 / (2 * np.sqrt(1e-10)))


@pytest.mark.parametrize("scale", [1e-8, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e8])
def test_margin_is_a_length_at_every_scale(scale):
    # anchor (-0.5, 0) s, target (-1, 0) s, impostor (1, 0) s: the bisector x = 0 is 0.5 s away
    margin, example = adversarial_margin([[-0.5 * scale, 0.0]], [[-scale, 0.0]], [[scale, 0.0]],
                                         M=np.eye(2), return_examples=True)
    assert margin[0] == pytest.approx(0.5 * scale, rel=1e-12)
    np.testing.assert_allclose(example, [[0.0, 0.0]], atol=1e-12 * scale)
    # and a metric scaled by any factor measures the same length
    assert adversarial_margin([[-0.5 * scale, 0.0]], [[-scale, 0.0]], [[scale, 0.0]],
                              M=np.eye(2) / scale ** 2)[0] == pytest.approx(0.5 * scale, rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_margin_equals_constrained_minimization(seed):
    """m = min ||x - x_i|| subject to d2_M(x, x_j) = d2_M(x, x_l), by SLSQP."""
    rng = np.random.default_rng(seed)
    p = rng.integers(2, 6)
    M, L = random_psd(rng, p, rank=rng.integers(1, p + 1))
    while True:
        x_i, x_j, x_l = rng.normal(size=(3, p))
        if sq_dist(x_i, x_l, M) > sq_dist(x_i, x_j, M) + 0.1:
            break
    res = minimize(lambda x: np.sum((x - x_i) ** 2), x_i, jac=lambda x: 2 * (x - x_i),
                   constraints=[{"type": "eq",
                                 "fun": lambda x: sq_dist(x, x_l, M) - sq_dist(x, x_j, M)}],
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    margin, example = adversarial_margin(x_i[None], x_j[None], x_l[None], M=M,
                                         return_examples=True)
    assert margin[0] == pytest.approx(np.sqrt(res.fun), rel=1e-5)
    np.testing.assert_allclose(example[0], res.x, atol=1e-5)
    # the same metric given as L gives the same margin
    assert adversarial_margin(x_i[None], x_j[None], x_l[None], L=L)[0] == pytest.approx(
        margin[0], rel=1e-10)


def test_certified_ball_and_flip_just_outside():
    """Inside the margin no perturbation reverses the triplet; just past the closest
    adversarial example, the impostor is closer than the target."""
    rng = np.random.default_rng(1)
    p, n = 5, 300
    M, _ = random_psd(rng, p)
    anchors, targets, impostors = rng.normal(size=(3, n, p))
    margin, examples = adversarial_margin(anchors, targets, impostors, M=M, return_examples=True)
    positive = margin > 1e-6
    assert positive.sum() > 50
    for t in np.flatnonzero(positive):
        x_i, x_j, x_l = anchors[t], targets[t], impostors[t]
        directions = rng.normal(size=(50, p))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        for delta in 0.999 * margin[t] * directions:
            assert sq_dist(x_i + delta, x_j, M) < sq_dist(x_i + delta, x_l, M)
        beyond = x_i + 1.001 * (examples[t] - x_i)
        assert sq_dist(beyond, x_l, M) < sq_dist(beyond, x_j, M)
        assert np.linalg.norm(examples[t] - x_i) == pytest.approx(margin[t], rel=1e-6)


def test_metric_must_be_given_once():
    with pytest.raises(ValueError, match="exactly one"):
        adversarial_margin([[0.0]], [[1.0]], [[2.0]])
    with pytest.raises(ValueError, match="exactly one"):
        adversarial_margin([[0.0]], [[1.0]], [[2.0]], M=np.eye(1), L=np.eye(1))
    with pytest.raises(ValueError, match="square"):
        adversarial_margin([[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]], M=np.ones((1, 2)))

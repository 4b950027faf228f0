"""Certificates against brute force, exact minimal perturbations and attacks
(docs/user_guide/method.md, section 6)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.datasets import make_blobs

from robustdml import CertifiedKNN, LMNN, adversarial_margin, knn_attack, minimal_perturbation_1nn
from robustdml.estimators import MahalanobisMixin
from robustdml.evaluation import certify, noise_error
from robustdml.evaluation.attack import _ray_targets
from robustdml.evaluation.exact import least_distance


class FixedMetric(MahalanobisMixin, BaseEstimator):
    """A 'learner' that returns a given L, to certify under arbitrary metrics."""

    def __init__(self, components=None):
        self.components = components

    def fit(self, X, y):
        self.components_ = np.asarray(self.components, dtype=float)
        self.n_features_in_ = X.shape[1]
        return self


def naive_radius(X_train, y_train, z, predicted, k, M):
    """docs/user_guide/method.md, section 6 literally, with loops and the margin primitive."""
    s = (k + 1) // 2
    d2 = np.einsum("ij,jk,ik->i", X_train - z, M, X_train - z)
    nearest = np.argsort(d2, kind="stable")[:k]
    if np.sum(y_train[nearest] == predicted) < s:
        return 0.0
    same = X_train[y_train == predicted]
    t = []
    for b in X_train[y_train != predicted]:
        m = adversarial_margin(np.repeat(z[None], len(same), 0), same,
                               np.repeat(b[None], len(same), 0), M=M)
        t.append(np.sort(m)[::-1][s - 1])
    return np.sort(t)[s - 1]


def random_problem(seed, n_train=60, n_features=3, n_classes=3, rank=None):
    rng = np.random.default_rng(seed)
    X, y = make_blobs(n_samples=n_train + 25, n_features=n_features, centers=n_classes,
                      cluster_std=2.5, random_state=seed)
    L = rng.normal(size=(rank or n_features, n_features))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], L


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("seed, n_train", [(0, 60), (1, 60), (2, 60), (5, 400)])
def test_radius_equals_naive_definition(k, seed, n_train, monkeypatch):
    # small blocks force the pruned search through several steps
    monkeypatch.setattr(certify, "FIRST_BLOCK", 2)
    monkeypatch.setattr(certify, "CANDIDATE_BLOCK", 4)
    X, y, X_test, _, L = random_problem(seed, n_train, rank=2 if seed == 2 else None)
    knn = CertifiedKNN(k, FixedMetric(L)).fit(X, y)
    radii = knn.certified_radius(X_test)
    predicted = knn.predict(X_test)
    M = L.T @ L
    expected = [naive_radius(X, y, z, c, k, M) for z, c in zip(X_test, predicted)]
    np.testing.assert_allclose(radii, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("seed", [3, 4])
def test_no_attack_succeeds_inside_the_radius(k, seed):
    X, y, X_test, y_test, L = random_problem(seed, n_train=80, n_features=4)
    knn = CertifiedKNN(k, FixedMetric(L)).fit(X, y)
    radii = knn.certified_radius(X_test)
    attack = knn_attack(knn, X_test)
    assert attack.success.all()
    # every example is real: the prediction changed
    assert np.all(knn.predict(attack.examples) != knn.predict(X_test))
    np.testing.assert_allclose(np.linalg.norm(attack.examples - X_test, axis=1), attack.norms,
                               rtol=1e-9)
    assert np.all(attack.norms >= radii)
    # random perturbations just inside the radius never flip the prediction
    rng = np.random.default_rng(seed)
    clean = knn.predict(X_test)
    for _ in range(20):
        direction = rng.normal(size=X_test.shape)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        moved = X_test + 0.999 * radii[:, None] * direction
        assert np.all(knn.predict(moved) == clean)
    # and neither does moving toward the attack's own example, stopped inside the radius
    toward = attack.examples - X_test
    scale = np.where(attack.norms > 0, 0.999 * radii / np.maximum(attack.norms, 1e-300), 0.0)
    assert np.all(knn.predict(X_test + scale[:, None] * toward) == clean)


def naive_ray_search(knn, z, rays, n_grid=28, growth=1.25, n_bisect=30):
    """The attack's search, one ray at a time and without pruning: the grid's first flip,
    bisected, then the shortest flipping step over the rays (inf if none flips)."""
    clean = knn.predict(z[None])[0]
    scales = growth ** (np.arange(n_grid) - n_grid // 2)
    shortest = np.inf
    for target in rays:
        direction = target - z
        flipped = knn.predict(z + scales[:, None] * direction) != clean
        if not flipped.any():
            continue
        first = np.argmax(flipped)
        low, high = (scales[first - 1] if first else 0.0), scales[first]
        for _ in range(n_bisect):
            middle = 0.5 * (low + high)
            if knn.predict((z + middle * direction)[None])[0] != clean:
                high = middle
            else:
                low = middle
        shortest = min(shortest, high * np.linalg.norm(direction))
    return shortest


@pytest.mark.parametrize("k", [1, 3, 5])
def test_attack_norms_equal_the_unpruned_ray_search(k):
    """Dropping rays that cannot beat the shortest flip so far changes no returned norm."""
    X, y, X_test, _, L = random_problem(12, n_train=60, n_features=3)
    knn = CertifiedKNN(k, FixedMetric(L)).fit(X, y)
    X_test = X_test[:8]
    predicted = np.searchsorted(knn.classes_, knn.predict(X_test))
    rays = _ray_targets(knn, X_test, predicted, n_impostors=5)
    expected = [naive_ray_search(knn, z, targets) for z, targets in zip(X_test, rays)]
    # to the last bisection step (2**-30 of a grid step): a point that close to the boundary
    # can be predicted either way as its distances round differently in another batch
    np.testing.assert_allclose(knn_attack(knn, X_test).norms, expected, rtol=1e-9)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_radius_below_exact_1nn_below_attack(seed):
    X, y, X_test, _, L = random_problem(seed, n_train=70, n_features=3)
    knn = CertifiedKNN(1, FixedMetric(L)).fit(X, y)
    radii = knn.certified_radius(X_test)
    exact, examples = minimal_perturbation_1nn(knn, X_test)
    attack = knn_attack(knn, X_test)
    assert np.all(radii <= exact + 1e-9)
    assert np.all(exact <= attack.norms + 1e-9)
    assert np.all(knn.predict(examples) != knn.predict(X_test))
    np.testing.assert_allclose(np.linalg.norm(examples - X_test, axis=1), exact, rtol=1e-4,
                               atol=1e-6)


def test_exact_1nn_two_points_known_answer():
    # one point per class on a line: the boundary is the bisector x = 1, Euclidean
    X = np.array([[0.0, 0.0], [2.0, 0.0]])
    y = np.array([0, 1])
    knn = CertifiedKNN(1).fit(X, y)
    exact, _ = minimal_perturbation_1nn(knn, [[-0.5, 3.0]])
    assert exact[0] == pytest.approx(1.5)
    assert knn.certified_radius([[-0.5, 3.0]])[0] == pytest.approx(1.5)
    # M = diag(1, 0) (only x counts): same bisector, same answer
    knn = CertifiedKNN(1, FixedMetric([[1.0, 0.0]])).fit(X, y)
    assert minimal_perturbation_1nn(knn, [[-0.5, 3.0]])[0][0] == pytest.approx(1.5)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("seed", [0, 2, 5])
def test_capped_radius_is_the_radius_cut_at_the_cap(k, seed, monkeypatch):
    """max_radius stops each search once the radius is proven to reach it: below the cap the
    radii are the same (to rounding: a margin may be computed within another block of
    candidates), above it they are the cap."""
    monkeypatch.setattr(certify, "FIRST_BLOCK", 2)
    monkeypatch.setattr(certify, "CANDIDATE_BLOCK", 4)
    X, y, X_test, y_test, L = random_problem(seed, 200, rank=2 if seed == 2 else None)
    knn = CertifiedKNN(k, FixedMetric(L)).fit(X, y)
    full = knn.certified_radius(X_test, y_test)
    for cap in (0.0, *np.quantile(full[full > 0], [0.2, 0.5, 0.9]), np.inf):
        capped = knn.certified_radius(X_test, y_test, max_radius=cap)
        np.testing.assert_allclose(capped, np.minimum(full, cap), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="max_radius"):
        knn.certified_radius(X_test, max_radius=-1.0)


def test_labels_zero_radius_for_mistakes_and_robust_error():
    X, y, X_test, y_test, L = random_problem(8, n_train=60)
    knn = CertifiedKNN(3, FixedMetric(L)).fit(X, y)
    radii = knn.certified_radius(X_test, y_test)
    wrong = knn.predict(X_test) != y_test
    assert wrong.any() and np.all(radii[wrong] == 0)
    errors = knn.certified_robust_error(X_test, y_test, [0.0, 0.5, np.inf])
    assert errors[0] == pytest.approx(np.mean(radii <= 0))
    assert errors[0] <= errors[1] <= errors[2] == 1.0
    assert errors[0] >= wrong.mean()
    attack = knn_attack(knn, X_test, y_test)
    assert np.all(attack.norms[wrong] == 0)
    assert np.all(attack.robust_error([0.0, 0.5]) <= errors[:2] + 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lmnn_pl_certifies_larger_radii_than_lmnn(seed):
    """The paper's claim, with the defaults otherwise: a margin tau above what plain LMNN
    already gives most triplets (here 0.3 on unit-norm rows; measured +17, +12 and +15 %)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from robustdml.preprocessing import paper_preprocessing
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=seed)
    prep = paper_preprocessing().fit(X_train)
    X_train, X_test = prep.transform(X_train), prep.transform(X_test)
    medians = []
    for weight in (0.0, 10.0):
        knn = CertifiedKNN(3, LMNN(perturbation_weight=weight, perturbation_margin=0.3))
        knn.fit(X_train, y_train)
        medians.append(np.median(knn.certified_radius(X_test, y_test)))
    assert medians[1] > 1.05 * medians[0]


def test_certificate_errors():
    X, y, X_test, _, _ = random_problem(9)
    with pytest.raises(ValueError, match="odd n_neighbors, got 2: an even k"):
        CertifiedKNN(2).fit(X, y)
    with pytest.raises(ValueError, match="n_neighbors=1"):
        minimal_perturbation_1nn(CertifiedKNN(3).fit(X, y), X_test)
    with pytest.raises(ValueError, match="expected"):
        CertifiedKNN(3).fit(X, y).certified_radius(X_test, [0, 1])


def test_noise_error_grows_with_sigma_and_is_seeded():
    X, y, X_test, y_test, _ = random_problem(10, n_train=60)
    knn = CertifiedKNN(3).fit(X, y)
    mean, std = noise_error(knn, X_test, y_test, [0.0, 1.0, 30.0], n_draws=4, random_state=0)
    assert mean[0] == pytest.approx(1 - knn.score(X_test, y_test)) and std[0] == 0
    assert mean[2] > mean[0]
    again, _ = noise_error(knn, X_test, y_test, [0.0, 1.0, 30.0], n_draws=4, random_state=0)
    np.testing.assert_array_equal(mean, again)
    with pytest.raises(ValueError, match="sigmas"):
        noise_error(knn, X_test, y_test, [-1.0])


def test_one_class_is_certified_infinite_with_a_warning():
    X = np.random.default_rng(0).normal(size=(12, 3))
    with pytest.warns(UserWarning, match="one class"):
        knn = CertifiedKNN(3).fit(X, np.zeros(12))
    assert np.all(np.isinf(knn.certified_radius(X)))


# ----------------------- scale invariance and odd data (docs/user_guide/method.md, 2, 6)

SCALES = [1e-8, 1e-6, 1e-3, 1e3, 1e6, 1e7, 1e8]


@pytest.mark.parametrize("scale", [1e-8, 1e-3, 1.0, 1e3, 1e6, 1e8])
def test_least_distance_known_answers_at_every_scale(scale):
    np.testing.assert_allclose(least_distance(np.array([[1.0, 0.0]]), np.array([2.0 * scale])),
                               [2.0 * scale, 0.0], rtol=1e-12)
    # x >= s and y >= s: the corner (s, s); the rows' units do not matter
    np.testing.assert_allclose(least_distance(np.array([[3.0, 0.0], [0.0, 1e-4]]),
                                              np.array([3.0 * scale, 1e-4 * scale])),
                               [scale, scale], rtol=1e-9)
    # x >= s and -x >= 0: infeasible
    assert least_distance(np.array([[1.0], [-1.0]]), np.array([scale, 0.0])) is None
    # 0 >= h > 0 is infeasible, 0 >= 0 holds anywhere
    assert least_distance(np.zeros((1, 2)), np.array([scale])) is None
    np.testing.assert_array_equal(least_distance(np.zeros((1, 2)), np.zeros(1)), [0.0, 0.0])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(SCALES), st.sampled_from([1e-4, 1.0, 1e4]))
def test_exact_1nn_and_radii_scale_with_the_data(seed, scale, metric_scale):
    """Scaling the data by s scales every minimal perturbation and radius by s; scaling the
    metric changes nothing (1e-8 .. 1e8)."""
    X, y, X_test, _, L = random_problem(seed, n_train=40, n_features=3)
    reference = CertifiedKNN(1, FixedMetric(L)).fit(X, y)
    exact, _ = minimal_perturbation_1nn(reference, X_test)
    radii = reference.certified_radius(X_test)
    knn = CertifiedKNN(1, FixedMetric(metric_scale * L)).fit(scale * X, y)
    scaled, examples = minimal_perturbation_1nn(knn, scale * X_test)
    np.testing.assert_allclose(scaled, scale * exact, rtol=1e-6)
    np.testing.assert_allclose(knn.certified_radius(scale * X_test), scale * radii, rtol=1e-6)
    assert np.all(knn.predict(examples) != knn.predict(scale * X_test))
    np.testing.assert_allclose(np.linalg.norm(examples - scale * X_test, axis=1), scaled,
                               rtol=1e-3)


@pytest.mark.parametrize("first", [0, 1])
def test_exact_1nn_with_a_point_under_two_labels(first):
    """(0, 0) is in both classes: it ties with itself everywhere, and 1-NN's tie-break decides
    which label it carries. The answer must follow that decision, with a flipping example."""
    X = np.array([[0.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    y = np.array([first, 1 - first, 1])
    knn = CertifiedKNN(1).fit(X, y)
    z = np.array([[-0.5, 0.3]])
    norm, example = minimal_perturbation_1nn(knn, z)
    if knn.predict(z)[0] == 0:
        # the tie goes to class 0: 1-NN flips only where (2, 0) is nearest, past x = 1
        assert norm[0] == pytest.approx(1.5)
        assert knn.predict(example)[0] == 1
    else:
        # the tie goes to class 1 and (2, 0) is class 1 too: nothing ever flips
        assert norm[0] == np.inf
        np.testing.assert_array_equal(example, z)
    assert knn.certified_radius(z)[0] <= norm[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_1nn_with_duplicates_under_two_labels_is_verified(seed):
    X, y, X_test, _, L = random_problem(seed, n_train=40, n_features=2)
    X, y = np.vstack([X, X[:5]]), np.concatenate([y, (y[:5] + 1) % 3])
    knn = CertifiedKNN(1, FixedMetric(L)).fit(X, y)
    exact, examples = minimal_perturbation_1nn(knn, X_test)
    finite = np.isfinite(exact)
    assert np.all(knn.predict(examples[finite]) != knn.predict(X_test[finite]))
    assert np.all(knn.certified_radius(X_test) <= exact)
    assert np.all(exact <= knn_attack(knn, X_test).norms * (1 + 1e-9))


@pytest.mark.filterwarnings("error")
def test_dataframe_certified_without_feature_name_warnings():
    pandas = pytest.importorskip("pandas")
    X, y = make_blobs(60, n_features=3, centers=2, random_state=0)
    frame = pandas.DataFrame(X, columns=["a", "b", "c"])
    knn = CertifiedKNN(3).fit(frame, y)
    np.testing.assert_allclose(knn.certified_radius(frame, y),
                               CertifiedKNN(3).fit(X, y).certified_radius(X, y))
    assert knn.certified_robust_error(frame, y, [0.0]).shape == (1,)

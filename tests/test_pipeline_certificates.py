"""Certificates, attacks and scores of a Pipeline in the units of its input: radii against
the definition on the raw points, the exact 1-NN minimal perturbation, a search over
directions and the attack; non-affine steps refused; the classifier's space on request."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (FunctionTransformer, MaxAbsScaler, MinMaxScaler, Normalizer,
                                   PolynomialFeatures, StandardScaler)

from robustdml import (LMNN, CertifiedKNN, MahalanobisMixin, adversarial_margin,
                       certified_radius, knn_attack, minimal_perturbation_1nn)
from robustdml.metrics import certified_accuracy_score, data_scale, make_certified_scorer


class FixedMetric(MahalanobisMixin, BaseEstimator):
    """A 'learner' that returns a given L."""

    def __init__(self, components=None):
        self.components = components

    def fit(self, X, y):
        self.components_ = np.asarray(self.components, dtype=float)
        self.n_features_in_ = X.shape[1]
        return self


def raw_problem(seed, n_train=60, n_features=4, n_classes=3):
    """Blobs in raw units far from standardized: offsets of 1e3, spreads from 0.01 to 100."""
    rng = np.random.default_rng(seed)
    X, y = make_blobs(n_samples=n_train + 20, n_features=n_features, centers=n_classes,
                      cluster_std=2.0, random_state=seed)
    X = 1e3 + X * np.logspace(-2, 2, n_features)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], rng


def naive_radius(X_train, y_train, z, predicted, k, M):
    """The certificate's definition with loops, on raw points under the composed metric M."""
    s = (k + 1) // 2
    same = X_train[y_train == predicted]
    t = []
    for b in X_train[y_train != predicted]:
        m = adversarial_margin(np.repeat(z[None], len(same), 0), same,
                               np.repeat(b[None], len(same), 0), M=M)
        t.append(np.sort(m)[::-1][s - 1])
    return np.sort(t)[s - 1]


@pytest.mark.parametrize("k, seed", [(1, 0), (3, 1), (5, 2)])
def test_input_radii_equal_the_definition_on_raw_points(k, seed):
    X, y, X_test, _, rng = raw_problem(seed)
    L = rng.normal(size=(3, 3))
    pipe = make_pipeline(StandardScaler(), PCA(3, whiten=True), CertifiedKNN(k, FixedMetric(L)))
    pipe.fit(X, y)
    scaler, pca = pipe[0], pipe[1]
    # the composed map by hand: standardize, project, whiten, then L
    A = (pca.components_ / np.sqrt(pca.explained_variance_)[:, None]) / scaler.scale_
    LA = L @ A
    radii = certified_radius(pipe, X_test)
    predicted = pipe.predict(X_test)
    expected = [naive_radius(X, y, z, c, k, LA.T @ LA) for z, c in zip(X_test, predicted)]
    np.testing.assert_allclose(radii, expected, rtol=1e-7)
    # the same classifier fitted on the raw points under the metric L A certifies the same
    # (to 1e-5 only: its squared distances, expanded around offsets of 1e3, cancel digits)
    raw = CertifiedKNN(k, FixedMetric(LA)).fit(X, y)
    np.testing.assert_array_equal(raw.predict(X_test), predicted)
    np.testing.assert_allclose(raw.certified_radius(X_test), radii, rtol=1e-5)


def test_lda_step_is_certified_through_its_probed_map():
    X, y, X_test, _, _ = raw_problem(3)
    pipe = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(), CertifiedKNN(3))
    pipe.fit(X, y)
    lda = pipe[1]
    A = lda.scalings_[:, :lda._max_components].T / pipe[0].scale_
    predicted = pipe.predict(X_test)
    expected = [naive_radius(X, y, z, c, 3, A.T @ A) for z, c in zip(X_test, predicted)]
    np.testing.assert_allclose(certified_radius(pipe, X_test), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", [4, 5])
def test_1nn_radius_below_exact_minimal_raw_perturbation(seed):
    X, y, X_test, _, rng = raw_problem(seed, n_features=3)
    L = rng.normal(size=(2, 2))
    pipe = make_pipeline(MinMaxScaler(), PCA(2), CertifiedKNN(1, FixedMetric(L))).fit(X, y)
    A = pipe[1].components_ * pipe[0].scale_
    raw = CertifiedKNN(1, FixedMetric(L @ A)).fit(X, y)
    exact, examples = minimal_perturbation_1nn(raw, X_test)
    radii = certified_radius(pipe, X_test)
    attack = knn_attack(pipe, X_test)
    # in the plane the 1-NN certificate is often the exact value: equal to the solver's
    # tolerance (the least-distance programs converge to about 1e-8)
    assert np.all(radii <= exact * (1 + 1e-7))
    assert np.all(exact <= attack.norms * (1 + 1e-7))
    # the exact examples flip the pipeline itself, on raw inputs
    assert np.all(pipe.predict(examples) != pipe.predict(X_test))


def directions_search(pipe, z, reach, n_directions=720, n_steps=100):
    """The smallest perturbation of z that flips ``pipe`` along each of n_directions in the
    plane (a grid of n_steps lengths up to ``reach``, then bisection): no smarter than that."""
    angles = np.linspace(0, 2 * np.pi, n_directions, endpoint=False)
    units = np.c_[np.cos(angles), np.sin(angles)]
    clean = pipe.predict(z[None])[0]
    lengths = np.linspace(0, reach, n_steps + 1)[1:]
    points = z + lengths[None, :, None] * units[:, None, :]
    flipped = (pipe.predict(points.reshape(-1, 2)) != clean).reshape(n_directions, n_steps)
    hit = flipped.any(axis=1)
    first = np.argmax(flipped[hit], axis=1)
    low, high, units = np.where(first > 0, lengths[first - 1], 0.0), lengths[first], units[hit]
    for _ in range(40):
        middle = 0.5 * (low + high)
        flips = pipe.predict(z + middle[:, None] * units) != clean
        high, low = np.where(flips, middle, high), np.where(flips, low, middle)
    return high.min() if high.size else np.inf


def test_radii_below_a_search_over_directions_in_raw_units():
    X, y = make_blobs(n_samples=70, centers=3, cluster_std=1.5, random_state=8)
    X = X * [0.02, 0.05]  # raw units much smaller than a standard deviation
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN())).fit(X[:60], y[:60])
    queries = X[60:]
    radii = certified_radius(pipe, queries)
    in_classifier = certified_radius(pipe, queries, space="classifier")
    reach = 4 * np.abs(X).max()
    searched = np.array([directions_search(pipe, z, reach=reach) for z in queries])
    assert np.all(radii <= searched * (1 + 1e-9))
    # a grid of 720 directions comes close to the smallest flip on most points
    assert np.median(searched / radii) < 1.5
    # the classifier's radius, read in raw units, would certify perturbations that flip
    assert np.any(in_classifier > searched)


PIPELINES = {
    "standard+pca": lambda: make_pipeline(StandardScaler(), PCA(3), CertifiedKNN(3, LMNN())),
    "minmax": lambda: make_pipeline(MinMaxScaler(), CertifiedKNN(3)),
    "maxabs+lmnn-step": lambda: make_pipeline(MaxAbsScaler(), LMNN(), CertifiedKNN(5)),
    "standard+lda": lambda: make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(),
                                          CertifiedKNN(3)),
    "whiten": lambda: make_pipeline(PCA(4, whiten=True), CertifiedKNN(1, LMNN())),
}


@pytest.mark.parametrize("name", PIPELINES)
def test_attack_never_succeeds_inside_the_radius(name):
    X, y, X_test, y_test, _ = raw_problem(9)
    pipe = PIPELINES[name]().fit(X, y)
    radii = certified_radius(pipe, X_test, y_test)
    attack = knn_attack(pipe, X_test, y_test)
    assert np.all(attack.norms >= radii * (1 - 1e-9))
    hit = attack.success & (attack.norms > 0)
    assert np.all(pipe.predict(attack.examples[hit]) != pipe.predict(X_test[hit]))
    np.testing.assert_allclose(np.linalg.norm(attack.examples[hit] - X_test[hit], axis=1),
                               attack.norms[hit], rtol=1e-9)
    # the attack comes within a small factor of the certificate on most points
    certified = radii > 0
    assert np.median(attack.norms[certified] / radii[certified]) < 3


def test_scores_in_input_units():
    X, y, X_test, y_test, _ = raw_problem(10)
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN())).fit(X, y)
    radii = certified_radius(pipe, X_test, y_test)
    for radius in (0.0, np.median(radii), 2 * np.median(radii)):
        expected = np.mean(radii > radius)
        assert certified_accuracy_score(pipe, X_test, y_test, radius) == pytest.approx(expected)
        assert make_certified_scorer(radius)(pipe, X_test, y_test) == pytest.approx(expected)
    # relative radii in units of the raw training data's scale (StandardScaler is invertible)
    scale = data_scale(X, y)
    assert certified_accuracy_score(pipe, X_test, y_test, 0.3, relative=True) == pytest.approx(
        np.mean(radii > 0.3 * scale))
    # PCA to fewer components: the scale along the directions the classifier sees
    pca = make_pipeline(PCA(2), CertifiedKNN(3)).fit(X, y)
    projected = (X - pca[0].mean_) @ pca[0].components_.T @ pca[0].components_
    assert certified_accuracy_score(pca, X_test, y_test, 0.3, relative=True) == pytest.approx(
        np.mean(certified_radius(pca, X_test, y_test) > 0.3 * data_scale(projected, y)))
    assert "space='input'" in repr(make_certified_scorer(0.1))


def test_grid_search_scores_in_input_units():
    X, y, _, _, _ = raw_problem(11)
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3))
    search = GridSearchCV(pipe, {"certifiedknn__n_neighbors": [1, 3]},
                          scoring=make_certified_scorer(0.5), cv=3).fit(X, y)
    assert 0 <= search.best_score_ <= 1


def test_classifier_space_on_request():
    X, y, X_test, y_test, _ = raw_problem(12)
    pipe = make_pipeline(StandardScaler(), Normalizer(), CertifiedKNN(3)).fit(X, y)
    knn, seen = pipe[-1], pipe[:-1].transform(X_test)
    expected = knn.certified_radius(seen, y_test)
    np.testing.assert_array_equal(
        certified_radius(pipe, X_test, y_test, space="classifier"), expected)
    assert certified_accuracy_score(pipe, X_test, y_test, 0.1, space="classifier") == \
        pytest.approx(np.mean(expected > 0.1))
    attack = knn_attack(pipe, X_test, y_test, space="classifier")
    np.testing.assert_allclose(attack.norms, knn_attack(knn, seen, y_test).norms)
    # a bare CertifiedKNN: both spaces are its own
    for space in ("input", "classifier"):
        np.testing.assert_array_equal(certified_radius(knn, seen, y_test, space=space),
                                      expected)


@pytest.mark.parametrize("step", [Normalizer(), PolynomialFeatures(2),
                                  FunctionTransformer(np.tanh),
                                  MinMaxScaler(clip=True)], ids=repr)
def test_non_affine_steps_are_refused_in_input_units(step):
    X, y, X_test, y_test, _ = raw_problem(13)
    pipe = make_pipeline(StandardScaler(), step, CertifiedKNN(3)).fit(X, y)
    calls = [lambda: certified_radius(pipe, X_test, y_test),
             lambda: knn_attack(pipe, X_test, y_test),
             lambda: certified_accuracy_score(pipe, X_test, y_test, 0.1),
             lambda: make_certified_scorer(0.1)(pipe, X_test, y_test)]
    for call in calls:
        with pytest.raises(ValueError, match="space=\"classifier\"") as error:
            call()
        assert "'" + pipe.steps[1][0] + "'" in str(error.value)  # names the step
    assert certified_radius(pipe, X_test, y_test, space="classifier").shape == (len(X_test),)


def test_bad_arguments():
    X, y, X_test, _, _ = raw_problem(14)
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X, y)
    with pytest.raises(ValueError, match="space must be one of 'input', 'classifier'"):
        certified_radius(pipe, X_test, space="model")
    with pytest.raises(ValueError, match="space must be one of"):
        make_certified_scorer(0.1, space="raw")
    with pytest.raises(TypeError, match="CertifiedKNN or a Pipeline ending in one"):
        certified_radius(make_pipeline(StandardScaler(), PCA(2)).fit(X), X_test)
    with pytest.raises(TypeError, match="dense"):
        certified_radius(pipe, sp.csr_matrix(X_test))


def test_dataframe_inputs():
    pd = pytest.importorskip("pandas")
    X, y, X_test, y_test, _ = raw_problem(15)
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame, test_frame = pd.DataFrame(X, columns=columns), pd.DataFrame(X_test, columns=columns)
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        radii = certified_radius(pipe, test_frame, y_test)
        attack = knn_attack(pipe, test_frame, y_test)
    np.testing.assert_allclose(radii, certified_radius(
        make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X, y), X_test, y_test))
    assert np.all(attack.norms >= radii * (1 - 1e-9))

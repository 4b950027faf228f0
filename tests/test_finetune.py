"""RobustFineTuner: its objective's gradient, its limits, every way of giving the base metric,
model files and errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

import robustdml
from robustdml import NCA, CertifiedKNN, RobustFineTuner


pytestmark = pytest.mark.filterwarnings(
    "ignore:.*classifies the training data worse:UserWarning",
    "ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return make_pipeline(StandardScaler(), Normalizer()).fit_transform(X), y


@pytest.fixture(scope="module")
def nca(wine):
    """scikit-learn's NCA fitted on wine, the base of most tests."""
    return NeighborhoodComponentsAnalysis(random_state=0, max_iter=20).fit(*wine)


def metric(tuner):
    return tuner.get_mahalanobis_matrix()


def test_gradient_of_the_whole_objective_matches_finite_differences(wine, nca):
    X, y = wine
    L0 = nca.components_
    tuner = RobustFineTuner(L0, perturbation_weight=2.0, perturbation_margin=0.3,
                            drift_weight=0.5)
    tuner.fit(X, y)
    objective = tuner._objective(X, y, L0)
    assert len(objective.losses) == 2  # the perturbation loss and the drift penalty
    rng = np.random.default_rng(0)
    L = L0 + 0.05 * rng.standard_normal(L0.shape)
    value, gradient = objective.value_and_gradient_L(L)
    assert value > 0
    step = 1e-6
    for _ in range(20):
        row, column = rng.integers(L.shape[0]), rng.integers(L.shape[1])
        shift = np.zeros_like(L)
        shift[row, column] = step
        numeric = (objective.value_and_gradient_L(L + shift)[0]
                   - objective.value_and_gradient_L(L - shift)[0]) / (2 * step)
        assert numeric == pytest.approx(gradient[row, column], rel=1e-4, abs=1e-7)


def test_the_drift_penalty_keeps_m_within_its_bound(wine, nca):
    X, y = wine
    for weight in (1.0, 4.0):
        tuner = RobustFineTuner(nca.components_, perturbation_weight=weight,
                                perturbation_margin=0.5).fit(X, y)
        M0 = nca.components_.T @ nca.components_
        drift = np.linalg.norm(metric(tuner) - M0) / np.linalg.norm(M0)
        assert 0 < drift <= np.sqrt(weight / tuner.drift_weight)


def test_an_infinite_drift_weight_keeps_the_base_metric(wine, nca):
    tuner = RobustFineTuner(FrozenEstimator(nca), perturbation_margin=0.5,
                            drift_weight=1e9).fit(*wine)
    M0 = nca.components_.T @ nca.components_
    np.testing.assert_allclose(metric(tuner), M0, atol=1e-5 * np.abs(M0).max())


def test_no_perturbation_loss_returns_the_base_metric(wine, nca):
    tuner = RobustFineTuner(FrozenEstimator(nca), perturbation_weight=0.0).fit(*wine)
    # read from scikit-learn's NCA's transform: its map up to rounding
    np.testing.assert_allclose(tuner.components_, nca.components_, rtol=1e-12, atol=1e-14)
    assert tuner.n_iter_ == 0 and tuner.n_triplets_ == 0
    assert tuner.train_accuracy_ == tuner.initial_train_accuracy_


def test_fine_tuning_raises_the_margins(wine, nca):
    X, y = wine
    knn_base = CertifiedKNN(3, FrozenEstimator(nca)).fit(X, y)
    knn = CertifiedKNN(3, RobustFineTuner(FrozenEstimator(nca), perturbation_margin=0.5,
                                          perturbation_weight=4.0)).fit(X, y)
    assert np.median(knn.certified_radius(X, y)) > 1.05 * np.median(
        knn_base.certified_radius(X, y))


def test_every_form_of_the_same_base_gives_the_same_metric(wine, nca):
    X, y = wine
    L = nca.components_
    settings = dict(perturbation_margin=0.5, perturbation_weight=2.0)
    reference = metric(RobustFineTuner(L, **settings).fit(X, y))
    forms = {
        "fitted estimator, frozen": RobustFineTuner(FrozenEstimator(nca), **settings),
        "estimator fitted by fit": RobustFineTuner(
            NeighborhoodComponentsAnalysis(random_state=0, max_iter=20), **settings),
        "M": RobustFineTuner(L.T @ L, base_matrix="M", **settings),
        "list": RobustFineTuner(L.tolist(), **settings),
    }
    fitted = {name: tuner.fit(X, y) for name, tuner in forms.items()}
    # a frozen base stays fitted when the classifier clones the tuner
    fitted["frozen, in CertifiedKNN"] = CertifiedKNN(3, RobustFineTuner(
        FrozenEstimator(nca), **settings)).fit(X, y).metric_learner_
    for name, tuner in fitted.items():
        np.testing.assert_allclose(metric(tuner), reference, rtol=1e-6,
                                   atol=1e-8 * np.abs(reference).max(), err_msg=name)


def test_a_robustdml_learner_as_base(wine):
    X, y = wine
    base = NCA(random_state=0, max_iter=10).fit(X, y)
    tuner = RobustFineTuner(NCA(random_state=0, max_iter=10), perturbation_margin=0.5)
    np.testing.assert_array_equal(tuner.fit(X, y).base_components_, base.components_)


def test_a_rank_deficient_m_gives_one_row_per_positive_eigenvalue(wine):
    X, y = wine
    L = np.random.default_rng(0).standard_normal((3, X.shape[1]))
    tuner = RobustFineTuner(L.T @ L, base_matrix="M", perturbation_weight=0.0).fit(X, y)
    assert tuner.components_.shape == (3, X.shape[1])
    np.testing.assert_allclose(metric(tuner), L.T @ L, atol=1e-10)
    assert tuner.transform(X).shape == (len(X), 3)


def test_save_and_load(wine, nca, tmp_path):
    X, y = wine
    for base in (NCA(random_state=0, max_iter=10), nca.components_,
                 NeighborhoodComponentsAnalysis(random_state=0, max_iter=10)):
        tuner = RobustFineTuner(base, perturbation_margin=0.5).fit(X, y)
        robustdml.save_model(tuner, tmp_path / "tuner.npz")
        loaded = robustdml.load_model(tmp_path / "tuner.npz")
        np.testing.assert_array_equal(loaded.transform(X), tuner.transform(X))
        np.testing.assert_array_equal(loaded.base_components_, tuner.base_components_)
        assert loaded.get_params()["perturbation_margin"] == 0.5


def test_errors_say_what_was_wrong(wine, nca):
    X, y = wine
    p = X.shape[1]
    cases = [
        (RobustFineTuner(np.eye(p + 1)), ValueError, r"shape \(14, 14\); X has 13 features"),
        (RobustFineTuner(np.eye(p)[:2], base_matrix="M"), ValueError, "square"),
        (RobustFineTuner(-np.eye(p), base_matrix="M"), ValueError,
         "not positive semi-definite: its smallest eigenvalue is -1"),
        (RobustFineTuner(np.triu(np.ones((p, p))), base_matrix="M"), ValueError,
         "not symmetric"),
        (RobustFineTuner(np.zeros((2, p))), ValueError, "base metric is zero"),
        (RobustFineTuner(nca, base_matrix="M"), ValueError, "applies to an array base"),
        (RobustFineTuner(KNeighborsClassifier()), TypeError, "exposes no linear map"),
    ]
    for tuner, error, message in cases:
        with pytest.raises(error, match=message):
            tuner.fit(X, y)


def test_pca_and_lda_bases_are_their_linear_maps(wine):
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    X, y = wine
    pca = PCA(n_components=5, whiten=True).fit(X)
    lda = LinearDiscriminantAnalysis().fit(X, y)
    maps = {"PCA": (pca, pca.components_ / np.sqrt(pca.explained_variance_)[:, None]),
            "LDA": (lda, lda.scalings_[:, :2].T)}
    for name, (base, L) in maps.items():
        settings = dict(perturbation_margin=0.5, perturbation_weight=2.0)
        tuned = RobustFineTuner(FrozenEstimator(base), **settings).fit(X, y)
        np.testing.assert_allclose(tuned.base_components_, L, rtol=1e-6, atol=1e-9,
                                   err_msg=name)
        np.testing.assert_allclose(metric(tuned), metric(RobustFineTuner(L, **settings).fit(X, y)),
                                   rtol=1e-5, atol=1e-8, err_msg=name)


def test_a_non_linear_base_is_refused(wine):
    X, y = wine
    with pytest.raises(ValueError, match="Normalizer.*not a linear metric"):
        RobustFineTuner(Normalizer()).fit(X, y)


def test_a_base_files_cannot_hold_is_saved_as_none(wine, tmp_path):
    from sklearn.decomposition import PCA
    X, y = wine
    tuner = RobustFineTuner(FrozenEstimator(PCA(5).fit(X)), perturbation_margin=0.5).fit(X, y)
    with pytest.warns(UserWarning, match=r"RobustFineTuner.base \(FrozenEstimator\).*None"):
        robustdml.save_model(tuner, tmp_path / "tuner.npz")
    loaded = robustdml.load_model(tmp_path / "tuner.npz")
    assert loaded.base is None
    np.testing.assert_array_equal(loaded.transform(X), tuner.transform(X))


def test_init_stores_exactly_the_parameters_get_params_reports():
    """scikit-learn's contract: ``__init__`` stores each parameter as given and nothing else,
    so get_params, clone and set_params see everything that changes a fit; the solver is
    fixed, not a hidden attribute a user could change and clone would drop."""
    tuner = RobustFineTuner(NCA(), drift_weight=0.3, max_iter=7)
    params = tuner.get_params(deep=False)
    assert sorted(vars(tuner)) == sorted(params)
    assert not hasattr(tuner, "init") and not hasattr(tuner, "n_components")
    assert tuner.solver == "lbfgs"
    with pytest.raises(AttributeError, match="always runs L-BFGS"):
        tuner.solver = "pgd"
    with pytest.raises(ValueError, match="Invalid parameter 'solver'"):
        tuner.set_params(solver="pgd")
    cloned = clone(tuner)
    assert sorted(vars(cloned)) == sorted(params)
    assert cloned.get_params(deep=False)["drift_weight"] == 0.3

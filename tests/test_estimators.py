"""The scikit-learn contract, the metric-learn surface, the solvers and the k-NN tie rule."""

import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from robustdml import ARML, LMNN, NCA, CertifiedKNN, KNNClassifier, TripletLMNN
from robustdml.math import (LMNNLoss, PerturbationLoss, TripletGeometry, TripletObjective,
                            build_triplets)
from robustdml.math.optimize import psd_factor

#: Why TripletLMNN fails the checks that fit it: every one of them passes X of shape
#: (n_samples, n_features), which a learner of triplets refuses.
NOT_TRIPLETS = ("the check fits 2-D X of shape (n_samples, n_features); TripletLMNN fits "
                "triplets of shape (n_triplets, 3, n_features) and refuses X with a "
                "ValueError saying so")

#: The checks TripletLMNN fails, each for the reason above (measured with scikit-learn 1.9:
#: every other check passes).
TRIPLET_CHECKS = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
    "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_n_iter", "check_transformer_preserve_dtypes",
]


def expected_failed_checks(estimator):
    """scikit-learn's checks that do not apply to ``estimator``, with why."""
    if isinstance(estimator, TripletLMNN):
        return dict.fromkeys(TRIPLET_CHECKS, NOT_TRIPLETS)
    return {}


@parametrize_with_checks([
    LMNN(),
    LMNN(solver="pgd", perturbation_weight=1.0, max_iter=60),
    LMNN(perturbation_weight=1.0, n_components=1),
    NCA(),
    # "pca": on check_transformer_n_iter's two far blobs the "auto" start, LDA's direction, is
    # already optimal, so the fit rightly runs 0 iterations, where that check asks for 1
    NCA(perturbation_weight=1.0, n_components=1, init="pca"),
    ARML(max_rounds=2),
    TripletLMNN(),
    KNNClassifier(),
    KNNClassifier(metric_learner=LMNN(perturbation_weight=1.0)),
    CertifiedKNN(),
    CertifiedKNN(metric_learner=LMNN(perturbation_weight=1.0)),
], expected_failed_checks=expected_failed_checks)
def test_scikit_learn_contract(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_metric_learn_surface(iris):
    X, y = iris
    model = LMNN(perturbation_weight=1.0, perturbation_margin=0.2).fit(X, y)
    L = model.components_
    assert L.shape == (4, 4)
    M = model.get_mahalanobis_matrix()
    np.testing.assert_allclose(M, L.T @ L)
    np.testing.assert_allclose(model.transform(X), X @ L.T)
    pairs = np.stack([X[:10], X[10:20]], axis=1)
    expected = np.sqrt(np.einsum("ij,jk,ik->i", X[:10] - X[10:20], M, X[:10] - X[10:20]))
    np.testing.assert_allclose(model.pair_distance(pairs), expected)
    np.testing.assert_allclose(model.pair_score(pairs), -expected)
    metric = model.get_metric()
    assert metric(X[0], X[10]) == pytest.approx(expected[0])
    with pytest.raises(ValueError, match="shape"):
        model.pair_distance(X[:10])


@pytest.mark.parametrize("seed", [0, 1])
def test_pipeline_gridsearch_clone(iris, seed):
    """GridSearchCV's scores are those of the pipeline fitted by hand on the same folds: the
    estimator is cloned, refitted per fold and sees only the transformed training part."""
    X, y = iris
    folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(X, y))
    pipe = make_pipeline(StandardScaler(), KNNClassifier(3, LMNN()))
    grid = [0.0, 1.0]
    search = GridSearchCV(pipe, {"knnclassifier__metric_learner__perturbation_weight": grid},
                          cv=folds).fit(X, y)
    for weight, score in zip(grid, search.cv_results_["mean_test_score"]):
        by_hand = [make_pipeline(StandardScaler(), KNNClassifier(3, LMNN(perturbation_weight=weight)))
                   .fit(X[train], y[train]).score(X[test], y[test]) for train, test in folds]
        assert score == pytest.approx(np.mean(by_hand))
    assert search.best_score_ > 0.9
    cloned = clone(LMNN(perturbation_weight=2.0))
    assert cloned.get_params()["perturbation_weight"] == 2.0
    assert not hasattr(cloned, "components_")


def test_memory_learns_each_metric_once_across_a_search_over_k(iris, tmp_path, lmnn_fits):
    """With ``memory``, a grid over n_neighbors fits the metric once per fold (and once for
    the refit) instead of once per (k, fold), and the cached fit predicts as a fresh one."""
    X, y = iris
    fits = lmnn_fits
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    cached = KNNClassifier(metric_learner=LMNN(), memory=str(tmp_path))
    search = GridSearchCV(cached, {"n_neighbors": [1, 3, 5]}, cv=folds).fit(X, y)
    assert len(fits) == len(folds) + 1
    fits.clear()
    fresh = GridSearchCV(KNNClassifier(metric_learner=LMNN()), {"n_neighbors": [1, 3, 5]},
                         cv=folds).fit(X, y)
    assert len(fits) == 3 * len(folds) + 1
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  fresh.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(search.best_estimator_.metric_learner_.components_,
                                  fresh.best_estimator_.metric_learner_.components_)
    fits.clear()  # another learner setting is another entry
    KNNClassifier(metric_learner=LMNN(pull_weight=0.3), memory=str(tmp_path)).fit(X, y)
    assert len(fits) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lmnn_improves_knn_on_noisy_features(seed):
    """3 informative features among 20: LMNN must weigh them more than the noise (measured:
    at least 3.4x on average over the diagonal of M) and cut the Euclidean error."""
    X, y = make_classification(n_samples=300, n_features=20, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, class_sep=2.0, shuffle=False,
                               random_state=seed)
    rows = np.random.default_rng(seed).permutation(len(y))  # informative columns stay first
    X, y = StandardScaler().fit_transform(X[rows]), y[rows]
    train, test = slice(0, 200), slice(200, 300)
    euclidean_error = 1 - KNNClassifier(3).fit(X[train], y[train]).score(X[test], y[test])
    for solver in ("lbfgs", "pgd"):
        for impostors in ("nearest", "fixed", "active"):
            lmnn = KNNClassifier(3, LMNN(solver=solver, impostors=impostors, max_iter=300))
            lmnn.fit(X[train], y[train])
            weights = np.diag(lmnn.metric_learner_.get_mahalanobis_matrix())
            assert weights[:3].mean() > 2.5 * weights[3:].mean(), (solver, impostors)
            error = 1 - lmnn.score(X[test], y[test])
            assert error <= 0.7 * euclidean_error, (solver, impostors)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perturbation_loss_enlarges_margins(seed):
    """On a random stratified two thirds of iris, standardized."""
    X, y = load_iris(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=100, stratify=y, random_state=seed)
    X = StandardScaler().fit_transform(X)
    triplets = build_triplets(X, y, 3, 10)
    medians = []
    for weight in (0.0, 50.0):
        L = LMNN(perturbation_weight=weight, perturbation_margin=0.5, impostors="fixed",
                 drift_weight=0.0, pull_weight=0.5).fit(X, y).components_
        medians.append(np.median(TripletGeometry(X, triplets, L).margin()))
    assert medians[1] > 1.2 * medians[0]


@pytest.mark.parametrize("impostors", ["nearest", "active", "fixed"])
def test_perturbation_loss_enlarges_margins_in_every_mode(iris, impostors):
    """With the default drift_weight too (measured: +9 % in the nearest mode)."""
    X, y = iris
    triplets = build_triplets(X, y, 3, 10)
    medians = []
    for weight in (0.0, 50.0):
        L = LMNN(perturbation_weight=weight, perturbation_margin=0.5,
                 impostors=impostors).fit(X, y).components_
        medians.append(np.median(TripletGeometry(X, triplets, L).margin()))
    assert medians[1] > 1.05 * medians[0]


def test_solvers_reach_similar_objective(iris):
    X, y = iris
    params = dict(pull_weight=0.4, perturbation_weight=2.0, perturbation_margin=0.3,
                  impostors="fixed", drift_weight=0.0)
    pgd = LMNN(solver="pgd", **params).fit(X, y)
    fast = LMNN(solver="lbfgs", smoothing=0.0, **params).fit(X, y)
    objective = TripletObjective(X, build_triplets(X, y, 3, 10),
                                 [LMNNLoss(0.4), PerturbationLoss(2.0, 0.3)])
    f_pgd = objective.value_and_gradient_M(pgd.components_)[0]
    f_fast = objective.value_and_gradient_M(fast.components_)[0]
    assert f_pgd == pytest.approx(pgd.objective_[-1])
    assert f_fast < 1.05 * f_pgd


def test_pgd_follows_the_reference_rules(iris):
    X, y = iris
    model = LMNN(solver="pgd", pull_weight=0.5, impostors="fixed", drift_weight=0.0).fit(X, y)
    values = model.objective_
    assert len(values) == model.n_iter_ + 1
    # f_1 is the objective at M = I
    objective = TripletObjective(X, build_triplets(X, y, 3, 10), [LMNNLoss(0.5)])
    assert values[0] == pytest.approx(objective.value_and_gradient_M(np.eye(4))[0])
    # stopped by the rule: at least 50 values and the last 5 changes below eta * f_t
    assert len(values) >= 50
    assert np.max(np.abs(np.diff(values[-6:]))) < 1e-7 * values[-1]
    assert np.max(np.abs(np.diff(values[-7:-1]))) >= 1e-7 * values[-2] or len(values) == 50


def naive_leave_one_out(Z, y, k):
    """Leave-one-out k-NN accuracy by a loop: majority vote, ties to the nearest tied class."""
    hits = 0
    for i in range(len(Z)):
        distances = np.linalg.norm(Z - Z[i], axis=1)
        distances[i] = np.inf
        labels = y[np.argsort(distances, kind="stable")[:k]]
        counts = {label: np.sum(labels == label) for label in labels}
        best = max(counts.values())
        hits += next(label for label in labels if counts[label] == best) == y[i]
    return hits / len(Z)


@pytest.mark.parametrize("seed", range(3))
def test_training_accuracy_before_and_after(seed):
    X, y = make_classification(n_samples=120, n_features=6, n_informative=3, n_classes=3,
                               n_clusters_per_class=1, random_state=seed)
    model = LMNN().fit(X, y)
    assert model.initial_train_accuracy_ == pytest.approx(naive_leave_one_out(X, y, 3))
    assert model.train_accuracy_ == pytest.approx(naive_leave_one_out(model.transform(X), y, 3))
    assert model.train_accuracy_ >= model.initial_train_accuracy_


def test_a_metric_worse_than_its_start_is_reported():
    """A high pull weight with fixed impostors can shrink the metric until other points crowd
    in (leave-one-out 0.79 -> 0.70 here);
    the estimator says so instead of returning it silently."""
    X, y = make_classification(n_samples=300, n_features=10, n_informative=4, n_classes=3,
                               n_clusters_per_class=2, random_state=0)
    X = StandardScaler().fit_transform(X)
    with pytest.warns(UserWarning, match="worse than the starting one"):
        model = LMNN(impostors="fixed", pull_weight=0.9, drift_weight=0.0).fit(X, y)
    assert model.train_accuracy_ < model.initial_train_accuracy_ - LMNN.WORSE_THAN_START


@pytest.mark.parametrize("impostors", ["nearest", "active"])
def test_followed_impostors_with_reduction_and_pgd(iris, impostors):
    X, y = iris
    reduced = LMNN(impostors=impostors, n_components=2, random_state=0).fit(X, y)
    assert reduced.components_.shape == (2, 4)
    assert reduced.train_accuracy_ > 0.9
    pgd = LMNN(impostors=impostors, solver="pgd", max_iter=100).fit(X, y)
    assert np.all(np.isfinite(pgd.components_)) and pgd.train_accuracy_ > 0.9


def test_sampled_impostors_warn_and_still_fit():
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3, n_classes=2,
                               random_state=0)
    with pytest.warns(UserWarning, match="max_triplets=500"):
        model = LMNN(impostors="active", max_triplets=500).fit(X, y)
    assert np.all(np.isfinite(model.components_))
    assert model.n_triplets_ <= 500


def test_verbose_prints_progress_and_the_summary(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(LMNN, "PROGRESS_SECONDS", 0.0)
    out = io.StringIO()
    with redirect_stdout(out):
        model = LMNN(verbose=1).fit(X, y)
    lines = out.getvalue().splitlines()
    assert sum(line.split()[1:2] == [str(i)] for line in lines
               for i in range(1, model.n_iter_ + 1)) == model.n_iter_
    assert "training leave-one-out 3-NN accuracy" in lines[-1]


def test_psd_projection():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    M, L = psd_factor(A + A.T)
    eigenvalues = np.linalg.eigvalsh(M)
    assert eigenvalues.min() > -1e-10
    np.testing.assert_allclose(L.T @ L, M, atol=1e-10)
    w, V = np.linalg.eigh(A + A.T)
    np.testing.assert_allclose(M, (V * np.maximum(w, 0)) @ V.T, atol=1e-10)


def test_convergence_warning_and_progress(iris):
    X, y = iris
    seen = []
    out = io.StringIO()
    with redirect_stdout(out), pytest.warns(ConvergenceWarning, match="max_iter=3"):
        LMNN(solver="pgd", max_iter=3, verbose=2,
             callback=lambda L, n_iter: seen.append((L.shape, n_iter))).fit(X, y)
    assert seen == [((4, 4), 1), ((4, 4), 2), ((4, 4), 3)]
    text = out.getvalue()
    assert "Iteration" in text and "not converged" in text


def test_dimension_reduction(iris):
    X, y = iris
    model = LMNN(n_components=2, random_state=0).fit(X, y)
    assert model.components_.shape == (2, 4)
    assert model.transform(X).shape == (150, 2)
    assert list(model.get_feature_names_out()) == ["lmnn0", "lmnn1"]
    assert KNNClassifier(3, model).fit(X, y).score(X, y) > 0.9
    with pytest.raises(ValueError, match="n_components=5"):
        LMNN(n_components=5).fit(X, y)
    full = LMNN(solver="pgd", impostors="fixed").fit(X, y)
    reduced = LMNN(n_components=2, solver="pgd", impostors="fixed").fit(X, y)
    np.testing.assert_allclose(reduced.components_, full.components_[:2])
    assert np.all(np.diff(np.linalg.norm(full.components_, axis=1)) <= 1e-12)
    with pytest.raises(ValueError, match="init has shape"):
        LMNN(init=np.eye(3)).fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"pull_weight": 1.5}, "pull_weight"),
    ({"perturbation_weight": -1.0}, "perturbation_weight"),
    ({"perturbation_margin": 0.0}, "perturbation_margin"),
    ({"solver": "sgd"}, "solver"),
    ({"n_neighbors": 0}, "n_neighbors"),
])
def test_invalid_parameters(iris, params, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        LMNN(**params).fit(X, y)


def test_one_class_is_a_clear_error():
    with pytest.raises(ValueError, match="at least two classes"):
        LMNN().fit(np.random.default_rng(0).normal(size=(10, 2)), np.zeros(10))


def test_knn_tie_goes_to_nearest_neighbor():
    # three classes at distances 1, 2, 3 from the query: a 1-1-1 tie, nearest is class 7
    X = np.array([[1.0], [-2.0], [3.0]])
    y = np.array([7, 5, 9])
    knn = KNNClassifier(3).fit(X, y)
    assert knn.predict([[0.0]])[0] == 7
    np.testing.assert_allclose(knn.predict_proba([[0.0]]), [[1 / 3, 1 / 3, 1 / 3]], atol=1e-8)
    assert knn.classes_[np.argmax(knn.predict_proba([[0.0]]))] == 7
    # a 2-2-1 tie with k = 5: the nearest of the tied classes wins, not the nearest point
    X = np.array([[1.0], [2.0], [-3.0], [4.0], [-5.0]])
    y = np.array([0, 1, 2, 1, 2])
    assert KNNClassifier(5).fit(X, y).predict([[0.0]])[0] == 1


def test_knn_majority_and_errors():
    X = np.array([[0.0], [0.1], [0.2], [5.0]])
    y = np.array(["a", "a", "b", "b"])
    knn = KNNClassifier(3).fit(X, y)
    assert list(knn.predict([[0.05], [4.0]])) == ["a", "b"]
    with pytest.raises(ValueError, match="n_neighbors=5"):
        KNNClassifier(5).fit(X, y)


@pytest.mark.filterwarnings("error")
def test_lmnn_pl_stopped_by_an_impostor_swap_converges_without_warning():
    """On this split L-BFGS-B's line search failed where two impostors of a point tie as the
    10th nearest (the perturbation loss jumps as they trade places); a restart gains nothing
    there, so the fit has converged: no ConvergenceWarning, the same metric as before."""
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=3,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    lmnn = LMNN(perturbation_weight=10, perturbation_margin=0.3).fit(X_train, y_train)
    # where the failed line search stopped (before the restart, with a warning): 0.1265422836
    assert lmnn.objective_[-1] == pytest.approx(0.1265422836, rel=1e-7)
    knn = KNeighborsClassifier(3).fit(lmnn.transform(X_train), y_train)
    assert knn.score(lmnn.transform(X_test), y_test) == pytest.approx(53 / 54)

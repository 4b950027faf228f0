"""Robustness scorers: their values against the certifier and noise_error, and scikit-learn's
scorer protocol in GridSearchCV and cross_val_score."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from robustdml import LMNN, CertifiedKNN, KNNClassifier, noise_error
from robustdml.metrics import (certified_accuracy_score, data_scale, make_certified_scorer,
                               make_noise_scorer, noise_accuracy_score)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order], y[order]


@pytest.mark.parametrize("radius", [0.0, 0.3, 1.0])
def test_certified_accuracy_is_one_minus_certified_error(wine, radius):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN())).fit(X[:120], y[:120])
    knn, X_test = pipe[-1], pipe[:-1].transform(X[120:])
    expected = 1 - knn.certified_robust_error(X_test, y[120:], [radius])[0]
    assert certified_accuracy_score(pipe, X[120:], y[120:], radius,
                                    space="classifier") == pytest.approx(expected)
    # directly on the classifier, in its own input space
    assert certified_accuracy_score(knn, X_test, y[120:], radius) == pytest.approx(expected)
    assert make_certified_scorer(radius, space="classifier")(
        pipe, X[120:], y[120:]) == pytest.approx(expected)


def test_relative_radius_is_in_units_of_the_fitted_data_scale(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN())).fit(X[:120], y[:120])
    scale = data_scale(pipe[:-1].transform(X[:120]), y[:120])
    for fraction in (0.1, 0.4):
        assert (certified_accuracy_score(pipe, X[120:], y[120:], fraction, relative=True,
                                         space="classifier")
                == certified_accuracy_score(pipe, X[120:], y[120:], fraction * scale,
                                            space="classifier"))
    # the same fraction asks the same of a classifier fitted on a sparser sample: the radius
    # grows with the distances between its training points
    sparse = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN())).fit(X[:30], y[:30])
    sparse_scale = data_scale(sparse[:-1].transform(X[:30]), y[:30])
    assert sparse_scale > scale
    scorer = make_certified_scorer(0.2, relative=True, space="classifier")
    assert scorer(sparse, X[120:], y[120:]) == certified_accuracy_score(
        sparse, X[120:], y[120:], 0.2 * sparse_scale, space="classifier")
    assert "relative=True" in repr(scorer)


def test_scores_fall_with_the_radius_and_the_noise(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X[:120], y[:120])
    certified = [certified_accuracy_score(pipe, X[120:], y[120:], r) for r in (0, 0.5, 2, 50)]
    assert certified == sorted(certified, reverse=True) and certified[-1] == 0.0
    assert certified[0] <= pipe.score(X[120:], y[120:])
    noisy = noise_accuracy_score(pipe, X[120:], y[120:], sigma=50.0, n_draws=3)
    assert noisy < pipe.score(X[120:], y[120:])
    assert noisy == pytest.approx(1 - noise_error(pipe, X[120:], y[120:], [50.0], 3, 0)[0][0])
    assert make_noise_scorer(50.0, n_draws=3)(pipe, X[120:], y[120:]) == noisy


def test_scorers_in_grid_search_and_cross_validation(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN()))
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    scorer = make_certified_scorer(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(pipe, {"certifiedknn__metric_learner__perturbation_weight":
                                     [0.0, 10.0]}, scoring={"certified": scorer,
                                                            "accuracy": "accuracy",
                                                            "noise": make_noise_scorer(0.5)},
                              refit="certified", cv=folds).fit(X, y)
        by_hand = [scorer(make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN()))
                          .fit(X[train], y[train]), X[test], y[test]) for train, test in folds]
        scores = cross_val_score(pipe, X, y, scoring=scorer, cv=folds)
    np.testing.assert_allclose(scores, by_hand)
    assert search.cv_results_["mean_test_certified"][0] == pytest.approx(np.mean(by_hand))
    assert set(search.cv_results_) >= {"mean_test_accuracy", "mean_test_noise"}
    assert search.best_score_ == max(search.cv_results_["mean_test_certified"])


def test_scorer_errors(wine):
    X, y = wine
    with pytest.raises(TypeError, match="CertifiedKNN"):
        certified_accuracy_score(KNNClassifier(3).fit(X, y), X, y, 0.1)
    with pytest.raises(ValueError, match="radius"):
        make_certified_scorer(-1.0)
    with pytest.raises(ValueError, match="sigma"):
        make_noise_scorer(float("nan"))
    assert "radius=0.1" in repr(make_certified_scorer(0.1))


def test_a_label_unseen_at_fit_counts_as_wrong_as_in_scikit_learn(wine):
    """A class missing from the training data (a cross-validation fold's) scores as a wrong
    prediction with radius 0, with a warning, as scikit-learn's accuracy scorer counts it."""
    X, y = wine
    two = y[:120] < 2
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X[:120][two], y[:120][two])
    X_test, y_test = X[120:], y[120:]
    seen = y_test < 2
    assert 0 < seen.sum() < len(y_test)
    accuracy = get_scorer("accuracy")(pipe, X_test, y_test)
    with pytest.warns(UserWarning, match=r"\d+ point\(s\) with labels the classifier was not "
                                         r"fitted on: 2 \(it knows 0, 1\)\. They count as wrong"):
        assert make_certified_scorer(0.0)(pipe, X_test, y_test) == pytest.approx(accuracy)
    with pytest.warns(UserWarning, match="not fitted on: 2"):
        assert make_noise_scorer(0.0)(pipe, X_test, y_test) == pytest.approx(accuracy)
    # at a radius, the seen points' certificates, over all the points
    radii = pipe[-1].certified_radius(pipe[:-1].transform(X_test[seen]), y_test[seen])
    with pytest.warns(UserWarning, match="not fitted on: 2"):
        score = certified_accuracy_score(pipe, X_test, y_test, 0.2, space="classifier")
    assert score == pytest.approx(np.sum(radii > 0.2) / len(y_test))
    assert 0 < score < accuracy
    with pytest.warns(UserWarning, match="not fitted on: 2"):
        noisy = noise_accuracy_score(pipe, X_test, y_test, 0.5, random_state=3)
    error = noise_error(pipe, X_test[seen], y_test[seen], [0.5], random_state=3)[0][0]
    assert noisy == pytest.approx((1 - error) * seen.mean())
    # folds of sorted labels: every test fold holds a class its training part lacks
    order = np.argsort(y, kind="stable")
    folds = KFold(3)
    expected = cross_val_score(CertifiedKNN(3), X[order], y[order], cv=folds)
    with pytest.warns(UserWarning, match="not fitted on"):
        for scorer in (make_certified_scorer(0.0), make_noise_scorer(0.0)):
            scores = cross_val_score(CertifiedKNN(3), X[order], y[order], cv=folds,
                                     scoring=scorer, error_score="raise")
            np.testing.assert_allclose(scores, expected)


def test_data_scale_of_a_known_toy():
    # class 0 at x = 0, 1, 2; class 1 at x = 5, 7: nearest other-class distances 5, 4, 3, 3, 5
    X = np.array([[0.0], [1.0], [2.0], [5.0], [7.0]])
    y = np.array([0, 0, 0, 1, 1])
    assert data_scale(X, y) == 4.0
    assert data_scale(3 * X, y) == 12.0  # a length: scales with the data
    assert data_scale(X, np.array(["a", "a", "a", "b", "b"])) == 4.0
    with pytest.raises(ValueError, match="two classes"):
        data_scale(X, np.zeros(5))
    with pytest.raises(ValueError):
        data_scale(X[:, :0], y)

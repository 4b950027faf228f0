"""TripletLMNN: a toy whose answer is known, scikit-learn's model selection on triplets, the
loss against the labeled LMNN's on the same triplets, and input errors."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

from robustdml import TripletLMNN
from robustdml.math import LMNNLoss, PerturbationLoss, TripletObjective, TripletSet


def truth_triplets(n, seed, n_noise=3):
    """Triplets ordered by the first feature only: the true metric is diag(1, 0, ..., 0)."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 3, 1 + n_noise))
    closer = (np.abs(points[:, 0, 0] - points[:, 1, 0])
              < np.abs(points[:, 0, 0] - points[:, 2, 0]))
    return np.where(closer[:, None, None], points, points[:, [0, 2, 1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_the_true_metric(seed):
    train, test = truth_triplets(400, seed), truth_triplets(400, seed + 100)
    model = TripletLMNN().fit(train)
    M = model.get_mahalanobis_matrix()
    # the informative feature dominates the noise features
    assert M[0, 0] > 10 * np.abs(M[1:, 1:]).max()
    euclidean = np.mean(np.sum((test[:, 0] - test[:, 2]) ** 2, axis=1)
                        > np.sum((test[:, 0] - test[:, 1]) ** 2, axis=1))
    assert model.score(test) > 0.95 > euclidean + 0.1


def test_objective_is_lmnn_on_the_given_triplets():
    triplets = truth_triplets(50, 3)
    model = TripletLMNN(drift_weight=0.0, perturbation_weight=2.0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(triplets)
    # the same objective written with one row per point occurrence (no deduplication)
    X = triplets.reshape(-1, triplets.shape[2])
    index = np.arange(len(X)).reshape(-1, 3)
    naive = TripletObjective(X, TripletSet.from_indices(index[:, 0], index[:, 1], index[:, 2]),
                             [LMNNLoss(0.25), PerturbationLoss(2.0, 0.1)], smoothing=0.5)
    assert model.objective_[-1] == pytest.approx(
        naive.value_and_gradient_L(model.components_)[0], rel=1e-10)


def test_predict_decision_and_score_agree():
    triplets = truth_triplets(200, 4)
    model = TripletLMNN().fit(triplets)
    decision = model.decision_function(triplets)
    embedded = model.transform(triplets.reshape(-1, triplets.shape[2])).reshape(
        len(triplets), 3, -1)
    expected = (np.sum((embedded[:, 0] - embedded[:, 2]) ** 2, axis=1)
                - np.sum((embedded[:, 0] - embedded[:, 1]) ** 2, axis=1))
    np.testing.assert_allclose(decision, expected)
    np.testing.assert_array_equal(model.predict(triplets), np.where(decision > 0, 1, -1))
    assert model.score(triplets) == np.mean(decision > 0)
    # swapping closer and farther flips every decision
    np.testing.assert_allclose(model.decision_function(triplets[:, [0, 2, 1]]), -decision)


def test_model_selection_on_triplets():
    triplets = truth_triplets(300, 5)
    scores = cross_val_score(TripletLMNN(), triplets, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    search = GridSearchCV(TripletLMNN(), {"perturbation_weight": [0.0, 1.0]}, cv=3)
    search.fit(triplets)
    assert search.best_score_ > 0.9
    cloned = clone(TripletLMNN(pull_weight=0.4))
    assert cloned.get_params()["pull_weight"] == 0.4 and not hasattr(cloned, "components_")


def test_bad_triplets_are_clear_errors():
    with pytest.raises(ValueError, match=r"\(n_triplets, 3, n_features\)"):
        TripletLMNN().fit(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match="NaN|infinity"):
        TripletLMNN().fit(np.full((5, 3, 2), np.nan))
    model = TripletLMNN().fit(truth_triplets(50, 6))
    with pytest.raises(ValueError, match="features"):
        model.decision_function(np.zeros((4, 3, 9)))
    with pytest.raises(ValueError, match="labels"):
        TripletLMNN(init="lda").fit(truth_triplets(50, 6))
    with pytest.raises(ValueError, match="pull_weight"):
        TripletLMNN(pull_weight=2.0).fit(truth_triplets(50, 6))

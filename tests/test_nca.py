"""NCA and NCA-PL: the objective against a naive loop and scikit-learn's, gradients against finite
differences, blockwise evaluation, and the fit against scikit-learn's NeighborhoodComponentsAnalysis."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.preprocessing import StandardScaler

from robustdml import ARML, LMNN, NCA, CertifiedKNN, KNNClassifier
from robustdml.math import (NCALoss, PerturbationLoss, TripletObjective, TripletSet,
                            build_triplets)
from robustdml.math import nca as nca_module
from test_losses import finite_difference


def naive_nca(X, y, L):
    """sum_i p_i with loops, p_ij = exp(-d_ij) / sum_{k != i} exp(-d_ik)."""
    embedded = X @ L.T
    total = 0.0
    for i in range(len(X)):
        weights = np.array([np.exp(-np.sum((embedded[i] - embedded[j]) ** 2)) if j != i else 0.0
                            for j in range(len(X))])
        total += weights[y == y[i]].sum() / weights.sum()
    return total


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(25, 4))
    y = rng.integers(0, 3, size=25)
    return X, y, rng.normal(size=(3, 4)) * 0.6


def nca_objective(X, y):
    return TripletObjective(X, TripletSet.from_indices([], [], [], len(X)), [NCALoss(y)])


def test_objective_matches_naive_loop(problem):
    X, y, L = problem
    value, _ = nca_objective(X, y).value_and_gradient_L(L)
    assert value == pytest.approx(-naive_nca(X, y, L) / len(X), rel=1e-12)


def test_objective_and_gradient_match_scikit_learn(problem):
    X, y, L = problem
    reference = NeighborhoodComponentsAnalysis()
    if not hasattr(reference, "_loss_grad_lbfgs"):
        pytest.skip("this scikit-learn has no NeighborhoodComponentsAnalysis._loss_grad_lbfgs")
    reference.n_iter_ = 0
    sk_value, sk_gradient = reference._loss_grad_lbfgs(L.ravel(), X, y[:, None] == y[None, :],
                                                       1.0)
    value, gradient = nca_objective(X, y).value_and_gradient_L(L)
    assert value == pytest.approx(-sk_value / len(X), rel=1e-12)
    np.testing.assert_allclose(gradient.ravel(), -sk_gradient / len(X), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("lam", [0.0, 2.0])
def test_gradient_matches_finite_differences(problem, lam):
    X, y, L = problem
    triplets = build_triplets(X, y, 2, 3)
    objective = TripletObjective(X, triplets, [NCALoss(y)]
                                 + ([PerturbationLoss(lam, 0.8)] if lam else []))
    _, gradient = objective.value_and_gradient_L(L)
    numeric = finite_difference(lambda A: objective.value_and_gradient_L(A)[0], L)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_blocks_give_the_same_answer(problem, monkeypatch):
    X, y, L = problem
    whole = nca_objective(X, y).value_and_gradient_M(L)
    monkeypatch.setattr(nca_module, "PAIR_BLOCK", 3 * len(X))  # 3 rows per block
    blocked = nca_objective(X, y).value_and_gradient_M(L)
    assert blocked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-10, atol=1e-14)


def test_two_far_clusters_are_already_solved():
    # each point's same-class neighbor is 1 away, the other class 100 away: p_i = 1
    X = np.array([[0.0, 0.0], [1.0, 0.0], [100.0, 0.0], [101.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    value, gradient = nca_objective(X, y).value_and_gradient_M(np.eye(2))
    assert value == pytest.approx(-1.0)
    assert np.abs(gradient).max() < 1e-12


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_matches_scikit_learn_nca(loader):
    """Same start (identity), same objective: 3-NN test accuracy equal within noise over 10
    splits (measured on iris over 20 splits: 0.8822 vs 0.8833)."""
    X, y = loader(return_X_y=True)
    ours, theirs = [], []
    for train, test in StratifiedShuffleSplit(10, test_size=0.3, random_state=0).split(X, y):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for learner, scores in ((NCA(), ours),
                                    (NeighborhoodComponentsAnalysis(init="identity"), theirs)):
                knn = KNNClassifier(3, learner).fit(X_train, y[train])
                scores.append(knn.score(X_test, y[test]))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01


def test_perturbation_loss_enlarges_certified_radii():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    medians = []
    for weight in (0.0, 10.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knn = CertifiedKNN(3, NCA(perturbation_weight=weight, perturbation_margin=0.3,
                                      max_iter=100)).fit(X, y)
        medians.append(np.median(knn.certified_radius(X, y)))
        assert (knn.metric_learner_.n_triplets_ > 0) == (weight > 0)
    assert medians[1] > 1.05 * medians[0]


def test_auto_start_is_scikit_learn_s_for_nca_only():
    """NCA's "auto" takes LDA's directions when n_components <= n_classes - 1, as scikit-learn's
    NCA does; LMNN and ARML keep PCA there, and pgd keeps the reference's M = I."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    lda = NCA(n_components=2, init="lda")._initial_components(X, y)
    np.testing.assert_allclose(NCA(n_components=2)._initial_components(X, y), lda)
    pca = LMNN(n_components=2, init="pca", random_state=0)._initial_components(X, y)
    assert not np.allclose(np.abs(pca), np.abs(lda))
    for learner in (LMNN(n_components=2, random_state=0), ARML(n_components=2, random_state=0)):
        np.testing.assert_allclose(learner._initial_components(X, y), pca)
    np.testing.assert_allclose(NCA(n_components=2, solver="pgd")._initial_components(X, y),
                               np.eye(4))


def test_warm_start_continues_from_the_last_fit():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NCA(warm_start=True, max_iter=3).fit(X, y)
        accuracy, objective = model.train_accuracy_, model.objective_[-1]
        # n_components and init are ignored when continuing, as in scikit-learn
        model.set_params(max_iter=1, n_components=2, init="random",
                         callback=lambda L, n_iter: seen.append((L.shape, n_iter)))
        model.fit(X, y)
        cold = NCA(max_iter=1, n_components=2, init="random", random_state=0).fit(X, y)
    assert model.components_.shape == (4, 4)
    assert model.initial_train_accuracy_ == accuracy
    assert model.objective_[-1] <= objective < cold.objective_[-1]
    assert seen == [((16,), 1)]  # flattened, as scikit-learn's NCA passes it
    with pytest.raises(ValueError, match="take 4 features; X has 3.*warm_start=False"):
        model.fit(X[:, :3], y)
    assert cold.components_.shape == (2, 4)

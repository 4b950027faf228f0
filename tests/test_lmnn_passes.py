"""LMNN's multiple passes: targets chosen again under the learned metric between passes."""

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

import robustdml
from robustdml import LMNN
from robustdml.datasets.generated import clustered_classes
from robustdml.math import ActiveTriplets, LMNNLoss, TripletObjective, build_triplets


@pytest.fixture(scope="module")
def noisy():
    """Targets by Euclidean distance are mostly wrong: 4 informative features among 16 noisy
    ones; a learned metric that weights the noise down chooses others."""
    X, y = clustered_classes(240, n_classes=3, n_informative=4, n_noise=16, separation=1.5,
                             random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("impostors", ["fixed", "nearest"])
def test_one_pass_is_the_single_minimization(noisy, impostors):
    """n_passes=1 (the default) builds the objective and minimizes it once, as before."""
    X, y = noisy
    learner = LMNN(impostors=impostors, n_passes=1).fit(X, y)
    assert learner.pull_weight_ == 0.25 and learner.drift_weight_ == 0.1  # "auto", small data
    losses = [LMNNLoss(learner.pull_weight_)]
    L0 = np.eye(X.shape[1])
    if impostors == "fixed":
        triplets = build_triplets(X, y, 3, 10)
    else:
        triplets = ActiveTriplets(X, y, 3, 10, losses, nearest_only=True)
        L0 = L0 * triplets.best_scale(L0, learner.pull_weight_, 10)
    objective = TripletObjective(X, triplets, losses, smoothing=learner.smoothing)
    objective.add_drift_penalty(learner.drift_weight_, L0)
    expected = LMNN(impostors=impostors)._minimize(objective, L0, len(X))
    np.testing.assert_array_equal(learner.components_, expected.components)
    assert learner.n_iter_ == expected.n_iter and learner.n_passes_ == 1
    np.testing.assert_array_equal(learner.n_iter_per_pass_, [expected.n_iter])
    assert np.isnan(learner.targets_changed_per_pass_[0])


@pytest.mark.parametrize("impostors", ["fixed", "nearest", "active"])
def test_passes_choose_targets_anew_and_keep_the_leave_one_out_accuracy(noisy, impostors):
    X, y = noisy
    one = LMNN(impostors=impostors).fit(X, y)
    three = LMNN(impostors=impostors, n_passes=3).fit(X, y)
    assert 2 <= three.n_passes_ <= 3
    assert three.targets_changed_per_pass_[1] > 0.1  # the noise chose many targets
    assert three.n_iter_ == three.n_iter_per_pass_.sum()
    assert three.n_iter_per_pass_[0] == one.n_iter_
    assert len(three.objective_) == three.n_iter_
    assert three.train_accuracy_ >= one.train_accuracy_


def test_second_pass_targets_are_the_nearest_under_the_first_metric(noisy):
    """A pass's targets are each point's 3 nearest same-class points under the metric of the
    pass before (brute force here)."""
    X, y = noisy
    first = LMNN(impostors="fixed").fit(X, y)
    Z = X @ first.components_.T
    active = ActiveTriplets(X, y, 3, 10, [LMNNLoss()], target_space=Z)
    for anchor in range(0, len(X), 17):
        same = np.flatnonzero((y == y[anchor]) & (np.arange(len(X)) != anchor))
        nearest = same[np.argsort(np.sum((Z[same] - Z[anchor]) ** 2, axis=1))[:3]]
        found = active.pull_pairs[active.pull_pairs[:, 0] == anchor, 1]
        assert set(found) == set(nearest)


def test_passes_stop_when_the_triplets_stop_changing():
    """Well separated classes: the learned metric keeps every target and impostor."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + [20.0, 0.0]])
    y = np.repeat([0, 1], 20)
    learner = LMNN(impostors="fixed", n_passes=5, n_impostors=2).fit(X, y)
    assert learner.n_passes_ < 5


def test_later_passes_stop_at_the_first_pass_decrease():
    """L-BFGS's tol is relative to the starting value: a later pass starting ten times lower
    gets a ten times larger tol, the same absolute decrease; pgd's test is relative to the
    current value and keeps tol."""
    assert LMNN(tol=1e-6)._pass_tol(4.0, 0.4) == pytest.approx(1e-5)
    assert LMNN(impostors="fixed")._pass_tol(2.0, 2.0) == LMNN.DEFAULT_TOL["lbfgs"]
    assert LMNN(solver="pgd", tol=1e-6)._pass_tol(4.0, 0.4) == 1e-6


def test_later_passes_cost_no_more_than_the_first(noisy):
    """The slowdown the passes had with one tol for all: passes after the first run fewer
    iterations than it, not hundreds more."""
    X, y = noisy
    learner = LMNN(impostors="fixed", pull_weight=0.1, drift_weight=0.0, n_passes=3,
                   max_iter=1000).fit(X, y)
    assert learner.n_iter_per_pass_[1:].max() <= 2 * learner.n_iter_per_pass_[0]


def test_pass_record_is_saved(noisy, tmp_path):
    X, y = noisy
    learner = LMNN(impostors="fixed", n_passes=2).fit(X, y)
    robustdml.save_model(learner, tmp_path / "lmnn.npz")
    restored = robustdml.load_model(tmp_path / "lmnn.npz")
    assert restored.n_passes == 2 and restored.n_passes_ == learner.n_passes_
    for name in ("n_iter_per_pass_", "seconds_per_pass_", "targets_changed_per_pass_"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(learner, name))
    np.testing.assert_array_equal(restored.transform(X), learner.transform(X))


@pytest.mark.parametrize("name, value", [("n_passes", 0), ("n_passes", 1.5), ("n_passes", "2"),
                                         ("impostors", "all"), ("pull_weight", "big"),
                                         ("pull_weight", 1.5), ("drift_weight", -1.0),
                                         ("neighbor_search", "fast")])
def test_new_parameters_are_validated(noisy, name, value):
    X, y = noisy
    with pytest.raises(ValueError, match=name):
        LMNN(**{name: value}).fit(X, y)


def test_auto_stands_for_the_small_data_defaults_below_large_data(noisy):
    """Below LARGE_DATA points "auto" is exactly the former defaults; from it on, the values
    chosen at scale."""
    X, y = noisy
    auto = LMNN().fit(X, y)
    former = LMNN(impostors="nearest", pull_weight=0.25, drift_weight=0.1, n_passes=1)
    np.testing.assert_array_equal(auto.components_, former.fit(X, y).components_)
    assert (auto.impostors_, auto.n_passes_) == ("nearest", 1)
    names = ("impostors", "pull_weight", "drift_weight", "n_passes")
    for n_samples, column in ((LMNN.LARGE_DATA - 1, 0), (LMNN.LARGE_DATA, 1)):
        learner = LMNN()
        n_passes = learner._resolve_auto(n_samples)
        assert (learner.impostors_, learner.pull_weight_, learner.drift_weight_,
                n_passes) == tuple(LMNN.AUTO[name][column] for name in names)
    given = LMNN(impostors="active", pull_weight=0.5, drift_weight=1.0, n_passes=3)
    assert given._resolve_auto(LMNN.LARGE_DATA) == 3
    assert (given.impostors_, given.pull_weight_, given.drift_weight_) == ("active", 0.5, 1.0)


def test_approximate_search_reports_its_recall(noisy):
    """Without an index library the approximate search is exact: the same triplets and a
    recall of 1; with one, the recall is measured against exact search."""
    X, y = noisy
    exact = LMNN(impostors="fixed", n_passes=2, neighbor_search="exact").fit(X, y)
    approximate = LMNN(impostors="fixed", n_passes=2, neighbor_search="approximate").fit(X, y)
    assert exact.neighbor_search_ == "exact" and exact.neighbor_recall_ == 1.0
    assert approximate.neighbor_search_ == "approximate"
    assert 0.8 <= approximate.neighbor_recall_ <= 1.0
    if approximate.neighbor_recall_ == 1.0:
        np.testing.assert_array_equal(approximate.components_, exact.components_)
    with pytest.raises(ValueError, match="impostors='fixed'"):
        LMNN(impostors="nearest", neighbor_search="approximate").fit(X, y)


@pytest.mark.parametrize("rows", [None, np.arange(0, 240, 7)])
def test_pass_scores_read_from_the_triplets_equal_a_search(noisy, rows):
    """The k nearest of each point are among its k targets and k nearest impostors: the
    accuracy read from exact fixed triplets is the leave-one-out accuracy (no ties here)."""
    from robustdml.estimators.lmnn import _TrainingScore
    from robustdml.math import leave_one_out_accuracy
    X, y = noisy
    codes = np.unique(y, return_inverse=True)[1]
    score = _TrainingScore(X, y, 3, rows)
    for L in (np.eye(X.shape[1]), np.random.RandomState(0).normal(size=(5, X.shape[1]))):
        Z = X @ L.T
        triplets = build_triplets(Z, y, 3, 10)
        assert score._from_triplets(Z, triplets) is not None
        assert score(L, triplets) == leave_one_out_accuracy(Z, codes, 3, rows=rows)
        assert score(L) == leave_one_out_accuracy(Z, codes, 3, rows=rows)
    # another k than the triplets': a search
    assert _TrainingScore(X, y, 2, rows)._from_triplets(X, build_triplets(X, y, 3, 10)) is None


def test_sampled_fit_reports_the_accuracies_of_its_searches(noisy, monkeypatch):
    """Above TRAINING_ACCURACY_SAMPLE the passes are scored on that sample, from their triplet
    searches, and the training accuracies are the scores of the start and the kept pass."""
    from robustdml.math import leave_one_out_accuracy
    X, y = noisy
    monkeypatch.setattr(LMNN, "TRAINING_ACCURACY_SAMPLE", 100)
    rows = np.sort(np.random.RandomState(0).choice(len(X), 100, replace=False))
    seen = {}
    learner = LMNN(impostors="fixed", n_passes=3,
                   callback=lambda L, n_iter: seen.__setitem__(n_iter, L.copy())).fit(X, y)
    ends = np.cumsum(learner.n_iter_per_pass_)
    metrics = [np.eye(X.shape[1])] + [seen[int(end)] for end in ends]
    expected = [leave_one_out_accuracy(X @ L.T, y, 3, rows=rows) for L in metrics]
    np.testing.assert_array_equal(learner.train_accuracy_per_pass_, expected)
    assert learner.initial_train_accuracy_ == expected[0]
    assert learner.train_accuracy_ == expected[learner.best_pass_]
    assert learner.train_accuracy_ == leave_one_out_accuracy(learner.transform(X), y, 3,
                                                             rows=rows)


def test_the_metric_kept_is_the_last_of_the_best_passes(noisy):
    X, y = noisy
    seen = {}
    learner = LMNN(impostors="fixed", n_passes=3,
                   callback=lambda L, n_iter: seen.__setitem__(n_iter, L.copy())).fit(X, y)
    scores = learner.train_accuracy_per_pass_
    assert scores.shape == (learner.n_passes_ + 1,)
    best = learner.best_pass_
    assert scores[best] == scores.max() and np.all(scores[best + 1:] < scores.max())
    kept = (np.eye(X.shape[1]) if best == 0
            else seen[int(np.sum(learner.n_iter_per_pass_[:best]))])
    np.testing.assert_array_equal(learner.components_, kept)
    single = LMNN(impostors="fixed").fit(X, y)
    assert single.train_accuracy_per_pass_ is None and single.best_pass_ == 1


def test_the_deprecated_regularisation_still_sets_the_drift_weight(noisy):
    X, y = noisy
    with pytest.warns(FutureWarning, match="drift_weight"):
        learner = LMNN(impostors="fixed", regularisation=0.0).fit(X, y)
    assert learner.drift_weight_ == 0.0

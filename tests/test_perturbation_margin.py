"""perturbation_margin="auto": a fixed fraction of the training data's scale, checked against
naive loops; the scale functions against brute force."""

import numpy as np
import pytest
from sklearn.base import clone

import robustdml
from robustdml import ARML, LMNN, NCA, RobustFineTuner, TripletLMNN
from robustdml.math import build_triplets, data_scale, triplet_scale


def naive_scale(X, y):
    """Median over the points of the distance to the nearest point of another class."""
    nearest = [min(np.linalg.norm(X[i] - X[j]) for j in range(len(y)) if y[j] != y[i])
               for i in range(len(y))]
    return float(np.median(nearest))


def naive_triplet_scale(triplets):
    """Median over the distinct anchors of the distance to their nearest farther point."""
    nearest = {}
    for anchor, _, farther in triplets:
        key = tuple(anchor)
        nearest[key] = min(nearest.get(key, np.inf), np.linalg.norm(anchor - farther))
    return float(np.median(list(nearest.values())))


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (20, 3)), rng.normal(1.5, 1, (20, 3)),
                   rng.normal(-1.5, 1, (15, 3))])
    return X, np.repeat([0, 1, 2], [20, 20, 15])


def test_data_scale_matches_brute_force(toy):
    X, y = toy
    assert data_scale(X, y) == pytest.approx(naive_scale(X, y), rel=1e-12)
    # an even number of points: the median averages the two middle distances
    assert data_scale(X[:54], y[:54]) == pytest.approx(naive_scale(X[:54], y[:54]), rel=1e-12)
    rng = np.random.default_rng(1)
    wide = rng.normal(size=(60, 40))  # brute-force search instead of a tree
    labels = rng.integers(0, 4, 60)
    assert data_scale(wide, labels) == pytest.approx(naive_scale(wide, labels), rel=1e-12)


def test_data_scale_subsamples_above_max_points_with_a_fixed_seed(toy):
    X, y = toy
    distances = np.array([min(np.linalg.norm(X[i] - X[j]) for j in range(len(y))
                              if y[j] != y[i]) for i in range(len(y))])
    sampled = data_scale(X, y, max_points=20)
    assert sampled == data_scale(X, y, max_points=20)  # the same sample every call
    # the median of 20 of the distances: the mean of two of them, inside their range
    middles = {(a + b) / 2 for a in distances for b in distances}
    assert min(abs(sampled - m) for m in middles) < 1e-12
    assert np.quantile(distances, 0.1) <= sampled <= np.quantile(distances, 0.9)
    assert data_scale(X, y, max_points=len(y)) == pytest.approx(naive_scale(X, y), rel=1e-12)


def test_triplet_scale_matches_brute_force_and_data_scale(toy):
    X, y = toy
    triplets = build_triplets(X, y, n_neighbors=2, n_impostors=3)
    points = X[np.stack([triplets.anchors, triplets.targets, triplets.impostors], axis=1)]
    assert triplet_scale(points) == pytest.approx(naive_triplet_scale(points), rel=1e-12)
    # every point anchors triplets whose impostors include its nearest other-class point
    assert triplet_scale(points) == pytest.approx(data_scale(X, y), rel=1e-12)


@pytest.mark.parametrize("learner", [LMNN(perturbation_weight=1.0),
                                     NCA(perturbation_weight=1.0, max_iter=10),
                                     ARML(perturbation_weight=1.0, max_rounds=1, max_iter=10),
                                     RobustFineTuner(np.eye(3), max_iter=10)],
                         ids=lambda learner: type(learner).__name__)
def test_auto_is_the_stated_fraction_of_the_scale(toy, learner):
    X, y = toy
    assert learner.perturbation_margin == "auto"
    expected = learner.AUTO_MARGIN_FRACTION * naive_scale(X, y)
    fitted = clone(learner).fit(X, y)
    assert fitted.perturbation_margin_ == pytest.approx(expected, rel=1e-12)
    assert fitted.perturbation_margin == "auto"  # the parameter itself is left as given
    assert fitted.perturbation_losses()[0].margin == fitted.perturbation_margin_
    # the fit is the fit with that margin given as a float
    given = clone(learner).set_params(perturbation_margin=fitted.perturbation_margin_)
    np.testing.assert_allclose(given.fit(X, y).components_, fitted.components_, rtol=1e-10)


def test_auto_of_triplet_lmnn_is_the_fraction_of_the_triplet_scale(toy):
    X, y = toy
    triplets = build_triplets(X, y, n_neighbors=1, n_impostors=2)
    points = X[np.stack([triplets.anchors, triplets.targets, triplets.impostors], axis=1)]
    fitted = TripletLMNN(perturbation_weight=1.0, max_iter=30).fit(points)
    assert fitted.perturbation_margin_ == pytest.approx(
        TripletLMNN.AUTO_MARGIN_FRACTION * naive_triplet_scale(points), rel=1e-12)


def test_auto_is_set_without_the_loss_and_scales_with_the_data(toy):
    X, y = toy
    plain = LMNN().fit(X, y)  # perturbation_weight=0: the margin is still reported
    assert plain.perturbation_margin_ == pytest.approx(
        LMNN.AUTO_MARGIN_FRACTION * naive_scale(X, y), rel=1e-12)
    assert LMNN().fit(10 * X, y).perturbation_margin_ == pytest.approx(
        10 * plain.perturbation_margin_, rel=1e-12)


def test_a_float_margin_is_used_unchanged(toy):
    X, y = toy
    learner = LMNN(perturbation_weight=1.0, perturbation_margin=0.37).fit(X, y)
    assert learner.perturbation_margin_ == 0.37
    assert learner.get_params()["perturbation_margin"] == 0.37
    assert learner.perturbation_losses()[0].margin == 0.37
    # before any fit a float margin is usable as it is
    assert LMNN(perturbation_weight=1.0, perturbation_margin=0.2).perturbation_losses()[
        0].margin == 0.2


def test_the_fitted_margin_is_saved_and_loaded(toy, tmp_path):
    X, y = toy
    for learner in (LMNN(perturbation_weight=1.0), LMNN(perturbation_margin=0.25)):
        learner.fit(X, y)
        robustdml.save_model(learner, tmp_path / "model.npz")
        loaded = robustdml.load_model(tmp_path / "model.npz")
        assert loaded.perturbation_margin_ == learner.perturbation_margin_
        assert loaded.perturbation_margin == learner.perturbation_margin
        np.testing.assert_array_equal(loaded.transform(X), learner.transform(X))


@pytest.mark.parametrize("value", ["big", "AUTO", -0.1, 0.0, None, np.inf * 0])
def test_invalid_margins_are_refused_with_what_to_give(toy, value):
    X, y = toy
    with pytest.raises(ValueError, match=r"perturbation_margin.*(float|auto)"):
        LMNN(perturbation_weight=1.0, perturbation_margin=value).fit(X, y)


def test_auto_before_fit_and_on_a_zero_scale_say_what_to_do(toy):
    with pytest.raises(ValueError, match="call fit first, or give perturbation_margin"):
        LMNN(perturbation_weight=1.0).perturbation_losses()
    X, y = toy
    # every point doubled with the other label: each point's nearest other-class point is
    # its own copy, at distance 0
    X2, y2 = np.vstack([X, X]), np.concatenate([y, (y + 1) % 3])
    with pytest.warns(UserWarning, match="scale, which is 0 here.*as a float"):
        robust = LMNN(perturbation_weight=1.0).fit(X2, y2)
    # a zero margin asks nothing: the loss is left out, as with perturbation_weight=0
    assert robust.perturbation_margin_ == 0.0 and robust.perturbation_losses() == []
    np.testing.assert_allclose(robust.components_, LMNN().fit(X2, y2).components_, rtol=1e-10)

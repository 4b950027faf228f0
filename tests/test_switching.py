"""Typical metric-learn LMNN code, run against robustdml: what works unchanged, and that what
the README lists as different fails with a clear error rather than silently."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from robustdml import LMNN, NCA, TripletLMNN


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("init", ["auto", "identity", "pca", "lda", "random"])
def test_metric_learn_usage_runs_unchanged(iris, init):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        lmnn = LMNN(n_neighbors=3, n_components=2, init=init, max_iter=200, random_state=0,
                    verbose=0).fit(X, y)
    L = lmnn.components_
    assert L.shape == (2, 4)
    np.testing.assert_allclose(lmnn.transform(X), X @ L.T)
    M = lmnn.get_mahalanobis_matrix()
    np.testing.assert_allclose(M, L.T @ L)
    metric = lmnn.get_metric()
    u, v = X[0], X[60]
    assert metric(u, v) == pytest.approx(np.sqrt((u - v) @ M @ (u - v)))
    assert metric(u, v, squared=True) == pytest.approx((u - v) @ M @ (u - v))
    pairs = np.stack([X[:5], X[60:65]], axis=1)
    distances = lmnn.pair_distance(pairs)
    np.testing.assert_allclose(lmnn.pair_score(pairs), -distances)
    with pytest.warns(FutureWarning, match="pair_distance"):
        np.testing.assert_allclose(lmnn.score_pairs(pairs), distances)
    knn = KNeighborsClassifier(n_neighbors=3, metric=metric).fit(X, y)
    assert knn.score(X, y) > 0.9


def test_lda_start_is_discriminant(iris):
    X, y = iris
    lmnn = LMNN(init="lda", n_components=3, max_iter=1)
    L0 = lmnn._initial_components(X, y)
    assert L0.shape == (3, 4)
    # two LDA directions for three classes, then a principal direction
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    lda = LinearDiscriminantAnalysis(n_components=2).fit(X, y)
    np.testing.assert_allclose(L0[:2], lda.scalings_[:, :2].T)


@pytest.mark.parametrize("name, value, advice", [
    ("k", 3, r"n_neighbors=3"),
    ("learn_rate", 1e-7, r"no step size"),
    ("regularization", 0.5, r"pull_weight=.*0\.09091 \(n_impostors=10\).*impostors='active'"),
    ("convergence_tol", 1e-3, r"tol=0\.001"),
    ("min_iter", 50, r"no minimum"),
    ("preprocessor", None, r"Pipeline"),
])
def test_metric_learn_names_we_do_not_take_fail_clearly(name, value, advice):
    """The error names the robustdml argument to use, as the README's table does."""
    with pytest.raises(TypeError, match=f"metric-learn's argument.*{name}=.*{advice}"):
        LMNN(**{name: value})


def test_metric_learn_advice_uses_the_arguments_given():
    with pytest.raises(TypeError, match=r"k=5: pass n_neighbors=5.*0\.04762 \(n_impostors=20\)"):
        LMNN(k=5, regularization=0.5, n_impostors=20)


@pytest.mark.parametrize("learner, advice", [(NCA, "Pipeline"), (TripletLMNN, "as points")])
def test_other_learners_explain_preprocessor(learner, advice):
    with pytest.raises(TypeError, match=f"preprocessor=None: .*{advice}"):
        learner(preprocessor=None)


def test_unknown_arguments_still_fail_as_python_says():
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_neighbours'"):
        LMNN(n_neighbours=3)


@pytest.mark.parametrize("learner", [LMNN, NCA, TripletLMNN])
def test_documented_signature_is_the_constructors(learner):
    """The metric-learn check defines __new__(*args, **kwargs); Sphinx would show that as the
    class's signature unless the class carries its constructor's."""
    import inspect

    documented = learner.__signature__
    assert list(documented.parameters) == list(inspect.signature(learner.__init__).parameters)[1:]
    assert not any(p.kind is p.VAR_KEYWORD for p in documented.parameters.values())

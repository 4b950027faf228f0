"""The affine map of a fitted transformer: exact where it is affine, refused where it is not."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (FunctionTransformer, MaxAbsScaler, MinMaxScaler, Normalizer,
                                   PolynomialFeatures, QuantileTransformer, StandardScaler)

from robustdml import LMNN, NCA
from robustdml.estimators._affine import affine_map, compose


@pytest.fixture(scope="module")
def data():
    X, y = load_wine(return_X_y=True)
    # fresh points, beyond the training range too, on which no map was checked
    rng = np.random.default_rng(1)
    fresh = X.mean(axis=0) + 3 * X.std(axis=0) * rng.standard_normal((40, X.shape[1]))
    return X, y, fresh


def assert_affine(transformer, fresh, rtol=1e-10, **kwargs):
    A, b = affine_map(transformer, fresh.shape[1], **kwargs)
    expected = transformer.transform(fresh)
    assert A.shape == (expected.shape[1], fresh.shape[1]) and b.shape == (expected.shape[1],)
    size = np.abs(fresh) @ np.abs(A).T + np.abs(b)
    assert np.all(np.abs(fresh @ A.T + b - expected) <= rtol * size)
    return A, b


@pytest.mark.parametrize("transformer", [
    StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False),
    StandardScaler(with_mean=False, with_std=False), MinMaxScaler(),
    MinMaxScaler(feature_range=(-2, 3)), MaxAbsScaler(), PCA(5), PCA(5, whiten=True),
    PCA(whiten=True), TruncatedSVD(4, random_state=0),
    FunctionTransformer(), FunctionTransformer(lambda X: 2.0 * X - 1.0),
], ids=repr)
def test_affine_transformers_are_read_exactly(data, transformer):
    X, y, fresh = data
    assert_affine(transformer.fit(X, y), fresh)
    assert_affine(transformer, fresh, X=X)


@pytest.mark.parametrize("solver", ["svd", "eigen"])
def test_lda_is_probed_exactly(data, solver):
    X, y, fresh = data
    lda = LinearDiscriminantAnalysis(solver=solver).fit(X, y)
    assert_affine(lda, fresh, X=X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("learner", [LMNN(max_iter=5), NCA(max_iter=5)], ids=repr)
def test_our_learners_are_linear(data, learner):
    X, y, fresh = data
    X = StandardScaler().fit_transform(X)
    learner.fit(X, y)
    A, b = assert_affine(learner, fresh, X=X)
    np.testing.assert_array_equal(A, learner.components_)
    assert not b.any()


def test_offsets_far_from_the_origin_are_exact():
    # a mean of 1e6 and a spread of 1e-3: probing at the origin would lose the linear part
    rng = np.random.default_rng(0)
    X = 1e6 + 1e-3 * rng.standard_normal((50, 3))
    double = FunctionTransformer(lambda Z: (Z - 1e6) @ np.array([[2.0, 0, 1], [0, 1, 0]]).T)
    A, b = affine_map(double, 3, X=X)
    np.testing.assert_allclose(A, [[2.0, 0, 1], [0, 1, 0]], rtol=1e-6)
    # X @ A.T + b cancels terms of 1e9 here; differences, all a certificate needs, do not
    scaler = StandardScaler().fit(X)
    A, b = affine_map(scaler, 3, X=X)
    np.testing.assert_allclose((X - X[0]) @ A.T, scaler.transform(X) - scaler.transform(X[:1]),
                               rtol=1e-8, atol=1e-8)


def test_compose_matches_the_pipeline(data):
    X, y, fresh = data
    steps = make_pipeline(StandardScaler(), PCA(6, whiten=True),
                          LinearDiscriminantAnalysis(), MinMaxScaler()).fit(X, y)
    A, b = compose(steps, X.shape[1], X=X)
    np.testing.assert_allclose(fresh @ A.T + b, steps.transform(fresh), rtol=1e-9, atol=1e-9)
    A_list, b_list = compose([step for _, step in steps.steps], X.shape[1])
    np.testing.assert_allclose(A_list, A, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b_list, b, rtol=1e-9, atol=1e-12)
    assert np.array_equal(compose([], 3)[0], np.eye(3))


def test_column_transformer_and_feature_names_are_probed(data):
    pd = pytest.importorskip("pandas")
    X, y, fresh = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    columns = ColumnTransformer([("scaled", StandardScaler(), ["f0", "f1"]),
                                 ("kept", "passthrough", ["f2"])]).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        A, b = affine_map(columns, X.shape[1], X=X)
    np.testing.assert_allclose(X @ A.T + b, columns.transform(frame), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("transformer, why", [
    (Normalizer(), "not affine"),
    (FunctionTransformer(np.log), "not affine"),
    (FunctionTransformer(np.tanh), "not affine"),
    (PolynomialFeatures(2), "not affine"),
    (QuantileTransformer(n_quantiles=50), "not affine"),
    (MinMaxScaler(clip=True), "clip=True"),
], ids=repr)
def test_non_affine_steps_are_refused(data, transformer, why):
    X, y, _ = data
    transformer.fit(X, y)
    with pytest.raises(ValueError, match=why) as error:
        affine_map(transformer, X.shape[1], X=X, name="prep")
    assert "space=\"classifier\"" in str(error.value)  # says what to do
    with pytest.raises(ValueError, match="not affine|clip|finite"):
        compose(make_pipeline(StandardScaler(), transformer).fit(X, y), X.shape[1], X=X)


def test_normalizer_is_refused_without_data():
    X = np.random.default_rng(0).standard_normal((20, 4))
    with pytest.raises(ValueError, match="Normalizer.*not affine"):
        affine_map(Normalizer().fit(X), 4)


def test_bad_inputs_are_refused(data):
    X, y, _ = data
    scaler = StandardScaler().fit(X)
    with pytest.raises(TypeError, match="dense"):
        affine_map(scaler, X.shape[1], X=sp.csr_matrix(X))
    with pytest.raises(TypeError, match="dense"):
        compose([scaler], X.shape[1], X=sp.csr_matrix(X))
    with pytest.raises(ValueError, match="takes 13 features, but 4"):
        affine_map(scaler, 4)
    with pytest.raises(NotFittedError):
        affine_map(StandardScaler(), 4)
    identity = affine_map("passthrough", 3)
    assert np.array_equal(identity[0], np.eye(3)) and not identity[1].any()

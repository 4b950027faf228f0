"""A newcomer's mistakes get errors that say what was wrong and what to do, not silent
nonsense: labels the classifier never saw, a pipeline given to save, a file that is no model
file, an even k for certification."""

import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import robustdml
from robustdml import CertifiedKNN, KNNClassifier, ModelFileError, knn_attack, noise_error
from robustdml.metrics import (certified_accuracy_score, make_certified_scorer,
                               make_noise_scorer, noise_accuracy_score)

NAMES = np.array(["setosa", "versicolor", "virginica"])


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def by_name(iris):
    """A classifier fitted on the class names, and the integer codes a user might pass."""
    X, y = iris
    return CertifiedKNN(3).fit(X, NAMES[y]), X, y


def unknown_labels(knn, X, y):
    """Every entry point that compares y with predictions, as (name, call)."""
    return [
        ("certified_radius", lambda: knn.certified_radius(X, y)),
        ("certified_robust_error", lambda: knn.certified_robust_error(X, y, [0.0])),
        ("knn_attack", lambda: knn_attack(knn, X[::50], y[::50])),
        ("noise_error", lambda: noise_error(knn, X, y, [0.1])),
        ("certified_accuracy_score", lambda: certified_accuracy_score(knn, X, y, 0.1)),
        ("noise_accuracy_score", lambda: noise_accuracy_score(knn, X, y, 0.1)),
        ("certified scorer", lambda: make_certified_scorer(0.1)(knn, X, y)),
        ("noise scorer", lambda: make_noise_scorer(0.1)(knn, X, y)),
        ("pipeline", lambda: make_certified_scorer(0.1)(
            make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X, knn.classes_[y]), X, y)),
    ]


@pytest.mark.parametrize("position", range(9))
def test_integer_codes_for_a_model_fitted_on_names_are_refused(by_name, position):
    knn, X, y = by_name
    name, call = unknown_labels(knn, X, y)[position]
    with pytest.raises(ValueError, match=r"not fitted on: 0, 1, 2; it knows the classes "
                                         r"'setosa', 'versicolor', 'virginica'\. Pass") as raised:
        call()
    assert "same encoding" in str(raised.value), name


def test_labels_the_model_never_saw_are_refused(iris):
    X, y = iris
    knn = CertifiedKNN(3).fit(X, y)
    with pytest.raises(ValueError, match=r"not fitted on: 5, 6, 7; it knows the classes 0, 1, 2"):
        knn.certified_radius(X, y + 5)
    many = np.arange(len(X))  # only a few of each are listed
    with pytest.raises(ValueError, match=r"3, 4, 5, 6, 7, \.\.\. \(147 in all\)"):
        knn.certified_robust_error(X, many, [0.1])
    pipe = make_pipeline(StandardScaler(), KNNClassifier(3)).fit(X, y)
    with pytest.raises(ValueError, match="not fitted on: 5, 6, 7"):
        noise_error(pipe, X, y + 5, [0.1])


def test_known_labels_still_score(by_name):
    knn, X, y = by_name
    radii = knn.certified_radius(X, NAMES[y])
    assert np.mean(radii > 0) > 0.9
    assert knn.certified_robust_error(X, NAMES[y], [0.0])[0] < 0.1
    # a subset of the classes is fine: it is not an unknown label
    assert knn.certified_radius(X[:50], NAMES[y[:50]]).shape == (50,)


def test_saving_a_pipeline_says_to_save_its_last_step(iris, tmp_path):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X, y)
    with pytest.raises(TypeError, match="Cannot save a Pipeline") as raised:
        robustdml.save_model(pipe, tmp_path / "pipe.npz")
    message = str(raised.value)
    for advice in ("never pickle", "pipeline[-1]", "robustdml.save_model", "joblib", "skops"):
        assert advice in message
    robustdml.save_model(pipe[-1], tmp_path / "knn.npz")  # what the message says to do works
    np.testing.assert_array_equal(robustdml.load_model(tmp_path / "knn.npz").predict(X),
                                  pipe[-1].predict(X))


def test_a_file_that_is_no_model_file_says_what_it_holds(tmp_path):
    text = tmp_path / "junk.npz"
    text.write_text("junk")
    with pytest.raises(ModelFileError, match="not an .npz \\(zip\\) archive") as raised:
        robustdml.load_model(text)
    assert "pickle" not in str(raised.value)
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(ModelFileError, match=r"a single NumPy array \(.npy\)"):
        robustdml.load_model(tmp_path / "array.npy")
    np.savez(tmp_path / "weights.npz", weights=np.ones(3), bias=np.zeros(1))
    with pytest.raises(ModelFileError, match="no header.*'bias', 'weights'") as raised:
        robustdml.load_model(tmp_path / "weights.npz")
    assert "pickle" not in str(raised.value)
    np.savez(tmp_path / "pickled.npz", header=np.array([{"code": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="holds pickled arrays"):
        robustdml.load_model(tmp_path / "pickled.npz")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(ModelFileError, match="no header"):
        robustdml.load_model(tmp_path / "empty.npz")


@pytest.mark.parametrize("k", [2, 4])
def test_an_even_k_is_refused_at_fit(iris, k):
    X, y = iris
    with pytest.raises(ValueError, match=rf"odd n_neighbors, got {k}: .* a tie of votes .* "
                                         rf"Use an odd k \({k - 1} or {k + 1}\)"):
        CertifiedKNN(k).fit(X, y)
    assert KNNClassifier(k).fit(X, y).score(X, y) > 0.9  # an even k without certificates

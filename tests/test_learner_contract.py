"""The learner contract: learners written here, without touching robustdml, fit, certify, save
and load like robustdml's own; model files written before estimators declared their saved
state still load."""

import json
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import robustdml
from robustdml import CertifiedKNN, ModelFileError, knn_attack
from robustdml.estimators import FitResult, MetricLearner
from robustdml.math import LMNNLoss, TripletObjective, build_triplets

MODEL_FILES_V1 = Path(__file__).parent / "data" / "model_files_v1"


class OneTargetLMNN(MetricLearner):
    """LMNN's terms on each point's nearest same-class point and its ``n_impostors`` nearest
    other-class points, with the perturbation loss: a learner built on the contract alone."""

    # the classes are a fitted attribute of this learner's own, so model files keep them
    _saved_attributes = (*MetricLearner._saved_attributes, "classes_")

    def __init__(self, n_impostors=5, *, perturbation_weight=0.0, perturbation_margin=0.1,
                 solver="lbfgs", n_components=None, init="auto", max_iter=200, tol=None,
                 smoothing=0.5, callback=None, verbose=0, random_state=None):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.n_impostors = n_impostors

    def _fit_metric(self, X, y, initial_components):
        self.classes_ = np.unique(y)
        triplets = build_triplets(X, y, n_neighbors=1, n_impostors=self.n_impostors)
        objective = TripletObjective(X, triplets, [LMNNLoss(0.5), *self.perturbation_losses()],
                                     smoothing=self._solver_smoothing)
        return self._minimize(objective, initial_components, len(X))


class WithinClassWhitening(MetricLearner):
    """A closed form, without the minimizer: L whitens the pooled within-class covariance."""

    def __init__(self, *, perturbation_weight=0.0, perturbation_margin=0.1, solver="lbfgs",
                 n_components=None, init="auto", max_iter=1, tol=None, smoothing=0.5,
                 callback=None, verbose=0, random_state=None):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)

    def _fit_metric(self, X, y, initial_components):
        centered = np.vstack([X[y == label] - X[y == label].mean(axis=0)
                              for label in np.unique(y)])
        covariance = centered.T @ centered / len(X) + 1e-3 * np.eye(X.shape[1])
        values, vectors = np.linalg.eigh(covariance)
        L = (vectors / np.sqrt(values)).T[::-1][:len(initial_components)]
        return FitResult(L, 1, True, [], "closed form", 0.0)  # one solve


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), np.array(["barolo", "grignolino", "barbera"])[y]


@parametrize_with_checks([OneTargetLMNN(max_iter=30), WithinClassWhitening(n_components=1)])
def test_learners_written_here_pass_scikit_learns_checks(estimator, check):
    with warnings.catch_warnings():  # a few iterations on random data: no warning is checked
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_the_base_class_does_the_bookkeeping(wine, capsys):
    X, y = wine
    model = OneTargetLMNN(perturbation_weight=1.0, verbose=1).fit(X, y)
    assert model.components_.shape == (13, 13)
    assert model.n_triplets_ == len(X) * 1 * 5  # every wine class has more than 5 points
    assert len(model.objective_) == model.n_iter_  # lbfgs: the value after each iteration
    assert model.objective_[-1] < model.objective_[0]
    assert model.initial_train_accuracy_ < model.train_accuracy_
    assert list(model.classes_) == ["barbera", "barolo", "grignolino"]
    assert "training leave-one-out 3-NN accuracy" in capsys.readouterr().out
    with pytest.warns(ConvergenceWarning, match=r"OneTargetLMNN\] lbfgs did not converge"):
        OneTargetLMNN(max_iter=2).fit(X, y)
    closed = WithinClassWhitening(n_components=2).fit(X, y)
    assert closed.components_.shape == (2, 13) and closed.n_triplets_ == 0
    assert closed.n_iter_ == 1 and closed.objective_.shape == (0,)


def test_a_hook_that_returns_something_else_is_a_clear_error(wine):
    class ReturnsATuple(WithinClassWhitening):
        def _fit_metric(self, X, y, initial_components):
            return initial_components, 0

    with pytest.raises(TypeError, match="must return a FitResult"):
        ReturnsATuple().fit(*wine)


def test_learners_written_here_certify_save_and_load(wine, tmp_path):
    X, y = wine
    train, test = np.arange(len(X)) % 3 != 0, np.arange(len(X)) % 3 == 0
    for learner in (OneTargetLMNN(perturbation_weight=1.0, perturbation_margin=0.3),
                    WithinClassWhitening()):
        knn = CertifiedKNN(3, learner).fit(X[train], y[train])
        radii = knn.certified_radius(X[test], y[test])
        attack = knn_attack(knn, X[test], y[test])
        # the radius is a lower bound on the smallest perturbation that changes a prediction
        assert np.all(radii[attack.success] <= attack.norms[attack.success])
        assert np.median(radii) > 0
        name = type(learner).__name__
        robustdml.save_model(knn, tmp_path / f"knn-{name}.npz")
        robustdml.save_model(knn.metric_learner_, tmp_path / f"{name}.npz")
        loaded_knn = robustdml.load_model(tmp_path / f"knn-{name}.npz")
        loaded = robustdml.load_model(tmp_path / f"{name}.npz")
        assert type(loaded_knn.metric_learner_) is type(loaded) is type(learner)
        np.testing.assert_array_equal(loaded_knn.predict(X), knn.predict(X))
        np.testing.assert_array_equal(loaded_knn.certified_radius(X), knn.certified_radius(X))
        np.testing.assert_array_equal(loaded.transform(X), knn.metric_learner_.transform(X))
        assert loaded.train_accuracy_ == knn.metric_learner_.train_accuracy_
    assert list(robustdml.load_model(tmp_path / "OneTargetLMNN.npz").classes_) == [
        "barbera", "barolo", "grignolino"]


def test_classes_sharing_a_name_are_told_apart_by_module(wine, tmp_path):
    X, y = wine

    class LMNN(WithinClassWhitening):  # robustdml has an LMNN too
        pass

    robustdml.save_model(LMNN().fit(X, y), tmp_path / "ours.npz")
    robustdml.save_model(robustdml.LMNN(max_iter=5).fit(X, y), tmp_path / "robustdml.npz")
    assert type(robustdml.load_model(tmp_path / "ours.npz")) is LMNN
    assert type(robustdml.load_model(tmp_path / "robustdml.npz")) is robustdml.LMNN
    # files written before they named the module hold only robustdml's classes
    assert type(robustdml.load_model(MODEL_FILES_V1 / "lmnn.npz")) is robustdml.LMNN


def rewrite_header(path, change):
    """Write ``path`` again with ``change`` applied to its JSON header."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["header"]))
    change(header["estimator"])
    arrays["header"] = np.array(json.dumps(header))
    np.savez(path, **arrays)


def test_a_file_can_name_only_classes_defined_and_declared(wine, tmp_path):
    """Loading looks a class up by name among those already defined; it never imports the
    module a file names, and sets only the attributes the class declares."""
    X, y = wine
    path = tmp_path / "model.npz"
    robustdml.save_model(WithinClassWhitening().fit(X, y), path)

    def name_a_foreign_class(entry):
        entry.update({"class": "Popen", "module": "subprocess"})

    rewrite_header(path, name_a_foreign_class)
    with pytest.raises(ModelFileError, match="'Popen' from subprocess, which is not among"):
        robustdml.load_model(path)
    robustdml.save_model(WithinClassWhitening().fit(X, y), path)
    rewrite_header(path, lambda entry: entry["fitted"].update(fit=entry["fitted"]["n_iter_"]))
    with pytest.raises(ModelFileError, match="stores fit for a WithinClassWhitening"):
        robustdml.load_model(path)


@pytest.mark.parametrize("name", ["lmnn", "arml", "triplet_lmnn", "certified_nca",
                                  "certified_euclidean", "knn_lmnn"])
def test_model_files_written_before_the_contract_still_load(name):
    """tests/data/model_files_v1/make_files.py wrote them with robustdml at 3d66d20, where
    io.py kept a table of classes and attributes."""
    with np.load(MODEL_FILES_V1 / f"{name}.npz") as stored:
        header = str(stored["header"])
    # the old format: no class module, the parameter names of then
    assert '"module"' not in header and '"drift_weight"' not in header
    expected = np.load(MODEL_FILES_V1 / "expected.npz")
    model = robustdml.load_model(MODEL_FILES_V1 / f"{name}.npz")
    X = expected["X"]
    if name == "triplet_lmnn":
        output = model.decision_function(expected["triplets"])
    elif hasattr(model, "predict"):
        output = model.predict(X)
    else:
        output = model.transform(X)
    np.testing.assert_array_equal(output, expected[f"{name}/output"])
    if hasattr(model, "certified_radius"):
        # radii are computed per query since these files were written: the last bits move
        np.testing.assert_allclose(model.certified_radius(X), expected[f"{name}/radius"],
                                   rtol=1e-12)


@pytest.mark.parametrize("name", ["_fit_metric", "_minimize"])
def test_the_hooks_docstrings_pass_numpydoc(name):
    """The hooks a learner implements and calls are protected, so tests/test_numpydoc.py
    skips them; the contract documents them to the same standard."""
    validate = pytest.importorskip("numpydoc.validate")
    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    checks = validate.get_validation_checks(set(config["tool"]["numpydoc_validation"]["checks"]))
    errors = [f"{code}: {message}" for code, message in validate.validate(
        f"robustdml.estimators._learner.MetricLearner.{name}")["errors"] if code in checks]
    assert not errors, "\n".join(errors)

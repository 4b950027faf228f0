"""Bad input, property-based invariants, safe model files and runs that survive faults."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NeighborhoodComponentsAnalysis

import robustdml
from robustdml import (ARML, NCA, CertifiedKNN, KNNClassifier, LMNN, ModelFileError,
                       TripletLMNN, adversarial_margin, build_triplets, knn_attack,
                       minimal_perturbation_1nn, noise_error)
from robustdml.experiments.store import RECORDS_FILE, ResultStore
from robustdml.math import LMNNLoss, PerturbationLoss, TripletObjective

RNG = np.random.default_rng(0)
X_OK = RNG.normal(size=(30, 3))
Y_OK = np.repeat([0, 1, 2], 10)


def with_nan(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


def with_inf(X):
    X = X.copy()
    X[3, 1] = np.inf
    return X


BAD_FITS = [
    ("NaN", with_nan(X_OK), Y_OK, "NaN"),
    ("infinity", with_inf(X_OK), Y_OK, "infinity"),
    ("empty", np.zeros((0, 3)), np.zeros(0), "0 sample"),
    ("one class", X_OK, np.zeros(30), "two classes"),
    ("wrong y length", X_OK, Y_OK[:20], "inconsistent numbers of samples"),
    ("strings", np.full((30, 3), "a"), Y_OK, "could not convert"),
    ("complex", X_OK + 1j, Y_OK, "Complex data not supported"),
    ("3-D", X_OK[:, :, None], Y_OK, "dim 3"),
    ("1-D", X_OK[:, 0], Y_OK, "Expected 2D array"),
    ("tiny scale", X_OK * 1e-150, Y_OK, "Standardize X"),
    ("huge scale", X_OK * 1e150, Y_OK, "Standardize X"),
]
ESTIMATORS = [LMNN(), LMNN(solver="pgd", perturbation_weight=1.0, max_iter=60),
              CertifiedKNN(3, LMNN(perturbation_weight=1.0))]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("case, X, y, message", BAD_FITS, ids=[c[0] for c in BAD_FITS])
def test_bad_training_input_is_a_clear_error(estimator, case, X, y, message):
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, y)


@pytest.mark.parametrize("case, X, y", [
    ("constant features", np.hstack([X_OK, np.ones((30, 2))]), Y_OK),
    ("all features constant", np.ones((30, 3)), Y_OK),
    ("every point three times", np.repeat(X_OK[:10], 3, axis=0), Y_OK),
])
def test_degenerate_but_valid_input_gives_finite_outputs(case, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver in ("lbfgs", "pgd"):
            knn = CertifiedKNN(3, LMNN(solver=solver, perturbation_weight=1.0,
                                       max_iter=100)).fit(X, y)
            assert np.all(np.isfinite(knn.metric_learner_.components_))
            radii = knn.certified_radius(X, y)
            assert np.all(np.isfinite(radii)) and np.all(radii >= 0)
            # the certificate holds on degenerate data too, for both solvers' metrics
            attack = knn_attack(knn, X, y)
            assert not np.any(np.isnan(attack.norms))
            assert np.all(attack.norms >= radii), (case, solver)


def test_objective_at_a_denormal_scale_does_not_break_lbfgs():
    # found by hypothesis: only the pull term is active and its weight is 7e-267, so the
    # objective and its gradient are ~1e-267; L-BFGS-B's first step divided by their underflow
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    y = np.array([0, 1, 0, 0, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMNN(n_neighbors=2, n_impostors=3, pull_weight=7e-267, max_iter=50).fit(X, y)
    assert np.all(np.isfinite(model.components_))


def test_a_step_that_overflows_keeps_the_last_finite_metric():
    # found by hypothesis: every point equal, a subnormal loss weight; the gradient is 1e298
    # times the objective and L-BFGS-B's first step overflowed to NaN
    X, y = np.full((6, 1), 1.5), np.array([0, 1, 0, 0, 0, 0])
    model = LMNN(n_neighbors=2, n_impostors=3, pull_weight=1.0, max_iter=50,
                 perturbation_weight=2.2250738585e-313, perturbation_margin=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class of one point
        with pytest.warns(ConvergenceWarning, match="a step overflowed"):
            model.fit(X, y)
    assert np.all(np.isfinite(model.components_))


def test_a_failed_line_search_restarts_past_the_kink():
    from robustdml.math.optimize import lbfgs

    def kinked(L):  # max |L_ij|: a kink at every point where two entries tie
        largest = np.abs(L) == np.abs(L).max()
        return float(np.abs(L).max()) + 1.0, largest * np.sign(L)

    start = np.array([[1.0, -2.0], [0.5, 3.0]])
    L, n_iter, converged, values, message = lbfgs(kinked, start, max_iter=100, tol=1e-12)
    # one L-BFGS-B run stops at a kink with objective 1.64; the restarts go on to 1.12 and
    # stop where a restart gains less than tol
    assert converged and n_iter < 100 and "restart" in message
    assert kinked(L)[0] < 1.2 and values[-1] == kinked(L)[0]


def test_n_neighbors_above_a_class_size_warns_and_works():
    X, y = X_OK[:8], np.array([0, 0, 0, 1, 1, 1, 2, 2])
    with pytest.warns(UserWarning, match="not smaller than the size of class"):
        model = LMNN(n_neighbors=3).fit(X, y)
    assert np.all(np.isfinite(model.components_))


def test_predict_side_errors():
    knn = CertifiedKNN(3).fit(X_OK, Y_OK)
    for method in (knn.predict, knn.certified_radius, LMNN().fit(X_OK, Y_OK).transform):
        with pytest.raises(ValueError, match="features"):
            method(np.zeros((2, 4)))
        with pytest.raises(ValueError, match="NaN"):
            method(with_nan(X_OK))
    with pytest.raises(ValueError, match="radii"):
        knn.certified_robust_error(X_OK, Y_OK, [-0.1])
    with pytest.raises(ValueError, match="expected"):
        knn_attack(knn, X_OK, Y_OK[:3])
    with pytest.raises(ValueError, match="features"):
        minimal_perturbation_1nn(CertifiedKNN(1).fit(X_OK, Y_OK), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="inconsistent"):
        noise_error(knn, X_OK, Y_OK[:3], [0.1])


def test_function_input_errors():
    with pytest.raises(ValueError, match="NaN"):
        adversarial_margin([[np.nan, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]], M=np.eye(2))
    with pytest.raises(ValueError, match="features but the metric"):
        adversarial_margin([[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]], M=np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        adversarial_margin([[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]], M=[[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="infinity"):
        build_triplets(with_inf(X_OK), Y_OK)


# ---------------------------------------------------------------- property-based tests

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@st.composite
def triplet_problem(draw):
    p = draw(st.integers(1, 5))
    n = draw(st.integers(1, 20))
    points = draw(arrays(float, (3, n, p), elements=finite))
    L = draw(arrays(float, (draw(st.integers(1, p)), p), elements=finite))
    return points, L


@settings(max_examples=60, deadline=None)
@given(triplet_problem(), st.floats(-8, 8).map(lambda e: 10.0 ** e),
       arrays(float, 5, elements=finite))
def test_margin_properties(problem, scale, shift):
    (anchors, targets, impostors), L = problem
    margin, examples = adversarial_margin(anchors, targets, impostors, L=L,
                                          return_examples=True)
    assert np.all(np.isfinite(margin)) and np.all(margin >= 0)
    assert np.all(np.isfinite(examples))
    # a translation of every point changes nothing
    t = shift[:anchors.shape[1]]
    np.testing.assert_allclose(adversarial_margin(anchors + t, targets + t, impostors + t, L=L),
                               margin, rtol=1e-6, atol=1e-6)
    # scaling the metric changes nothing; scaling the data scales the margin, up to rounding:
    # the gap is a difference of squared distances, exact to 1e-16 of their sum
    M = L.T @ L
    target_sq = np.einsum("ij,jk,ik->i", anchors - targets, M, anchors - targets)
    impostor_sq = np.einsum("ij,jk,ik->i", anchors - impostors, M, anchors - impostors)
    conditioning = (target_sq + impostor_sq) / np.maximum(np.abs(impostor_sq - target_sq),
                                                          1e-300)
    tolerance = (1e-6 + 1e-12 * conditioning) * margin + 1e-9 * margin.max(initial=0.0)
    scaled = adversarial_margin(anchors, targets, impostors, M=scale * M)
    assert np.all(np.abs(scaled - margin) <= tolerance)
    stretched = adversarial_margin(scale * anchors, scale * targets, scale * impostors, L=L)
    assert np.all(np.abs(stretched - scale * margin) <= scale * tolerance)


@st.composite
def labeled_data(draw, min_n=6, max_n=30):
    n = draw(st.integers(min_n, max_n))
    p = draw(st.integers(1, 4))
    X = draw(arrays(float, (n, p), elements=st.floats(-5, 5, allow_nan=False)))
    y = draw(arrays(int, n, elements=st.integers(0, 2)))
    if np.unique(y).size < 2:
        y[0], y[1] = 0, 1
    return X, y


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labeled_data(), st.floats(0, 50), st.floats(0.01, 1.0), st.floats(0, 1))
def test_loss_and_fit_are_finite(data, weight, margin, mu):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        triplets = build_triplets(X, y, 2, 3)
        value, gradient = TripletObjective(
            X, triplets, [LMNNLoss(mu), PerturbationLoss(weight, margin)]
        ).value_and_gradient_M(np.eye(X.shape[1]))
        assert np.isfinite(value) and np.all(np.isfinite(gradient))
        model = LMNN(n_neighbors=2, n_impostors=3, pull_weight=mu, perturbation_weight=weight,
                     perturbation_margin=margin, max_iter=50)
        try:
            model.fit(X, y)
        except ValueError as error:  # points 1e-60 apart: refused with advice, not a NaN
            assert "Standardize X" in str(error)
            return
    assert np.all(np.isfinite(model.components_))
    assert np.all(np.isfinite(model.transform(X)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labeled_data(min_n=8), st.sampled_from([1, 3, 5]), st.integers(0, 2 ** 31 - 1))
def test_radii_are_sound_and_ignore_training_order(data, k, seed):
    X, y = data
    if k > len(X):
        k = 1
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(X.shape[1], X.shape[1]))
    queries = X + rng.normal(scale=0.5, size=X.shape)

    class Fixed(LMNN):  # a fitted metric chosen by the test
        def fit(self, X, y):
            self.components_ = L
            self.n_features_in_ = X.shape[1]
            return self

    knn = CertifiedKNN(k, Fixed()).fit(X, y)
    radii = knn.certified_radius(queries)
    assert np.all(np.isfinite(radii) | (radii == np.inf)) and np.all(radii >= 0)
    clean = knn.predict(queries)
    directions = rng.normal(size=queries.shape)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    inside = np.where(np.isfinite(radii), 0.99 * radii, 1.0)
    assert np.all(knn.predict(queries + inside[:, None] * directions) == clean)
    order = rng.permutation(len(X))
    permuted = CertifiedKNN(k, Fixed()).fit(X[order], y[order])
    # ties in distance may pick other neighbors: compare where the prediction is the same
    same = permuted.predict(queries) == clean
    np.testing.assert_allclose(permuted.certified_radius(queries)[same], radii[same],
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- model files

@pytest.fixture(scope="module")
def fitted_models():
    X, y = X_OK, np.array(["a", "b", "c"])[Y_OK]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [LMNN(perturbation_weight=1.0, init=np.eye(3)).fit(X, y),
                KNNClassifier(3, LMNN(solver="pgd", max_iter=60)).fit(X, y),
                CertifiedKNN(3, LMNN(n_components=2)).fit(X, y),
                CertifiedKNN(1).fit(X, y),
                CertifiedKNN(3, NeighborhoodComponentsAnalysis(random_state=0)).fit(X, y),
                NCA(perturbation_weight=1.0).fit(X, y),
                ARML(max_rounds=2).fit(X, y),
                CertifiedKNN(3, NCA()).fit(X, y),
                CertifiedKNN(3, ARML()).fit(X, y),
                TripletLMNN(perturbation_weight=1.0).fit(TRIPLETS)]


#: (anchor, closer, farther) triplets over the points of X_OK, by their labels.
TRIPLETS = np.stack([X_OK[:10], X_OK[10:20], X_OK[20:30]], axis=1)


def test_model_files_round_trip(fitted_models, tmp_path):
    for number, model in enumerate(fitted_models):
        path = tmp_path / f"model{number}.npz"
        robustdml.save_model(model, path)
        loaded = robustdml.load_model(path)
        assert type(loaded) is type(model)
        assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
        if isinstance(model, TripletLMNN):
            np.testing.assert_array_equal(loaded.decision_function(TRIPLETS),
                                          model.decision_function(TRIPLETS))
            assert loaded.n_triplets_ == model.n_triplets_
        elif hasattr(model, "predict"):
            np.testing.assert_array_equal(loaded.predict(X_OK), model.predict(X_OK))
        else:
            np.testing.assert_array_equal(loaded.transform(X_OK), model.transform(X_OK))
            assert loaded.train_accuracy_ == model.train_accuracy_
            assert loaded.initial_train_accuracy_ == model.initial_train_accuracy_
        if hasattr(model, "certified_radius"):
            np.testing.assert_array_equal(loaded.certified_radius(X_OK),
                                          model.certified_radius(X_OK))
        with np.load(path, allow_pickle=False) as archive:  # nothing in it needs pickle
            assert all(archive[name].dtype != object for name in archive.files)


def test_damaged_files_are_clear_errors(fitted_models, tmp_path):
    path = tmp_path / "model.npz"
    robustdml.save_model(fitted_models[2], path)
    content = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(content[:len(content) // 2])
    flipped = bytearray(content)
    flipped[len(content) // 3] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    (tmp_path / "text.npz").write_text("not a model")
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    np.savez(tmp_path / "pickled.npz", header=np.array([{"code": 1}], dtype=object))
    for name in ("truncated", "flipped", "text", "foreign", "pickled"):
        with pytest.raises(ModelFileError, match="damaged|not a robustdml") as raised:
            robustdml.load_model(tmp_path / f"{name}.npz")
        assert "allow_pickle" not in str(raised.value)
    header = json.dumps({"format": "robustdml-model", "version": 99, "robustdml": "9.0",
                         "estimator": {}})
    np.savez(tmp_path / "newer.npz", header=np.array(header))
    with pytest.raises(ModelFileError, match="version 99"):
        robustdml.load_model(tmp_path / "newer.npz")
    with pytest.raises(FileNotFoundError, match="No model file"):
        robustdml.load_model(tmp_path / "absent.npz")


def test_every_single_byte_flip_loads_or_is_a_model_file_error(tmp_path):
    """Each byte of a small model file, flipped in turn: the file either still loads (a byte
    the format does not check) or gives ModelFileError, never another exception."""
    path = tmp_path / "model.npz"
    robustdml.save_model(LMNN(max_iter=5).fit(X_OK, Y_OK), path)
    content = path.read_bytes()
    damaged = tmp_path / "damaged.npz"
    outcomes = {"loaded": 0, "refused": 0}
    for position in range(len(content)):
        flipped = bytearray(content)
        flipped[position] ^= 0xFF
        damaged.write_bytes(bytes(flipped))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                robustdml.load_model(damaged)
            outcomes["loaded"] += 1
        except ModelFileError as error:
            assert "allow_pickle" not in str(error)
            outcomes["refused"] += 1
    assert outcomes["refused"] > len(content) // 2


def test_only_known_classes_are_saved(tmp_path):
    from sklearn.preprocessing import StandardScaler
    with pytest.raises(TypeError, match="Cannot save a StandardScaler"):
        robustdml.save_model(StandardScaler().fit(X_OK), tmp_path / "x.npz")
    with pytest.warns(UserWarning, match="callback"):
        robustdml.save_model(LMNN(callback=print).fit(X_OK, Y_OK), tmp_path / "c.npz")
    assert robustdml.load_model(tmp_path / "c.npz").callback is None


# ---------------------------------------------------------------- runs that survive faults

def run_cli(out, *extra):
    return [sys.executable, "-m", "robustdml.cli", "reproduce", "--datasets", "iris,wine",
            "--methods", "euclidean,lmnn", "--splits", "3", "--budget", "2", "--quiet",
            "--out", str(out), *extra]


def records_of(out):
    keys = ("clean_error", "certified_error", "noise_error", "empirical_error", "params")
    return {(record["dataset"], record["method"], record["split"]):
            {key: record[key] for key in keys}
            for record in ResultStore(out).records()}  # the file must read


def test_sigkill_then_restart_gives_the_same_results(tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(run_cli(reference), check=True, capture_output=True)
    killed = tmp_path / "killed"
    process = subprocess.Popen(run_cli(killed), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / RECORDS_FILE).exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = records_of(killed)
    assert 0 < len(partial) < 12, "the kill should land mid-run"
    finished = subprocess.run(run_cli(killed), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{len(partial)} reused" in finished.stdout
    assert records_of(killed) == records_of(reference)
    assert not list(killed.glob(".*.tmp"))


def test_second_run_on_the_same_directory_is_refused(tmp_path):
    first = subprocess.Popen(run_cli(tmp_path), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (tmp_path / "config.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run(run_cli(tmp_path), capture_output=True, text=True)
        assert second.returncode == 2
        assert "Another robustdml run" in second.stderr and "--out" in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0
    assert len(records_of(tmp_path)) == 12


def test_a_string_column_is_named():
    pandas = pytest.importorskip("pandas")
    X = pandas.DataFrame({"a": np.arange(10.0), "color": ["red", "blue"] * 5,
                          "b": np.arange(10.0) ** 2})
    y = np.arange(10) % 2
    for estimator in (LMNN(), KNNClassifier(3), CertifiedKNN(3)):
        with pytest.raises(ValueError, match="'color' of X are not numeric"):
            estimator.fit(X, y)
    knn = CertifiedKNN(3).fit(X[["a", "b"]], y)
    bad = X[["a", "b"]].astype({"b": str})
    for method in (knn.predict, knn.certified_radius):
        with pytest.raises(ValueError, match="'b' of X are not numeric"):
            method(bad)


def test_model_files_get_the_mode_of_a_plain_open(tmp_path):
    """A model file is written atomically, yet gets 0666 less the umask like any file open()
    creates (tempfile.mkstemp's 0600 would hide it from the group a umask of 002 shares it
    with)."""
    from sklearn.datasets import load_iris

    from robustdml import KNNClassifier, save_model

    knn = KNNClassifier(n_neighbors=3).fit(*load_iris(return_X_y=True))
    previous = os.umask(0o002)
    try:
        save_model(knn, tmp_path / "knn.npz")
    finally:
        os.umask(previous)
    assert (tmp_path / "knn.npz").stat().st_mode & 0o777 == 0o664
    assert [path.name for path in tmp_path.iterdir()] == ["knn.npz"]

"""Names renamed in issue 31 (American spelling, names that say what they do): each old public
name still works for one release, with a FutureWarning naming the new one."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

import robustdml
from robustdml import LMNN, TripletLMNN
from robustdml.experiments.protocol import ProtocolConfig, default_methods
from robustdml.math import (DriftPenalty, LMNNLoss, TripletObjective, TripletSet,
                            build_triplets)

MODEL_FILES_V1 = Path(__file__).parent / "data" / "model_files_v1"

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X[::3], y[::3]


def triplets_of(X, y):
    triplets = build_triplets(X, y, 1, 1)
    return np.stack([X[triplets.anchors], X[triplets.targets], X[triplets.impostors]], axis=1)


@pytest.mark.parametrize("cls", [LMNN, TripletLMNN])
def test_regularisation_warns_and_acts_as_drift_weight(cls, iris):
    X, y = iris
    data = (X, y) if cls is LMNN else (triplets_of(X, y),)
    old = cls(regularisation=0.7, max_iter=10)
    assert clone(old).get_params()["regularisation"] == 0.7
    with pytest.warns(FutureWarning, match=r"regularisation is renamed drift_weight.*"
                                           r"drift_weight=0\.7.*next release"):
        old.fit(*data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        new = cls(drift_weight=0.7, max_iter=10).fit(*data)
        default = cls(max_iter=10).fit(*data)
    np.testing.assert_allclose(old.components_, new.components_)
    assert not np.allclose(old.components_, default.components_)  # the value was used


def test_save_and_load_warn_and_work(iris, tmp_path):
    X, y = iris
    model = LMNN(max_iter=5).fit(X, y)
    with pytest.warns(FutureWarning, match="robustdml.save_model"):
        robustdml.save(model, tmp_path / "lmnn.npz")
    with pytest.warns(FutureWarning, match="robustdml.load_model"):
        loaded = robustdml.load(tmp_path / "lmnn.npz")
    np.testing.assert_array_equal(loaded.components_, model.components_)


def test_start_regulariser_warns_and_is_the_drift_penalty(iris):
    X, y = iris
    with pytest.warns(FutureWarning, match="DriftPenalty"):
        from robustdml.math import StartRegulariser
    assert StartRegulariser is DriftPenalty
    triplets = build_triplets(X, y, 1, 1)
    old = TripletObjective(X, triplets, [LMNNLoss(0.5)])
    new = TripletObjective(X, triplets, [LMNNLoss(0.5)])
    with pytest.warns(FutureWarning, match="add_drift_penalty"):
        old.add_start_regulariser(0.3, np.eye(4))
    new.add_drift_penalty(0.3, np.eye(4))
    L = np.diag([1.0, 2.0, 0.5, 1.5])
    assert old.value_and_gradient_M(L)[0] == new.value_and_gradient_M(L)[0]


def test_model_files_with_the_old_parameter_name_load_with_the_new_one(iris, tmp_path):
    """Files written before the rename store ``regularisation``; files written with the
    deprecated parameter store both: either way the learner comes back with ``drift_weight``
    and refits the same, silently."""
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        for name in ("lmnn", "triplet_lmnn"):
            model = robustdml.load_model(MODEL_FILES_V1 / f"{name}.npz")
            assert model.drift_weight == 0.1 and model.regularisation == "deprecated"
    with pytest.warns(FutureWarning):
        robustdml.save_model(LMNN(regularisation=0.0, max_iter=5).fit(X, y), tmp_path / "m.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        loaded = robustdml.load_model(tmp_path / "m.npz")
    assert loaded.drift_weight == 0.0 and loaded.regularisation == "deprecated"


def test_records_with_the_old_search_space_names_are_current():
    """The committed study's records name ``regularisation`` in their search space: they are
    still the records of today's methods, so nothing is recomputed and the report keeps them."""
    method = default_methods()["lmnn"]
    described = method.describe()
    old = {"regularisation" if key == "drift_weight" else key: text
           for key, text in described["search_space"].items()}
    assert "regularisation" in old
    assert method.is_current({**described, "search_space": old})
    assert not method.is_current({**described, "search_space": {**old, "pull_weight": "x"}})


def test_triplet_set_normaliser_warns_and_is_the_normalizer():
    triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
    fields = (triplets.pull_pairs, triplets.push_pairs, triplets.pull_index,
              triplets.push_index, 4)
    with pytest.warns(FutureWarning, match="normalizer"):
        old = TripletSet(*fields, normaliser=5.0)
    assert old == TripletSet(*fields, normalizer=5.0)
    with pytest.warns(FutureWarning, match="triplet_normalizer"):
        assert old.triplet_normaliser == 5.0
    with pytest.warns(FutureWarning, match="normalizer"):
        assert old.normaliser == 5.0


def test_scaling_standardise_warns_and_old_configurations_read_silently():
    with pytest.warns(FutureWarning, match="standardize"):
        assert ProtocolConfig(scaling="standardise") == ProtocolConfig(scaling="standardize")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        saved = {**ProtocolConfig().to_dict(), "scaling": "standardise"}
        assert ProtocolConfig.from_dict(saved) == ProtocolConfig()


def test_dataset_spec_licence_warns_and_is_the_license():
    from robustdml.datasets import SPECS
    spec = SPECS["glass"]
    assert spec.license == "GPL-2 (mlbench) / UCI"
    with pytest.warns(FutureWarning, match="renamed license"):
        assert spec.licence == spec.license
    with pytest.raises(AttributeError):  # read-only, as the frozen field was
        spec.licence = "MIT"

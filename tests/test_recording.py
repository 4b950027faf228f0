"""What a cell records besides its numbers: every learner fit's convergence and warnings, the
other warnings; and the study's numbers unchanged by recording them."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.neighbors import NeighborhoodComponentsAnalysis

from scipy.stats import loguniform

from robustdml import LMNN, NCA, RobustFineTuner
from robustdml.datasets import load
from robustdml.experiments.protocol import (RENAMED_PARAMETERS, Method, ProtocolConfig,
                                            default_methods, run_cell)
from robustdml.experiments.report import flatten, markdown_report, summary_rows, write_csv
from robustdml.experiments.store import ResultStore

DATA = Path(__file__).parent / "data"
STUDY = Path(__file__).resolve().parents[1] / "study"
ONE = ProtocolConfig(n_splits=1, budget=1, cv_folds=3, noise_draws=1, attack_points=10)
#: Fields that differ from run to run: what the cell's steps cost, not what they found.
TIMINGS = ("fit_seconds", "tune_seconds", "certify_seconds", "attack_seconds")


def test_every_number_equals_the_records_made_before_recording():
    """tests/data/study_cells_main.json holds the records of every default method on iris
    (one split, budget 2) made by main's code before cells recorded their fits and before
    parameters were renamed (commit e62f152), timings left out. Made by running, with that
    commit's src/ on the path: ``run_cell(load("iris"), method, 0, config)`` for
    ``default_methods().values()``."""
    before = json.loads((DATA / "study_cells_main.json").read_text())
    config = ProtocolConfig.from_dict(before["config"])
    methods = default_methods()
    for old in before["records"]:
        for field in ("params", "search_space"):
            old[field] = {RENAMED_PARAMETERS.get(key, key): value
                          for key, value in old[field].items()}
        new = run_cell(load(old["dataset"]), methods[old["method"]], old["split"], config)
        assert set(new) == set(old) | set(TIMINGS) | {"fits", "warnings"}
        assert_same_numbers({key: new[key] for key in old}, old, old["method"])


def assert_same_numbers(new, old, where):
    """Equal, floats to 1e-12 relative: radii are computed per query since the records were
    made, which moves their last bits."""
    if isinstance(old, dict):
        assert set(new) == set(old), where
        for key in old:
            assert_same_numbers(new[key], old[key], f"{where}/{key}")
    elif isinstance(old, float) and isinstance(new, float):
        assert new == pytest.approx(old, rel=1e-12, abs=0.0), where
    else:
        assert new == old, where


def test_a_fit_that_does_not_converge_is_recorded_with_the_solvers_message():
    record = run_cell(load("iris"), Method("lmnn", LMNN(max_iter=2)), 0, ONE)
    [fit] = record["fits"]
    assert fit["final"] and fit["stage"] is None and fit["n_iter"] == 2
    assert not fit["converged"] and "did not converge after 2 iterations" in fit["message"]
    assert {"category": "ConvergenceWarning", "message": fit["message"], "count": 1} in (
        fit["warnings"])
    assert flatten(record)["fits_not_converged"] == 1
    report = markdown_report([record])
    section = report.split("## Convergence and warnings")[1].split("\n## ")[0]
    assert "| iris | lmnn | 1 | 1 | 1 |" in section and "did not converge" in section


def test_a_learner_that_does_not_warn_counts_as_not_converged_at_max_iter():
    record = run_cell(load("iris"), Method("nca", NeighborhoodComponentsAnalysis(
        max_iter=3, random_state=0)), 0, ONE)
    [fit] = record["fits"]
    assert not fit["converged"] and fit["message"] == "ran all max_iter=3 iterations"
    assert fit["warnings"] == []  # scikit-learn's NCA warns only when verbose


def test_every_fit_of_a_search_is_recorded_by_stage():
    """A staged search: budget x folds fits per stage, then the final fit (the refit)."""
    config = ProtocolConfig(n_splits=1, budget=2, cv_folds=3, noise_draws=1, attack_points=10)
    record = run_cell(load("iris"), default_methods()["lmnn-pl-staged"], 0, config)
    stages = [fit["stage"] for fit in record["fits"]]
    assert stages == [1] * 6 + [2] * 7
    assert [fit["final"] for fit in record["fits"]] == [False] * 12 + [True]
    assert all(fit["n_iter"] > 0 for fit in record["fits"])


class WarningMetric(TransformerMixin, BaseEstimator):
    """The identity metric, which warns once when fitted and at every transform."""

    def fit(self, X, y):
        warnings.warn("fitted", RuntimeWarning)
        self.components_ = np.eye(X.shape[1])
        return self

    def transform(self, X):
        warnings.warn("transformed", UserWarning)
        return X


def count_fits(monkeypatch, cls):
    """A list that grows by one at every ``cls.fit``."""
    fits, original = [], cls.fit
    monkeypatch.setattr(cls, "fit", lambda self, X, y: fits.append(1) or original(self, X, y))
    return fits


def test_a_fine_tuners_base_is_fitted_once_per_fold_with_the_same_records(monkeypatch):
    """nca+pl-finetune fits its NCA base once per fold and once for the refit, not once per
    candidate and fold, and its record equals the one main's code made when it refitted the
    base every time (tests/data/study_cells_finetune_main.json, commit f9df538, made by
    ``run_cell(load("iris"), default_methods()["nca+pl-finetune"], 0, config)``, timings
    left out)."""
    before = json.loads((DATA / "study_cells_finetune_main.json").read_text())
    config = ProtocolConfig.from_dict(before["config"])
    [old] = before["records"]
    nca_fits = count_fits(monkeypatch, NCA)
    new = run_cell(load("iris"), default_methods()["nca+pl-finetune"], 0, config)
    assert len(nca_fits) == config.cv_folds + 1  # was budget x cv_folds + 1
    assert len(new["fits"]) == config.budget * config.cv_folds + 1
    assert set(new) == set(old) | set(TIMINGS)
    assert_same_numbers({key: new[key] for key in old}, old, old["method"])


def test_a_shared_base_fit_replays_its_warnings_in_every_fine_tuner_fit(monkeypatch):
    base_fits = count_fits(monkeypatch, WarningMetric)
    method = Method("warns+finetune", RobustFineTuner(WarningMetric(), perturbation_margin=0.1),
                    {"perturbation_weight": loguniform(0.1, 10.0)})
    config = ProtocolConfig(n_splits=1, budget=2, cv_folds=3, noise_draws=1, attack_points=10)
    record = run_cell(load("iris"), method, 0, config)
    assert len(base_fits) == 3 + 1 and len(record["fits"]) == 2 * 3 + 1
    for fit in record["fits"]:
        assert {"category": "RuntimeWarning", "message": "fitted", "count": 1} in fit["warnings"]


def test_warnings_outside_the_fits_are_counted_apart_and_none_is_shown():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escaped the cell would fail here
        record = run_cell(load("iris"), Method("warns", WarningMetric()), 0, ONE)
    [fit] = record["fits"]
    assert fit["converged"] and fit["n_iter"] is None  # nothing says otherwise
    assert fit["warnings"] == [{"category": "RuntimeWarning", "message": "fitted", "count": 1}]
    [outside] = record["warnings"]  # certify, noise and attack transform the test points
    assert outside["category"] == "UserWarning" and outside["message"] == "transformed"
    assert outside["count"] > 1
    assert flatten(record)["warnings"] == 1 + outside["count"]


def test_a_fit_loaded_from_the_cache_reports_the_warnings_it_raised(tmp_path, lmnn_fits):
    method = Method("lmnn", LMNN(max_iter=2))
    first = run_cell(load("iris"), method, 0, ONE, memory=str(tmp_path))
    second = run_cell(load("iris"), method, 0, ONE, memory=str(tmp_path))
    assert len(lmnn_fits) == 1  # the second fit came from the cache
    assert second["fits"] == first["fits"] and not second["fits"][0]["converged"]


def test_records_without_fits_are_read_and_reported_as_before(tmp_path):
    new = run_cell(load("iris"), default_methods()["lmnn"], 0, ONE)
    old = {key: value for key, value in new.items() if key not in ("fits", "warnings")}
    store = ResultStore(tmp_path)
    with store:
        store.save(new)
        store.save(dict(old, method="old"))
    assert ResultStore(tmp_path).records() == [new, dict(old, method="old")]
    assert not {"fits", "fits_not_converged", "warnings"} & set(flatten(old))
    assert "Convergence and warnings" not in markdown_report([old])
    both = markdown_report([new, dict(old, method="old")])
    assert "(1 record made before fits were recorded is not counted)" in both


def test_a_clean_run_says_none():
    record = run_cell(load("iris"), default_methods()["euclidean"], 0, ONE)
    assert record["fits"] == [] and record["warnings"] == []
    assert ": none. Every fit converged and no warning was raised." in markdown_report([record])


RUNS = sorted(path.parent.name for path in STUDY.glob("*/records.jsonl.gz"))


@pytest.mark.skipif(not RUNS, reason="the study's runs are not in this checkout")
@pytest.mark.parametrize("run", RUNS)
def test_the_committed_study_csvs_are_reproduced_byte_for_byte(run, tmp_path):
    """The CSVs ``robustdml report`` writes from a committed run's records are as committed."""
    records = ResultStore(STUDY / run).records()
    write_csv(tmp_path / "results.csv", [flatten(record) for record in records])
    write_csv(tmp_path / "summary.csv", summary_rows(records))
    for name in ("results.csv", "summary.csv"):
        assert (tmp_path / name).read_bytes() == (STUDY / run / name).read_bytes(), name


@pytest.mark.skipif(not RUNS, reason="the study's runs are not in this checkout")
@pytest.mark.parametrize("run", ["arml-accuracy", "arml-certified"])
def test_the_committed_study_report_is_reproduced(run):
    """report.md of two committed runs as committed, the plots given, not drawn again (the
    larger runs take a minute of paired tests each: ``robustdml report`` checks them)."""
    store = ResultStore(STUDY / run)
    records = store.records()
    plots = sorted((STUDY / run / "plots").glob("*.png"))
    report = markdown_report(records, store.saved_config(), store.runs(), plots, STUDY / run)
    assert report == (STUDY / run / "report.md").read_text()


def test_reports_of_recorded_runs_count_the_fits_in_results_csv(tmp_path):
    record = run_cell(load("iris"), Method("lmnn", LMNN(max_iter=2)), 0, ONE)
    write_csv(tmp_path / "results.csv", [flatten(record)])
    header, row = (tmp_path / "results.csv").read_text().splitlines()
    values = dict(zip(header.split(","), row.split(",")))
    assert (values["fits"], values["fits_not_converged"]) == ("1", "1")
    assert int(values["warnings"]) >= 1

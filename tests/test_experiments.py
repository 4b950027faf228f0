"""The study runner: no test leakage, resumable atomic records, reports, CLI, Dask."""

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone

from robustdml.cli import main
from robustdml.datasets import load
from robustdml.experiments import protocol
from robustdml.experiments.protocol import (Method, ProtocolConfig, candidate_grid,
                                           default_methods, run_cell)
from robustdml.experiments.report import (combined_report, compare, markdown_report, run_time,
                                         selection_report, tuning_rule, verdict_table,
                                         write_reports)
from robustdml.experiments import runner
from robustdml.experiments.runner import reproduce
from robustdml.experiments.store import (RECORDS_FILE, ConfigMismatch, ResultsLocked,
                                         ResultStore)
from robustdml.metrics import certified_accuracy_score

TINY = ProtocolConfig(n_splits=2, budget=2, cv_folds=3, noise_draws=1, attack_points=20)


class SpyLearner(TransformerMixin, BaseEstimator):
    """Identity metric that remembers every matrix it was fitted on."""

    seen = []

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y):
        SpyLearner.seen.append(np.array(X))
        self.components_ = self.scale * np.eye(X.shape[1])
        return self

    def transform(self, X):
        return X @ self.components_.T


@pytest.mark.parametrize("preprocessing", ["train", "whole"])
def test_no_test_point_reaches_tuning_or_training(preprocessing):
    SpyLearner.seen = []
    data = load("wine")
    config = ProtocolConfig(n_splits=1, budget=3, cv_folds=3, noise_draws=1, attack_points=5,
                            preprocessing=preprocessing)
    record = run_cell(data, Method("spy", SpyLearner(), {"scale": [1.0, 2.0, 3.0]}), 0, config)
    train, test = protocol.split_indices(data, 0, config)
    prep = protocol.preprocessing().fit(data.X if preprocessing == "whole" else data.X[train])
    train_rows = {row.tobytes() for row in prep.transform(data.X[train])}
    test_rows = {row.tobytes() for row in prep.transform(data.X[test])}
    assert len(SpyLearner.seen) == 3 * 3 + 1  # 3 candidates x 3 folds, then the refit
    for X in SpyLearner.seen:
        rows = {row.tobytes() for row in X}
        assert rows <= train_rows and not rows & test_rows
    assert SpyLearner.seen[-1].shape[0] == len(train)
    assert record["n_test"] == len(test) and record["params"]["scale"] in (1.0, 2.0, 3.0)


def test_preprocessing_fitted_on_training_part_only(monkeypatch):
    fitted = []
    original = protocol.preprocessing

    def spy(pca_components=None, scaling="standardize"):
        pipeline = original(pca_components, scaling)
        fit = pipeline.fit
        pipeline.fit = lambda X, *a, **k: (fitted.append(len(X)), fit(X, *a, **k))[1]
        return pipeline

    monkeypatch.setattr(protocol, "preprocessing", spy)
    data = load("iris")
    run_cell(data, default_methods()["euclidean"], 0, TINY)
    assert fitted == [len(protocol.split_indices(data, 0, TINY)[0])]


@pytest.mark.parametrize("split", [0, 1, 2])
def test_record_contents(split):
    # every test point attacked: the attack may never beat the certificate on the same points
    config = replace(TINY, attack_points=1000)
    record = run_cell(load("iris"), default_methods()["lmnn-pl"], split, config)
    assert set(record["params"]) == {"pull_weight", "drift_weight", "perturbation_weight",
                                     "perturbation_margin"}
    assert set(record["noise_error"]) == {f"{s:g}" for s in TINY.sigmas}
    assert set(record["certified_error"]) == set(record["empirical_error"]) == {
        f"{r:g}" for r in TINY.radii}
    assert record["attack_points"] == record["n_test"]
    certified = [record["certified_error"][f"{r:g}"] for r in TINY.radii]
    empirical = [record["empirical_error"][f"{r:g}"] for r in TINY.radii]
    assert certified == sorted(certified) and certified[0] >= record["clean_error"] - 1e-12
    assert all(e <= c + 1e-12 for e, c in zip(empirical, certified))
    assert empirical[0] >= record["clean_error"] - 1e-12
    assert record["median_attack_norm"] >= record["median_certified_radius"] > 0
    json.dumps(record)


@pytest.mark.parametrize("name, tuned", [("nca-pl", {"perturbation_weight",
                                                     "perturbation_margin"}),
                                         ("arml", set())])
def test_new_learners_run_in_the_study(name, tuned):
    record = run_cell(load("wine"), default_methods()[name], 0, TINY)
    assert set(record["params"]) == tuned
    assert record["method"] == name and 0 <= record["clean_error"] < 0.2
    assert record["median_certified_radius"] > 0


def test_staged_method_tunes_lmnn_first_then_the_loss_with_lmnn_fixed():
    methods = default_methods()
    staged = run_cell(load("wine"), methods["lmnn-pl-staged"], 0, TINY)
    lmnn = run_cell(load("wine"), methods["lmnn"], 0, TINY)
    # stage 1 is lmnn's own search: same candidates, folds and rule, so the same choice
    assert {key: staged["params"][key] for key in lmnn["params"]} == lmnn["params"]
    assert set(staged["params"]) == set(lmnn["params"]) | {"perturbation_weight",
                                                           "perturbation_margin"}
    assert staged["search_space"]["perturbation_weight"].endswith("(stage 2)")
    assert staged["search_space"]["pull_weight"].endswith("(stage 1)")
    # stage 2's first candidate is the tuned LMNN itself: without draws, nothing changes
    single = replace(TINY, budget=1)
    first = run_cell(load("wine"), methods["lmnn-pl-staged"], 0, single)
    assert first["params"]["perturbation_weight"] == 0.0
    plain = run_cell(load("wine"), methods["lmnn"], 0, single)
    assert first["clean_error"] == plain["clean_error"]
    assert first["certified_error"] == plain["certified_error"]


def test_candidates_start_with_the_defaults():
    space = default_methods()["lmnn-pl"].search_space
    grid = candidate_grid(space, budget=4, seed=0)
    assert len(grid) == 4 and grid[0] == {}
    assert all(set(candidate) == {f"metric_learner__{key}" for key in space}
               for candidate in grid[1:])
    assert candidate_grid(space, budget=4, seed=0) == grid  # seeded
    assert candidate_grid(space, budget=1, seed=0) == [{}]


def drop_record(store, cell):
    """Remove one cell's record from ``store``, as if the cell had never finished."""
    kept = [r for r in store.records() if (r["dataset"], r["method"], r["split"]) != cell]
    store.path.unlink()
    for record in kept:
        store.save(record)


def test_resume_skips_finished_records_and_keeps_config(tmp_path):
    methods = {name: default_methods()[name] for name in ("euclidean", "lmnn")}
    first = reproduce(["iris"], methods, TINY, tmp_path, progress=False, log=lambda *_: None)
    assert first.computed == 4 and first.reused == 0 and not first.failures
    store = ResultStore(tmp_path)
    before = {(r["method"], r["split"]): r for r in store.records()}
    drop_record(store, ("iris", "lmnn", 1))
    (tmp_path / f".{RECORDS_FILE}.123.tmp").write_bytes(b"\x1f")  # left by a killed write
    second = reproduce(["iris"], methods, TINY, tmp_path, progress=False, log=lambda *_: None)
    assert second.computed == 1 and second.reused == 3
    after = {(r["method"], r["split"]): r for r in store.records()}
    for key in before:  # recomputed or not, the numbers are the same (seeded)
        assert after[key]["clean_error"] == before[key]["clean_error"]
        assert after[key]["certified_error"] == before[key]["certified_error"]
    with pytest.raises(ConfigMismatch, match="budget"):
        reproduce(["iris"], methods, ProtocolConfig(n_splits=2, budget=3), tmp_path,
                  progress=False, log=lambda *_: None)


def test_a_second_run_on_the_same_directory_is_refused(tmp_path):
    with ResultStore(tmp_path):
        with pytest.raises(ResultsLocked, match="Another robustdml run"):
            with ResultStore(tmp_path):
                pass
    with ResultStore(tmp_path):  # released after the first run
        pass


def test_reports_from_stored_records(tmp_path):
    records = []
    for split in range(6):  # a constant shift needs 6 splits to pass the sign test
        for method, error in (("lmnn-pl", 0.10), ("lmnn", 0.20), ("euclidean", 0.10)):
            records.append({"dataset": "toy", "method": method, "split": split,
                            "clean_error": error + 0.01 * (split % 2) * (method == "lmnn"),
                            "certified_error": {"0.1": error + 0.1},
                            "median_certified_radius": 1.0 - error})
    text = markdown_report(records)
    assert "**0.1000 +- 0.0000**" in text          # best in bold
    assert "0.2050 +- 0.0050" in text               # mean +- std of lmnn
    assert "| clean_error | 0/1/0 | 1/0/0 |" in text  # tie with euclidean, win over lmnn
    assert "| median_certified_radius | 0/1/0 | 1/0/0 |" in text
    paths = write_reports(records, tmp_path)
    assert (tmp_path / "report.md").is_file() and (tmp_path / "summary.csv").is_file()
    assert (tmp_path / "plots" / "toy.png").is_file() and (tmp_path / "plots" / "summary.png") \
        in paths
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("dataset,method,metric") and len(summary) == 1 + 3 * 3


def test_paired_comparison():
    assert compare({0: 0.1, 1: 0.2, 2: 0.15}, {0: 0.3, 1: 0.41, 2: 0.36}) == "win"
    assert compare({0: 0.3, 1: 0.41, 2: 0.36}, {0: 0.1, 1: 0.2, 2: 0.15}) == "loss"
    assert compare({0: 0.1, 1: 0.3, 2: 0.2}, {0: 0.3, 1: 0.1, 2: 0.2}) == "tie"
    assert compare({0: 0.1}, {0: 0.3}) is None
    # two splits decide nothing, even with equal differences (sonar's spurious "loss")
    assert compare({0: 0.2, 1: 0.3}, {0: 0.1, 1: 0.2}) is None
    # a constant shift is decided by a sign test: 5 splits (p = 0.0625) are not enough
    assert compare({s: 0.2 for s in range(5)}, {s: 0.1 for s in range(5)}) == "tie"
    assert compare({s: 0.2 for s in range(6)}, {s: 0.1 for s in range(6)}) == "loss"


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["reproduce", "--datasets", "iris", "--methods", "euclidean,lmnn-pl",
                 "--splits", "2", "--budget", "1", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "4 cells computed" in printed and str(out / "report.md") in printed
    assert "summary.png" in printed
    assert len(ResultStore(out).records()) == 4
    assert main(["report", "--out", str(out)]) == 0
    with pytest.raises(SystemExit, match="unknown data set"):
        main(["reproduce", "--datasets", "nope", "--out", str(out)])
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "balance_scale" in listing and "paper16" in listing


def test_cli_reports_a_locked_directory(tmp_path, capsys):
    with ResultStore(tmp_path):
        code = main(["reproduce", "--datasets", "iris", "--methods", "euclidean",
                     "--splits", "1", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and "Another robustdml run" in capsys.readouterr().err


def test_dask_backend_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        summary = reproduce(["iris"], {"euclidean": default_methods()["euclidean"]}, TINY,
                            tmp_path, jobs=-1, backend="dask", scheduler=cluster.scheduler_address,
                            progress=False, log=lambda *_: None)
    assert summary.computed == 2 and not summary.failures
    local = run_cell(load("iris"), default_methods()["euclidean"], 0, TINY)
    stored = ResultStore(tmp_path).load("iris", "euclidean", 0)
    assert stored["certified_error"] == local["certified_error"]
    with pytest.raises(ValueError, match="--scheduler"):
        reproduce(["iris"], {}, TINY, tmp_path / "x", backend="dask", progress=False,
                  log=lambda *_: None)


def test_help_states_every_default(capsys):
    from robustdml.cli import build_parser
    parser = build_parser()
    for command in ("reproduce", "report"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "default quick: quick" not in text
        subparser = parser._subparsers._group_actions[0].choices[command]
        for action in subparser._actions:
            if action.default not in (None, False, "==SUPPRESS==") and action.dest != "help":
                assert f"(default: {action.default})" in text, action.dest


def test_ctrl_c_says_what_was_kept_in_one_line(monkeypatch, capsys, tmp_path):
    from robustdml import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_command_reproduce", interrupted)
    assert cli.main(["reproduce", "--out", str(tmp_path / "run")]) == 130
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and "Traceback" not in message[0]
    assert "no cell had started" in message[0] and "records" not in message[0]


def test_a_refused_run_does_not_bind_the_directory(tmp_path):
    """A run that wrote its configuration but no record (refused: missing data) leaves the
    directory free for a corrected run with other options, and no holder in the lock."""
    store = ResultStore(tmp_path)
    with store:
        store.check_config({"budget": 4})
    assert (tmp_path / ".lock").read_text() == ""
    with store:
        store.check_config({"budget": 8})  # no record yet: replaced
    assert store.saved_config() == {"budget": 8}
    store.save({"dataset": "iris", "method": "lmnn", "split": 0})
    with store, pytest.raises(ConfigMismatch, match="budget"):
        store.check_config({"budget": 4})


# ---------------------------------------------------------------- selection by robustness

def test_describe_space():
    described = protocol.describe_space(default_methods()["lmnn-pl"].search_space)
    assert described["pull_weight"] == "uniform(0.05, 0.95)"
    assert described["perturbation_weight"] == "loguniform(0.1, 100)"


def test_certified_selection_picks_the_most_certified_candidate(monkeypatch):
    """With --select certified the refitted candidate is the one with the best cross-validated
    certified accuracy at R, which the record states."""
    chosen = {}
    original = protocol.GridSearchCV

    class Spy(original):
        def fit(self, X, y):
            self.fit_args = (X, y)
            chosen["search"] = self
            return super().fit(X, y)

    monkeypatch.setattr(protocol, "GridSearchCV", Spy)
    config = replace(TINY, budget=4, select="certified", relative_radius=0.5)
    record = run_cell(load("wine"), default_methods()["lmnn-pl"], 0, config)
    results = chosen["search"].cv_results_
    assert record["select"] == "certified"
    assert record["cv_score"] == pytest.approx(max(results["mean_test_score"]))
    assert "certified" in repr(chosen["search"].scoring)
    assert record["robust_radius"] == pytest.approx(0.5 * record["data_scale"])
    # each fold's candidates are scored at R, by certifying the fold's held-out points
    search = chosen["search"]
    X, y = search.fit_args
    train, test = next(search.cv.split(X, y))
    candidate = clone(search.estimator).set_params(**results["params"][1]).fit(X[train], y[train])
    by_hand = certified_accuracy_score(candidate, X[test], y[test], record["robust_radius"])
    assert results["split0_test_score"][1] == pytest.approx(by_hand)
    with pytest.raises(ValueError, match="search='random'"):
        replace(config, search="halving")
    assert 0 <= record["robust_error_at_R"] <= 1
    assert record["robust_error_at_R"] >= record["clean_error"] - 1e-12
    assert (record["search_space"]["perturbation_margin"]
            == "loguniform(0.02, 1) x data scale")
    assert record["scaled"] == ["perturbation_margin"]
    assert 0.02 <= record["params"]["perturbation_margin"] / record["data_scale"] <= 1


@pytest.mark.parametrize("stretch", [1.0, 50.0])
def test_scaled_parameters_follow_the_data_scale(stretch):
    """A parameter in units of the data scale: every candidate (the default too) is its value
    times the scale of the training part, whatever the data's units."""
    SpyLearner.seen = []
    data = load("wine")
    stretched = replace(data, X=data.X * stretch)
    config = replace(TINY, n_splits=1, budget=3, scaling="minmax")
    method = Method("spy", SpyLearner(scale=2.0), {"scale": [3.0, 5.0]}, ("scale",))
    record = run_cell(stretched, method, 0, config)
    relative = record["params"]["scale"] / record["data_scale"]
    assert min(abs(relative - value) for value in (2.0, 3.0, 5.0)) < 1e-12
    assert record["search_space"] == {"scale": "[3.0, 5.0] x data scale"}
    # min-max scaling undoes the stretch: the same scale and the same choice
    reference = run_cell(data, method, 0, config)
    assert record["data_scale"] == pytest.approx(reference["data_scale"])
    assert record["params"] == pytest.approx(reference["params"])


def test_a_redefined_search_space_reruns_only_its_method(tmp_path):
    methods = {name: default_methods()[name] for name in ("euclidean", "lmnn-pl")}
    quiet = {"progress": False, "log": lambda *_: None}
    reproduce(["iris"], methods, replace(TINY, budget=1), tmp_path, **quiet)
    store = ResultStore(tmp_path)
    for split in range(TINY.n_splits):  # as written before margins were in scale units
        old = store.load("iris", "lmnn-pl", split)
        old.pop("scaled")
        old["search_space"]["perturbation_margin"] = "loguniform(0.01, 0.5)"
        old["clean_error"] = 0.999
        store.save(old)
    messages = []
    second = reproduce(["iris"], methods, replace(TINY, budget=1), tmp_path,
                       progress=False, log=messages.append)
    assert second.computed == 2 and second.reused == 2
    assert "2 stored with another search space" in messages[0]
    assert all(r["clean_error"] < 0.5 and r["scaled"] == ["perturbation_margin"]
               for r in store.records() if r["method"] == "lmnn-pl")


def test_select_on_the_command_line(tmp_path):
    out = tmp_path / "run"
    assert main(["reproduce", "--datasets", "iris", "--methods", "euclidean,lmnn", "--splits",
                 "1", "--budget", "2", "--select", "certified@0.3", "--out", str(out),
                 "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["select"] == "certified" and config["relative_radius"] == 0.3
    report = (out / "report.md").read_text()
    assert "robust_error_at_R" in report and "the highest certified accuracy at R" in report
    assert "lmnn search space" in report
    with pytest.raises(SystemExit, match="certified@F"):
        main(["reproduce", "--datasets", "iris", "--select", "robust", "--out", str(out)])


def test_old_result_directories_keep_working(tmp_path):
    """A config.json written before a setting existed still matches its default."""
    store = ResultStore(tmp_path)
    old = ProtocolConfig(n_splits=1).to_dict()
    del old["select"], old["relative_radius"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    (tmp_path / "records" / "iris" / "euclidean").mkdir(parents=True)
    (tmp_path / "records" / "iris" / "euclidean" / "split-000.json").write_text("{}")
    store.check_config(ProtocolConfig(n_splits=1).to_dict(),
                       complete=lambda saved: ProtocolConfig.from_dict(saved).to_dict())
    with pytest.raises(ConfigMismatch, match="select"):
        store.check_config(ProtocolConfig(n_splits=1, select="certified").to_dict(),
                           complete=lambda saved: ProtocolConfig.from_dict(saved).to_dict())


def test_arml_protocol_scaling_and_k(tmp_path):
    X = load("wine").X
    scaled = protocol.preprocessing(None, "minmax").fit(X[:100])
    train = scaled.transform(X[:100])
    assert np.allclose(train.min(axis=0), 0) and np.allclose(train.max(axis=0), 1)
    out = tmp_path / "arml"
    assert main(["reproduce", "--datasets", "wine", "--methods", "euclidean,arml", "--splits",
                 "1", "--scaling", "minmax", "--k", "11", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["scaling"] == "minmax" and config["n_neighbors"] == 11
    assert main(["reproduce", "--datasets", "wine", "--k", "2", "--out",
                 str(tmp_path / "even"), "--quiet"]) != 0


def test_successive_halving_search(monkeypatch):
    chosen = {}
    original = protocol.HalvingGridSearchCV

    def spy(*args, **kwargs):
        chosen["search"] = original(*args, **kwargs)
        return chosen["search"]

    monkeypatch.setattr(protocol, "HalvingGridSearchCV", spy)
    config = replace(TINY, budget=9, search="halving")
    record = run_cell(load("breast_cancer"), default_methods()["lmnn-pl"], 0, config)
    search = chosen["search"]
    # 9 candidates, then 3, then 1, each round on 3 times the data
    assert list(search.n_candidates_) == [9, 3, 1]
    assert search.n_resources_[1] == 3 * search.n_resources_[0]
    assert record["search"] == "halving" and record["cv_score"] == search.best_score_
    with pytest.raises(ValueError, match="search"):
        replace(TINY, search="bayes")


def test_staged_search_by_halving_refits_only_the_last_stage(monkeypatch):
    searches = []
    original = protocol.HalvingGridSearchCV

    def spy(*args, **kwargs):
        searches.append(original(*args, **kwargs))
        return searches[-1]

    monkeypatch.setattr(protocol, "HalvingGridSearchCV", spy)
    config = replace(TINY, budget=3, search="halving")
    record = run_cell(load("wine"), default_methods()["lmnn-pl-staged"], 0, config)
    assert [search.refit for search in searches] == [False, True]
    first, last = (search.best_params_ for search in searches)
    assert set(first) <= {"metric_learner__pull_weight", "metric_learner__drift_weight"}
    # the second stage searched with the first stage's choice in place
    fixed = searches[1].estimator.get_params()
    assert all(fixed[key] == value for key, value in first.items())
    assert record["cv_score"] == searches[1].best_score_


def store_records(root, runs):
    """Save each run's records (``{directory name: records}``) under ``root``."""
    for name, records in runs.items():
        store = ResultStore(root / name)
        for record in records:
            store.save(record)


def test_selection_report_compares_two_rules(tmp_path):
    def record(split, select, robust, clean):
        return {"dataset": "wine", "method": "lmnn-pl", "split": split, "select": select,
                "search_space": {"perturbation_weight": "loguniform(0.1, 100)"},
                "robust_error_at_R": robust, "clean_error": clean}
    baseline = [record(s, "accuracy", 0.30 + 0.01 * s, 0.05) for s in range(6)]
    robust = [record(s, "certified", 0.20 + 0.01 * s + 0.001 * s * s, 0.06) for s in range(6)]
    text = selection_report(robust, baseline)
    assert "certified against accuracy" in text
    # 6 splits of a constant clean-error change: significant by the sign test
    assert "| wine | 0.3250 -> 0.2342 (win) | 0.0500 -> 0.0600 (loss) |" in text
    assert "robust_error_at_R 1/0/0; clean_error 0/0/1" in text
    # through the command line, from two result directories
    store_records(tmp_path, {"acc": baseline, "cert": robust})
    assert main(["report", "--out", str(tmp_path / "cert"), "--baseline",
                 str(tmp_path / "acc")]) == 0
    assert "(win)" in (tmp_path / "cert" / "selection.md").read_text()


def test_selection_report_names_the_searches_it_compares():
    def record(split, search, clean):
        return {"dataset": "wine", "method": "lmnn", "split": split, "select": "accuracy",
                "search": search, "search_space": {"pull_weight": "uniform(0.05, 0.95)"},
                "robust_error_at_R": 0.3, "clean_error": clean}
    full = [record(s, "random", 0.04 + 0.001 * s) for s in range(6)]
    halving = [record(s, "halving", 0.05 + 0.001 * s) for s in range(6)]
    assert tuning_rule(full + halving) == "accuracy by halving/random search"
    text = selection_report(full, halving)
    assert "accuracy by random search against accuracy by halving search" in text
    assert "0.0525 -> 0.0425 (win)" in text


def test_verdict_table_counts_wins_and_the_clean_error_cost():
    def record(dataset, method, split, robust, clean, select="certified"):
        return {"dataset": dataset, "method": method, "split": split, "select": select,
                "robust_error_at_R": robust, "clean_error": clean}
    noise = [0.0, 0.01, -0.01, 0.02, -0.02, 0.005]
    records, baseline = [], []
    for s, e in enumerate(noise):
        # wine: lmnn-pl far below both rivals; iris: lmnn-pl equal to lmnn, above euclidean
        records += [record("wine", "lmnn-pl", s, 0.2 + e, 0.06 + e / 10),
                    record("wine", "euclidean", s, 0.5 + e / 2, 0.04 + e / 10),
                    record("wine", "lmnn", s, 0.4 - e, 0.05),
                    record("iris", "lmnn-pl", s, 0.3 + e, 0.1),
                    record("iris", "euclidean", s, 0.1 + e, 0.1),
                    record("iris", "lmnn", s, 0.3 + e, 0.1)]
        baseline += [record("wine", "lmnn-pl", s, 0.4, 0.05 + e / 10, "accuracy"),
                     record("iris", "lmnn-pl", s, 0.3, 0.1, "accuracy")]
    text = verdict_table(records, baseline)
    assert "tuned for accuracy" in text
    assert "| wine | 0.2008 | 0.5004 (win) | 0.3992 (win) | 0.0601 | 0.0401 (loss) " \
           "| 0.0501 (loss) |" in text
    assert "| iris | 0.3008 | 0.1008 (loss) | 0.3008 (tie) | 0.1000 | 0.1000 (tie) " \
           "| 0.1000 (tie) |" in text
    assert "| wins/ties/losses | | 1/0/1 | 1/1/0 | | 0/1/1 | 0/1/1 |" in text

    # the staged variant gets its own tables, against the same rivals and lmnn-pl
    staged = [dict(r, method="lmnn-pl-staged", robust_error_at_R=r["robust_error_at_R"] + 0.05)
              for r in records if r["method"] == "lmnn-pl"]
    text = verdict_table(records + staged, baseline, focus="lmnn-pl-staged")
    assert "## lmnn-pl-staged against the rest" in text
    # absent from the baseline: no column of its own clean error there, and the text says why
    assert "| wine | 0.2508 | 0.5004 (win) | 0.3992 (win) | 0.2008 (loss) | 0.0601 " \
           "| 0.0401 (loss) |\n" in text
    assert "lmnn-pl-staged is not in the baseline" in text
    assert "| wins/ties/losses | | 1/0/1 | 1/0/1 | 0/0/2 | | 0/1/1 |\n" in text
    def tuned(rs):
        return [dict(r, search_space={"perturbation_weight": "loguniform(0.1, 100)"})
                for r in rs if r["method"] != "euclidean"]
    selection = selection_report(tuned(records + staged), tuned(baseline))
    assert "Not in the baseline: lmnn, lmnn-pl-staged." in selection
    assert "### lmnn-pl-staged" not in selection
    assert "## lmnn-pl-staged: wins / ties / losses" in markdown_report(records + staged)


def test_combined_report_counts_each_run_and_data_set_once(tmp_path, capsys):
    def record(dataset, method, split, robust):
        return {"dataset": dataset, "method": method, "split": split,
                "robust_error_at_R": robust, "clean_error": 0.1}
    noise = [0.0, 0.01, -0.01, 0.02, -0.02, 0.005]
    # the same data set name in two runs: two data sets; lmnn-pl wins in one, ties in the other
    first = [r for s, e in enumerate(noise) for r in (record("wine", "lmnn-pl", s, 0.2 + e),
                                                      record("wine", "euclidean", s, 0.5 - e))]
    second = [r for s, e in enumerate(noise) for r in (record("wine", "lmnn-pl", s, 0.3 + e),
                                                       record("wine", "euclidean", s, 0.3 + e))]
    text = combined_report({"a": first, "b": second})
    assert text.startswith("# 2 data sets together: a, b")
    assert "| robust_error_at_R | 1/1/0 |" in text
    # lowest mean: lmnn-pl on both, the Euclidean metric tied on b
    assert "| robust_error_at_R | 1 | 2 |" in text
    # the means side by side, one row per run and data set
    assert "| a/wine | 0.4992 +- 0.0130 | **0.2008 +- 0.0130** |" in text
    assert "| b/wine | **0.3008 +- 0.0130** | **0.3008 +- 0.0130** |" in text
    # through the command line, from two result directories
    store_records(tmp_path, {"a": first, "b": second})
    assert main(["summary", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "| robust_error_at_R | 1/1/0 |" in capsys.readouterr().out
    assert main(["summary", str(tmp_path / "a"), str(tmp_path / "none")]) == 2
    assert "No records in" in capsys.readouterr().err
    # a mistyped directory is reported, and not created
    assert main(["report", "--out", str(tmp_path / "typo")]) == 2
    assert "No records to report" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "typo").exists()


def test_plots_of_many_methods_keep_their_legends_off_the_curves(tmp_path):
    pytest.importorskip("matplotlib")
    records = [{"dataset": "toy", "method": f"setting-{m:02d}", "split": s,
                "clean_error": 0.1 + m / 100, "certified_error": {"0.1": 0.2 + m / 100},
                "noise_error": {"0.1": 0.15}, "median_certified_radius": 0.3}
               for m in range(40) for s in range(2)]  # as many as a trade-off run has
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns when a layout cannot hold them
        paths = write_reports(records, tmp_path)
    assert tmp_path / "plots" / "toy.png" in paths


def test_run_time_sums_runs_and_ends_a_killed_one_at_its_last_record():
    def at(clock):
        return f"2026-11-26T{clock}:00+00:00"
    runs = [{"event": "start", "time": at("00:00")}, {"event": "end", "time": at("01:00")},
            {"event": "start", "time": at("02:00")},  # killed: no end
            {"event": "start", "time": at("05:00")}, {"event": "end", "time": at("05:30")}]
    records = [{"finished_at": at(clock)} for clock in ("00:30", "02:10", "02:40", "05:10")]
    assert run_time(runs, records) == (3600 + 2400 + 1800, 3, 1)
    assert run_time(runs[:2], []) == (3600, 1, 0)
    assert run_time([{"event": "start", "time": at("03:00")}], []) == (0.0, 1, 1)


def test_runs_are_logged_and_costed_in_the_report(tmp_path):
    methods = {"euclidean": default_methods()["euclidean"]}
    quiet = {"progress": False, "log": lambda *_: None}
    reproduce(["iris"], methods, TINY, tmp_path, **quiet)
    report = (tmp_path / "report.md").read_text()
    reproduce(["iris"], methods, TINY, tmp_path, **quiet)  # nothing to do: not a run
    drop_record(ResultStore(tmp_path), ("iris", "euclidean", 0))
    reproduce(["iris"], methods, TINY, tmp_path, **quiet)
    runs = ResultStore(tmp_path).runs()
    assert [e["event"] for e in runs] == ["start", "end", "start", "end"]
    assert runs[0]["cells"] == 2 and runs[1]["computed"] == 2 and runs[2]["cells"] == 1
    assert all("finished_at" in r for r in ResultStore(tmp_path).records())
    assert "hours of wall time over 1 run(s)" in report
    assert "hours of wall time over 2 run(s)" in (tmp_path / "report.md").read_text()


def test_fit_cache_serves_a_run_with_another_k(tmp_path, lmnn_fits, monkeypatch):
    """Runs that differ only in k share the metric fits of their cross-validation (a refit or
    a later stage differs only where k changes a choice), a run reuses its own repeated fits,
    and the records are those of runs without a cache."""
    fits = lmnn_fits
    methods = {name: default_methods()[name] for name in ("lmnn", "lmnn-pl-staged")}
    quiet = {"progress": False, "log": lambda *_: None, "backend": "sequential"}
    monkeypatch.chdir(tmp_path)
    cache = Path("cache")  # relative, as in the Makefile
    stage = TINY.budget * TINY.cv_folds
    reproduce(["iris"], methods, TINY, tmp_path / "k3", fit_cache=cache, **quiet)
    # lmnn-pl-staged's second stage starts from its first stage's choice: loaded
    assert len(fits) == TINY.n_splits * (3 * stage + 2 - TINY.cv_folds)
    other_k = replace(TINY, n_neighbors=1)
    fits.clear()
    reproduce(["iris"], methods, other_k, tmp_path / "k1", fit_cache=cache, **quiet)
    assert len(fits) <= TINY.n_splits * (stage + 2)
    fits.clear()
    reproduce(["iris"], methods, other_k, tmp_path / "k1-fresh", **quiet)
    assert len(fits) == TINY.n_splits * (3 * stage + 2)

    def numbers(directory):
        return {(r["method"], r["split"]): (r["params"], r["clean_error"], r["certified_error"])
                for r in ResultStore(directory).records()}
    assert numbers(tmp_path / "k1") == numbers(tmp_path / "k1-fresh")
    start = ResultStore(tmp_path / "k1").runs()[0]
    assert start["fit_cache"] == str(cache / Path(runner.fit_cache_location(cache)).name)
    assert "fit cache" in (tmp_path / "k1" / "report.md").read_text()
    assert "fit cache" not in (tmp_path / "k1-fresh" / "report.md").read_text()


def test_fit_cache_location_follows_the_library_versions(tmp_path, monkeypatch):
    here = runner.fit_cache_location(tmp_path)
    assert here == runner.fit_cache_location(tmp_path)
    assert here.startswith(str(tmp_path))
    monkeypatch.setattr(runner.sklearn, "__version__", "0.0.0")
    assert runner.fit_cache_location(tmp_path) != here

"""Trade-off curves: the Pareto front on a toy, method names, and a small run end to end."""

from dataclasses import replace

import pytest

from robustdml.experiments import tradeoff
from robustdml.experiments.protocol import ProtocolConfig


def test_pareto_front_of_a_toy():
    points = {"a": (0.10, 0.50), "b": (0.20, 0.30), "c": (0.30, 0.30), "d": (0.15, 0.60),
              "e": (0.40, 0.10), "f": (0.10, 0.50)}
    # c is beaten by b, d by a; a and f tie and both stay
    assert tradeoff.pareto(points) == ["a", "b", "e", "f"]


def test_method_names_round_trip():
    methods = tradeoff.tradeoff_methods(weights=(1.0, 10.0), margins=(0.1,))
    assert set(tradeoff.POINTS) <= set(methods)
    assert len(methods) == len(tradeoff.POINTS) + 2 * len(tradeoff.CURVES)
    name = tradeoff.setting_name("nca-pl", 10.0, 0.1)
    assert tradeoff.parse_setting(name) == ("nca-pl", 10.0, 0.1)
    assert tradeoff.parse_setting("euclidean") is None
    learner = methods[name].learner
    assert learner.perturbation_weight == 10.0 and learner.perturbation_margin == 0.1


def test_small_run_writes_the_table_and_plots(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(tradeoff, "WEIGHTS", (10.0,))
    monkeypatch.setattr(tradeoff, "MARGINS", (0.1, 0.4))
    config = replace(ProtocolConfig(n_splits=1), attack_points=10, noise_draws=1)
    tradeoff.run_tradeoff(["iris"], config, tmp_path, progress=False)
    table = (tmp_path / "pareto.md").read_text()
    assert "| iris |" in table and "robust_error_at_R" in table
    assert (tmp_path / "plots" / "tradeoff_iris.png").stat().st_size > 0
    assert (tmp_path / "plots" / "tradeoff_summary.png").is_file()
    # a rerun recomputes nothing
    summary = tradeoff.run_tradeoff(["iris"], config, tmp_path, progress=False)
    assert summary.computed == 0 and summary.reused == 4 + 2 * len(tradeoff.CURVES)


def test_command_line(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from robustdml.cli import main
    monkeypatch.setattr(tradeoff, "WEIGHTS", (10.0,))
    monkeypatch.setattr(tradeoff, "MARGINS", (0.2,))
    assert main(["tradeoff", "--datasets", "wine", "--splits", "1", "--out", str(tmp_path),
                 "--quiet"]) == 0
    assert "| wine |" in (tmp_path / "pareto.md").read_text()


def test_pareto_treats_rounding_as_a_tie():
    third = (0.1 + 0.2 + 0.3) / 3  # 0.20000000000000004
    points = {"a": (third, 0.5), "b": (0.2, 0.4)}
    assert tradeoff.pareto(points) == ["b"]

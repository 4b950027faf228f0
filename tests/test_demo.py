"""The default run: the demo suite, live progress, what a rerun and Ctrl-C say, the closing
table, report.md's opening and its plots."""

import ast
import io
import re
import time
import warnings
from pathlib import Path

import pytest

from robustdml import cli
from robustdml.experiments import report, runner
from robustdml.experiments.progress import Progress, clock
from robustdml.experiments.protocol import ProtocolConfig, run_cell
from robustdml.experiments.report import headline, markdown_report, overview, write_reports
from robustdml.experiments.suites import DEMO

IRIS = ["--datasets", "iris", "--methods", "euclidean,lmnn", "--splits", "1", "--budget", "1"]


def toy_records(splits=4):
    """Two data sets where "good" is more accurate and more robust than euclidean on every
    split, and "bad" less."""
    records = []
    for dataset in ("a", "b"):
        for split in range(splits):
            for method, shift in (("euclidean", 0.0), ("good", -0.05 - 0.004 * split),
                                  ("bad", 0.1)):
                wobble = 0.01 * (split % 2)
                records.append({"dataset": dataset, "method": method, "split": split,
                                "clean_error": 0.2 + shift + wobble,
                                "robust_error_at_R": 0.4 + 2 * shift + wobble,
                                "median_certified_radius": 0.3 - shift,
                                "certified_error": {"0.1": 0.3 + shift},
                                "empirical_error": {"0.1": 0.25 + shift},
                                "noise_error": {"0.1": 0.22 + shift}})
    return records


def test_the_default_run_is_the_demo_and_quick_keeps_its_protocol(monkeypatch):
    seen = {}

    def spy(datasets, methods, config, out, **options):
        seen.update(datasets=datasets, methods=list(methods), config=config, **options)
        return runner.RunSummary()

    monkeypatch.setattr(cli, "reproduce", spy)
    assert cli.main(["reproduce", "--out", "unused"]) == 0
    assert seen["datasets"] == DEMO["datasets"] and seen["methods"] == DEMO["methods"]
    assert seen["config"].cv_folds == 3 and seen["jobs"] == cli.cpu_count()
    assert cli.main(["reproduce", "--suite", "quick", "--out", "unused"]) == 0
    assert len(seen["methods"]) == 8
    assert seen["config"] == ProtocolConfig(n_splits=3, budget=4)  # as before the demo


def test_the_experiments_layer_defines_the_demo_and_never_imports_the_cli():
    """Imports flow math <- estimators <- evaluation <- experiments <- CLI: the suites are
    the experiments layer's, the command only reads them."""
    assert cli.DEMO is DEMO
    package = Path(runner.__file__).parent
    for path in package.rglob("*.py"):
        module = ["robustdml", *path.relative_to(package.parent).with_suffix("").parts]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):  # resolved: ``from .. import cli`` too
                base = module[:len(module) - node.level] if node.level else []
                imported = ".".join(base + ([node.module] if node.module else []))
                names = [imported] + [f"{imported}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert "robustdml.cli" not in names, f"{path} imports the CLI"


def test_progress_on_a_file_is_plain_lines():
    stream = io.StringIO()  # not a terminal
    cells = [("iris", "lmnn", 0), ("iris", "lmnn", 1), ("wine", "lmnn", 0)]
    status = Progress(cells, workers=2, stream=stream, where="results")
    # the first line comes at once, before any cell finished
    assert stream.getvalue() == "3 cells to run with 2 worker(s); records go to results\n"
    for cell in cells:
        status.dispatched(cell)
    assert status.in_flight() == cells[:2]
    status.finished(cells[0], 10.0, "clean error 0.1")
    status.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 2
    assert lines[1].startswith("[1/3 cells] iris/lmnn/0 done (clean error 0.1); 0:00 elapsed")
    assert "running iris/lmnn/1, wine/lmnn/0" in lines[1]


def test_progress_on_a_file_beats_while_no_cell_finishes():
    stream = io.StringIO()
    cells = [("iris", "lmnn", 0), ("wine", "lmnn", 0)]
    status = Progress(cells, workers=2, stream=stream, heartbeat=0.2)
    for cell in cells:
        status.dispatched(cell)
    time.sleep(0.5)
    status.close()
    beats = stream.getvalue().splitlines()[1:]
    assert "\r" not in stream.getvalue() and len(beats) >= 2
    assert all(line.startswith("[0/2 cells] still running; 0:0") for line in beats)
    assert re.search(r"running iris/lmnn/0 \(0:0\d\), wine/lmnn/0 \(0:0\d\)$", beats[0])


def test_progress_on_a_file_is_silent_while_cells_keep_finishing():
    stream = io.StringIO()
    cells = [("iris", "lmnn", split) for split in range(4)]
    status = Progress(cells, workers=1, stream=stream, heartbeat=0.5)
    for cell in cells:
        status.dispatched(cell)
        time.sleep(0.1)
        status.finished(cell, 0.1)
    status.close()
    assert "still running" not in stream.getvalue()


def test_progress_on_a_terminal_redraws_one_line_with_the_time_left():
    stream = io.StringIO()
    cells = [("iris", "lmnn", s) for s in range(5)]
    status = Progress(cells, workers=1, stream=stream, interactive=True, refresh=60)
    assert status.remaining() is None and "~?:?? left" in status.status()
    status.dispatched(cells[0])
    status.finished(cells[0], 30.0)
    # four cells of the same kind left, one worker: about two minutes
    assert status.remaining() == pytest.approx(120.0, abs=1.0)
    assert "~2:00 left" in status.status()
    status.close()
    assert stream.getvalue().count("\r") >= 3 and stream.getvalue().endswith("\n")
    assert clock(3725) == "1:02:05"


def test_run_shows_progress_lines_then_a_rerun_says_all_done(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["reproduce", *IRIS, "--jobs", "1", "--out", str(out)]) == 0
    first = capsys.readouterr()
    assert first.err.startswith(f"2 cells to run with 1 worker(s); records go to {out}\n")
    assert "\r" not in first.err and "[2/2 cells]" in first.err and "elapsed" in first.err
    assert "cells computed" in first.out
    assert cli.main(["reproduce", *IRIS, "--jobs", "1", "--out", str(out)]) == 0
    again = capsys.readouterr()
    assert again.err == "" and "cells computed" not in again.out
    assert f"All 2 cells already done; report rebuilt at {out / 'report.md'}." in again.out


@pytest.mark.parametrize("finished", [0, 1])
def test_ctrl_c_during_a_run_says_what_was_kept(tmp_path, capsys, monkeypatch, finished):
    calls = []

    def cell_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) > finished:
            raise KeyboardInterrupt
        return run_cell(*args, **kwargs)

    monkeypatch.setattr(runner, "run_cell", cell_then_interrupt)
    out = tmp_path / "run"
    code = cli.main(["reproduce", *IRIS, "--backend", "sequential", "--out", str(out)])
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 130 and "run the same command" in message
    if finished:
        assert f"1 cell(s) finished in this run, 1 of 2 are now kept in {out}" in message
    else:
        assert "no cell had finished, so nothing was kept" in message
        assert not (out / "records").exists()


def test_the_run_ends_with_a_short_table_and_where_things_are(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["reproduce", *IRIS, "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "clean error  robust error at R  median radius" in printed
    assert "euclidean" in printed and "lmnn" in printed
    assert f"Report: {out / 'report.md'}" in printed and str(out / "results.csv") in printed
    assert str(out / "plots") in printed


def test_overview_per_data_set_or_per_method():
    records = toy_records()
    small = overview(records).splitlines()
    assert small[0].split() == ["data", "set", "method", "clean", "error", "robust", "error",
                                "at", "R", "median", "radius"]
    good = next(line for line in small if "good" in line.split())  # data set a
    assert good.split() == ["good", "0.149*", "0.293*", "0.356*"]
    large = overview(records, max_rows=2).splitlines()
    assert large[0].split()[0] == "method" and len(large) == 1 + 3 + 2


def test_report_opens_with_the_conclusion_and_defines_its_names():
    text = markdown_report(toy_records(), {"n_neighbors": 3, "relative_radius": 0.1})
    summary = text.split("## Columns and names")[0]
    assert "## Summary" in summary and "**Most accurate: good**" in summary
    assert "**Most robust: good**" in summary
    # in words: the column names are defined only after the summary
    assert "clean_error" not in summary and "robust_error_at_R" not in summary
    assert "clean error: 0.1" in summary
    assert "certified robust error at R = 0.1 x data scale: 0.2" in summary
    assert "Against euclidean, data set by data set, it is lower on 2" in summary
    assert text.index("## Columns and names") < text.index("## clean_error")
    assert "- `robust_error_at_R`: the certified robust error at the reference radius R = 0.1 x" \
        in text
    assert "- `euclidean`: k-NN on the preprocessed features" in text


def test_headline_says_when_splits_are_too_few_to_test():
    lines = "\n".join(headline(toy_records(splits=2)))
    assert "too few for a paired test" in lines and "lower on" not in lines


def test_plots_have_one_legend_of_the_methods_and_no_hidden_line(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    records = toy_records()
    # a fourth method with the same numbers as euclidean: its lines must stay visible
    records += [dict(r, method="twin") for r in records if r["method"] == "euclidean"]
    figures = {}
    save = report.plots.save_figure

    def keep(figure, path, grow=False):
        figures[path.name] = figure
        legends = [axis.get_legend() for axis in figure.axes]
        figures[path.name + " legends"] = ([len(legend.get_texts()) for legend in
                                            figure.legends], legends)
        figures[path.name + " lines"] = [[(tuple(line.get_xdata()), tuple(line.get_ydata()))
                                          for line in axis.get_lines()] for axis in figure.axes]
        return save(figure, path, grow)

    monkeypatch.setattr(report.plots, "save_figure", keep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_reports(records, tmp_path)
    for name in ("a.png", "summary.png"):
        entries, axis_legends = figures[name + " legends"]
        assert entries == [4] and axis_legends == [None] * len(axis_legends)
        for lines in figures[name + " lines"]:
            assert len(set(lines)) == len(lines) == 4  # no two curves drawn on each other


def test_the_demo_needs_only_the_core_dependencies():
    """A pip user's first `robustdml reproduce` must not stop for a data package."""
    from robustdml.datasets import SPECS

    core = SPECS["iris"].requirement
    assert all(SPECS[name].requirement == core for name in DEMO["datasets"])


def test_report_shows_its_plots_by_relative_links(tmp_path):
    pytest.importorskip("matplotlib")
    write_reports(toy_records(), tmp_path)
    text = (tmp_path / "report.md").read_text()
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert links == ["plots/summary.png", "plots/a.png", "plots/b.png"]
    assert all((tmp_path / link).is_file() for link in links)
    assert text.index("## Columns and names") < text.index("## Plots") < text.index(
        "## clean_error")


def test_report_says_how_tuned_methods_were_chosen():
    records = [dict(r, search_space={"pull_weight": "uniform(0.05, 0.95)"}, select="certified",
                    search="random") if r["method"] == "good" else r for r in toy_records()]
    text = markdown_report(records, {"budget": 9, "cv_folds": 5, "relative_radius": 0.1})
    assert ("Tuned methods (good): each tried 9 candidate settings (the defaults and 8 random "
            "draws from the search space below") in text
    assert ("scored them by 5-fold cross-validation on the whole training part, and kept the "
            "one with the highest certified accuracy at R") in text
    assert "Tuning maximised" not in text
    assert "No method was tuned" in markdown_report(toy_records())
    assert "each tried 1 candidate setting (its defaults: no random draw)" in markdown_report(
        records, {"budget": 1})

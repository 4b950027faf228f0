"""The README's and the docs pages' examples, the docstring examples and the Makefile's study
run as written."""

import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

import robustdml.estimators.arml
import robustdml.estimators.lmnn
import robustdml.estimators.nca
import robustdml.estimators.triplet_lmnn
import robustdml.evaluation.certify
import robustdml.evaluation.scoring

README = Path(__file__).resolve().parents[1] / "README.md"
GETTING_STARTED = README.parent / "docs" / "getting_started.md"


def run_python_blocks(path, capsys):
    """Run a Markdown file's python blocks in order, warnings as errors; return what they
    printed and the page's text blocks (the outputs it shows)."""
    text = path.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{path} has no python block"
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in blocks:
            exec(compile(block, str(path), "exec"), namespace)
    return capsys.readouterr().out, re.findall(r"```text\n(.*?)```", text, flags=re.S)


def test_readme_quick_start_prints_what_it_shows(capsys):
    printed, shown = run_python_blocks(README, capsys)
    assert "lmnn-pl" in printed and shown
    assert all(output in printed for output in shown)


def test_getting_started_blocks_print_what_the_page_shows(capsys):
    printed, shown = run_python_blocks(GETTING_STARTED, capsys)
    assert len(shown) >= 2
    assert all(output in printed for output in shown)


def test_certification_guide_blocks_run(capsys):
    printed, _ = run_python_blocks(README.parent / "docs" / "user_guide" / "certification.md",
                                   capsys)
    assert "certifiedknn__metric_learner__pull_weight" in printed


def test_learners_guide_example_prints_what_the_page_shows(capsys):
    """The "Writing a new learner" example: a learner defined on the page fits, certifies,
    saves and loads."""
    printed, shown = run_python_blocks(README.parent / "docs" / "user_guide" / "learners.md",
                                       capsys)
    assert shown and all(output in printed for output in shown)


def test_api_reference_lists_every_public_name():
    """docs/api.md has an autosummary entry for every name the package and its public
    submodules export (a name documented at the top level counts for its submodule too)."""
    import robustdml
    import robustdml.datasets
    import robustdml.estimators
    import robustdml.evaluation
    import robustdml.math
    import robustdml.metrics

    entries = set(re.findall(r"^   (\w+)$", (README.parent / "docs" / "api.md").read_text(),
                             flags=re.M))
    for module in [robustdml, robustdml.metrics, robustdml.math, robustdml.estimators,
                   robustdml.evaluation, robustdml.datasets]:
        missing = set(module.__all__) - entries
        assert not missing, f"{module.__name__}: {sorted(missing)} not in docs/api.md"


def test_offline_check_flags_remote_assets_and_allows_links(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "check_offline", README.parent / "docs" / "check_offline.py")
    check_offline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_offline)
    (tmp_path / "ok.html").write_text(
        '<a href="https://numpy.org/doc/">NumPy</a><script src="_static/a.js"></script>'
        '<link rel="stylesheet" href="_static/a.css"><link rel="canonical" href="https://x.org/">')
    (tmp_path / "page.html").write_text(
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<img srcset="a.png 1x, //cdn.example.org/b.png 2x">'
        '<style>@import "https://fonts.example.org/css";</style>')
    (tmp_path / "theme.css").write_text("body { background: url('https://x.org/bg.png'); }")
    assert check_offline.remote_assets(tmp_path) == {
        "page.html": ["//cdn.example.org/b.png", "https://cdn.example.org/lib.js",
                      "https://fonts.example.org/css"],
        "theme.css": ["https://x.org/bg.png"]}
    assert check_offline.main(["check_offline.py", str(tmp_path)]) == 1


@pytest.mark.parametrize("module", [robustdml.estimators.arml, robustdml.estimators.lmnn,
                                    robustdml.estimators.nca, robustdml.estimators.triplet_lmnn,
                                    robustdml.evaluation.certify,
                                    robustdml.evaluation.scoring])
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_make_study_runs_only_valid_configurations(tmp_path, monkeypatch):
    """Every command `make study` would run parses and builds its protocol (a refused
    combination would otherwise stop the study hours in), and tuning for certified accuracy
    never uses successive halving."""
    from robustdml import cli
    from robustdml.experiments.runner import RunSummary

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()  # newer than pyproject.toml: no setup step
    calls = tmp_path / "calls"
    fake = venv / "bin" / "robustdml"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    # as a top-level make (under `make test`, a nested one would print its directory)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    script = subprocess.run(["make", "--no-print-directory", "-n", "study", f"VENV={venv}"],
                            cwd=README.parent, env=environment, capture_output=True, text=True,
                            check=True).stdout
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, check=True)
    commands = [line.split() for line in calls.read_text().splitlines()]
    configs = []
    monkeypatch.setattr(cli, "reproduce", lambda datasets, methods, config, out, **kw:
                        configs.append(config) or RunSummary())
    monkeypatch.setattr(cli, "run_tradeoff", lambda *args, **kwargs: None)
    for args in commands:
        if args[0] in ("reproduce", "tradeoff"):
            assert cli.main(args) == 0, args
    assert {c.select for c in configs} == {"accuracy", "certified"}
    assert all(c.search == "random" for c in configs if c.select == "certified")
    reported = {args[args.index("--out") + 1] for args in commands if args[0] == "report"}
    produced = {args[args.index("--out") + 1] for args in commands if args[0] == "reproduce"}
    assert reported and reported <= produced

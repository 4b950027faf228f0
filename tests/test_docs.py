"""The README's and the getting-started page's examples, the docstring examples and the Makefile's study run as written."""

import doctest
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


def test_readme_python_blocks_run_in_order(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    assert "lmnn-pl" in capsys.readouterr().out


def test_getting_started_blocks_print_what_the_page_shows(capsys):
    """The quick start's python blocks run in order, without a warning, and print the
    outputs that the page shows in its text blocks."""
    text = GETTING_STARTED.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    shown = re.findall(r"```text\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3 and shown
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in blocks:
            exec(compile(block, str(GETTING_STARTED), "exec"), namespace)
    printed = capsys.readouterr().out
    for output in shown:
        assert output in printed


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

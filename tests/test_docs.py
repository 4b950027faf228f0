"""The README's examples and the docstring examples run as written."""

import doctest
import re
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


def test_readme_python_blocks_run_in_order(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    assert "lmnn-pl" in capsys.readouterr().out


@pytest.mark.parametrize("module", [robustdml.estimators.arml, robustdml.estimators.lmnn,
                                    robustdml.estimators.nca, robustdml.estimators.triplet_lmnn,
                                    robustdml.evaluation.certify,
                                    robustdml.evaluation.scoring])
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0

"""scikit-learn's own tests of ``NeighborhoodComponentsAnalysis``, run against ``robustdml.NCA``.

The test file ships in scikit-learn's wheel. This test reads it from the installed package,
swaps the estimator for ``robustdml.NCA``, writes the result to a temporary folder and runs it
with pytest in a subprocess; nothing of scikit-learn's tests is kept in this repository.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "neighbors" / "tests" / "test_nca.py"

IMPORT = "from sklearn.neighbors import NeighborhoodComponentsAnalysis\n"
SWAPPED_IMPORT = "from robustdml import NCA as NeighborhoodComponentsAnalysis\n"

#: The expected message of every ``pytest.raises`` and ``pytest.warns`` there: dropped, so
#: that those tests check that we raise (or warn) where scikit-learn does, not its wording.
MESSAGE_MATCH = ", match=re.escape(msg)"

#: The tests left out, each with why.
LEFT_OUT = {
    "test_finite_differences": "tests the private _loss_grad_lbfgs (test_nca.py checks our "
                               "gradient against it)",
    "test_toy_example_collapse_points": "its callback calls the private _loss_grad_lbfgs",
    "test_verbose": "asserts scikit-learn's progress table, headed by its class name",
    "test_one_class": "one class: fitting raises a clear ValueError, our rule for every learner",
}

#: Tests of what robustdml had to change to pass: they must run, and pass.
MUST_PASS = ["test_auto_init[", "test_warm_start_validation", "test_warm_start_effectiveness",
             "test_callback", "test_expected_transformation_shape"]


def test_scikit_learn_nca_tests_pass_against_robustdml(tmp_path):
    if not SOURCE.exists():
        pytest.skip(f"this scikit-learn install has no tests ({SOURCE} is missing)")
    source = SOURCE.read_text()
    assert source.count(IMPORT) == 1, f"{SOURCE} no longer imports the estimator as expected"
    assert MESSAGE_MATCH in source, f"{SOURCE} no longer matches messages as expected"
    for name in LEFT_OUT:  # a name scikit-learn dropped would leave nothing out silently
        assert f"def {name}(" in source, f"{name} is no longer in {SOURCE}"
    swapped = tmp_path / "test_nca_against_robustdml.py"
    swapped.write_text(source.replace(IMPORT, SWAPPED_IMPORT).replace(MESSAGE_MATCH, ""))

    deselect = [f"--deselect={swapped.name}::{name}" for name in LEFT_OUT]
    run = subprocess.run([sys.executable, "-m", "pytest", swapped.name, "-q", "-rA",
                          "-p", "no:cacheprovider", *deselect],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    passed = re.findall(r"^PASSED \S+::(\S+)", run.stdout, flags=re.MULTILINE)
    for name in MUST_PASS:
        assert any(test.startswith(name) for test in passed), f"{name} did not pass"
    assert len(passed) >= 200, run.stdout[-2000:]

"""The benchmark scripts stay runnable (their numbers live in benchmarks/report.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("method", ["ours-lbfgs-pl", "certify"])
def test_measure_script_runs(method):
    spec = {"data": "digits", "method": method, "repeats": 1}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "measure.py"),
                           json.dumps(spec)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n_train"] == 1257 and len(result["seconds"]) == 1
    if method == "certify":
        assert result["median_radius"] > 0
    else:
        assert 0.9 < result["accuracy"] <= 1.0 and result["peak_mb"] > 0

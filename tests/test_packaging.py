"""pyproject.toml against what it claims: the floors are the versions `make test-compat` tests,
and the build backend understands the metadata (`make dist` checks the built archives)."""

import re
from pathlib import Path

import pytest
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def floors(requirements):
    """{name: Version} of the ``name>=version`` requirements."""
    found = (re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?>=([0-9.]+)", text)
             for text in requirements)
    return {match[1].lower(): Version(match[2]) for match in found if match}


def test_compat_oldest_set_is_the_floors(pyproject):
    makefile = (REPO / "Makefile").read_text()
    pins = re.search(r"^COMPAT_OLDEST \?= (.*)$", makefile, re.M)[1].split()
    oldest = {name: Version(version) for name, version in (pin.split("==") for pin in pins)}
    declared = floors(pyproject["project"]["dependencies"])
    assert {name: declared[name] for name in oldest} == oldest
    assert set(oldest) == set(declared)  # every core dependency is tested at its floor


def test_build_backend_reads_the_spdx_license(pyproject):
    # a license given as a string (PEP 639) needs setuptools >= 77
    assert isinstance(pyproject["project"]["license"], str)
    assert floors(pyproject["build-system"]["requires"])["setuptools"] >= Version("77")
    for name in pyproject["project"]["license-files"]:
        assert (REPO / name).read_text().startswith("MIT License")

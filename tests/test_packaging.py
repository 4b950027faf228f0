"""pyproject.toml against what it claims: the floors are the versions `make test-compat` tests,
the build backend understands the metadata, the version has one source (`make dist` checks the
built archives)."""

import re
from pathlib import Path

import pytest
from packaging.version import Version

import robustdml
from robustdml.cli import build_parser

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


def test_version_comes_from_one_place(pyproject, capsys):
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "robustdml.__version__"}
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"robustdml {robustdml.__version__}\n"
    # the citation names the release it cites
    cited = re.search(r"^version: (\S+)$", (REPO / "CITATION.cff").read_text(), re.M)[1]
    assert cited == robustdml.__version__

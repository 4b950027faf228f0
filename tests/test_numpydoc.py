"""Every public docstring passes numpydoc's validation, with the checks of pyproject.toml."""

import importlib
import inspect
import re
import tomllib
from functools import cached_property
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
CONFIG = tomllib.loads(PYPROJECT.read_text())["tool"]["numpydoc_validation"]
CHECKS = numpydoc_validate.get_validation_checks(set(CONFIG["checks"]))
EXCLUDE = [re.compile(pattern) for pattern in CONFIG.get("exclude", [])]

#: The public modules; those without ``__all__`` contribute the functions and classes they define.
MODULES = ["robustdml", "robustdml.metrics", "robustdml.math", "robustdml.estimators",
           "robustdml.evaluation", "robustdml.preprocessing", "robustdml.datasets",
           "robustdml.io"]


def _module_names(module):
    if hasattr(module, "__all__"):
        return module.__all__
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__]


def _members(cls):
    """Full names of the public methods and properties ``cls`` has from robustdml's classes,
    once per definition: a member inherited from a robustdml base is named after the base."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next(base for base in cls.__mro__ if name in vars(base))
        value = vars(owner)[name]
        if owner.__module__.startswith("robustdml") and (
                inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod,
                                                                property, cached_property))):
            yield f"{owner.__module__}.{owner.__qualname__}.{name}"


def public_names():
    """Full names of every public function, class, method and property of robustdml."""
    names = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in _module_names(module):
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue  # constants and data: documented by their module
            names.add(f"{value.__module__}.{value.__qualname__}")
            if inspect.isclass(value):
                names.update(_members(value))
    return sorted(name for name in names if not any(p.search(name) for p in EXCLUDE))


def _errors(name):
    return [f"{code}: {message}" for code, message in numpydoc_validate.validate(name)["errors"]
            if code in CHECKS]


def test_the_public_names_are_found():
    names = public_names()
    for expected in ["robustdml.estimators.lmnn.LMNN", "robustdml.estimators._learner."
                     "MetricLearner.fit", "robustdml.evaluation.certify.CertifiedKNN."
                     "certified_radius", "robustdml.evaluation.scoring.make_certified_scorer",
                     "robustdml.io.save", "robustdml.math.margin.adversarial_margin"]:
        assert expected in names
    assert not any(name.endswith(".set_params") for name in names)


@pytest.mark.parametrize("name", public_names())
def test_docstring_is_valid(name):
    errors = _errors(name)
    assert not errors, "\n".join(errors)


def test_an_undocumented_parameter_fails():
    def documented(alpha, beta):
        """Add two numbers.

        Parameters
        ----------
        alpha : float
            The first.

        Returns
        -------
        float
            The sum.

        See Also
        --------
        sum : Add many numbers.

        Examples
        --------
        >>> documented(1, 2)
        3
        """
        return alpha + beta

    errors = [code for code, _ in numpydoc_validate.validate(
        numpydoc_validate.get_doc_object(documented))["errors"]
        if code in CHECKS]
    assert errors == ["PR01"]

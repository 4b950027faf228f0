"""The gallery's scripts have the shape sphinx-gallery needs and the habits the docs promise.

Running them is left to ``make docs`` (sphinx-gallery executes every example): here they are
only parsed, so the check costs milliseconds.
"""

import ast
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))
#: Calls that draw random numbers: each must be given ``random_state``.
SEEDED = {"LMNN", "NCA", "ARML", "TripletLMNN", "train_test_split", "make_blobs",
          "make_classification", "make_moons", "PCA"}
#: Modules that would reach the network (data must come from scikit-learn or be generated).
NETWORK = {"urllib", "requests", "http", "socket"}


def _name(node):
    """The called name: ``f`` for ``f(...)``, ``g`` for ``a.g(...)``."""
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _tree(script):
    return ast.parse(script.read_text(encoding="utf-8"), filename=str(script))


def test_gallery_has_a_header_and_enough_examples():
    lines = (EXAMPLES / "README.rst").read_text(encoding="utf-8").splitlines()
    titles = [i for i in range(1, len(lines))
              if lines[i] and set(lines[i]) == {"="} and len(lines[i]) >= len(lines[i - 1]) > 0]
    assert titles, "examples/README.rst needs a title underlined with '='"
    assert len(SCRIPTS) >= 8, f"the gallery needs at least 8 examples, has {len(SCRIPTS)}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_docstring_is_a_sphinx_gallery_header(script):
    docstring = ast.get_docstring(_tree(script), clean=False)
    assert docstring, f"{script.name} needs a module docstring"
    lines = docstring.strip("\n").splitlines()
    title, underline = lines[0], lines[1]
    assert title.strip() and set(underline) == {"="} and len(underline) >= len(title), (
        f"{script.name}: the docstring must open with a title underlined with '='")
    assert any(line.strip() for line in lines[2:]), f"{script.name}: a paragraph must follow"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_has_cells_is_seeded_offline_and_draws(script):
    text = script.read_text(encoding="utf-8")
    assert text.count("\n# %%") >= 2, f"{script.name}: split the code into '# %%' cells"
    tree = _tree(script)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    unseeded = [f"{_name(call)} (line {call.lineno})" for call in calls
                if _name(call) in SEEDED
                and "random_state" not in {keyword.arg for keyword in call.keywords}]
    assert not unseeded, f"{script.name}: give random_state to {', '.join(unseeded)}"
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import)
                              else [ast.alias(node.module or "")])}
    assert not imported & NETWORK, f"{script.name} imports {imported & NETWORK}"
    fetches = [_name(call) for call in calls if (_name(call) or "").startswith("fetch_")]
    assert not fetches, f"{script.name} downloads data with {fetches}"
    assert "show" in {_name(call) for call in calls}, f"{script.name} must draw a figure"

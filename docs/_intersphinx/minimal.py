"""Write the minimal intersphinx inventories of projects whose objects.inv no package ships.

Usage: ``python docs/_intersphinx/minimal.py`` (rewrites numpy.inv, matplotlib.inv, joblib.inv
and pandas.inv here). Each lists only the names robustdml's documentation refers to, with the
address each has on that project's site; add a name here when a new reference needs it.
"""

import zlib
from pathlib import Path

# (name, domain:role, address relative to the project's documentation root)
ENTRIES = {
    "numpy": [
        ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
        ("numpy.random.Generator", "py:class",
         "reference/random/generator.html#numpy.random.Generator"),
        ("numpy.random.RandomState", "py:class",
         "reference/random/legacy.html#numpy.random.RandomState"),
        ("numpy.load", "py:function", "reference/generated/numpy.load.html#numpy.load"),
        ("numpy.savez_compressed", "py:function",
         "reference/generated/numpy.savez_compressed.html#numpy.savez_compressed"),
        ("numpy.linalg.eigh", "py:function",
         "reference/generated/numpy.linalg.eigh.html#numpy.linalg.eigh"),
    ],
    "matplotlib": [
        ("matplotlib.axes.Axes", "py:class", "api/_as_gen/matplotlib.axes.Axes.html"
         "#matplotlib.axes.Axes"),
        ("matplotlib.figure.Figure", "py:class", "api/_as_gen/matplotlib.figure.Figure.html"
         "#matplotlib.figure.Figure"),
        ("matplotlib.pyplot.subplots", "py:function",
         "api/_as_gen/matplotlib.pyplot.subplots.html#matplotlib.pyplot.subplots"),
    ],
    "joblib": [
        ("joblib.Memory", "py:class", "generated/joblib.Memory.html#joblib.Memory"),
        ("joblib.Parallel", "py:class", "generated/joblib.Parallel.html#joblib.Parallel"),
    ],
    "pandas": [
        ("pandas.DataFrame", "py:class",
         "reference/api/pandas.DataFrame.html#pandas.DataFrame"),
    ],
}
PROJECTS = {"numpy": ("NumPy", "2"), "matplotlib": ("Matplotlib", "3"),
            "joblib": ("joblib", "1"), "pandas": ("pandas", "2")}


def write(name, entries, folder):
    project, version = PROJECTS[name]
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    body = "".join(f"{obj} {role} 1 {uri} -\n" for obj, role, uri in sorted(entries))
    (folder / f"{name}.inv").write_bytes(header.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for name, entries in ENTRIES.items():
        write(name, entries, here)

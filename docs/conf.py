"""Sphinx configuration of robustdml's documentation (``make docs``).

Every page must open without network access: intersphinx reads the inventories committed in
``_intersphinx/``, MathJax is served from ``_static/mathjax`` (``make docs`` unpacks it from the
npm registry) and the theme is set to fetch nothing.
"""

import shutil
from pathlib import Path

from sphinx.util.nodes import make_refnode

import robustdml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: Sphinx installs tomli
    import tomli as tomllib

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The study's records and summaries (``make study`` writes them); results/study.md shows them.
STUDY = ROOT / "study"

project = "robustdml"
author = "the robustdml developers"
copyright = "2026, the robustdml developers"
release = version = robustdml.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_intersphinx", "**/_generated/*.md",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
templates_path = ["_templates"]
nitpicky = True
# TripletSet's deprecated `normaliser` argument is a dataclasses.InitVar, which the Python
# inventory does not list
nitpick_ignore = [("py:class", "dataclasses.InitVar")]

# -- Markdown -------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- API reference --------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
numpydoc_show_class_members = False
# parameter types stay text: "array-like of shape (n_samples, n_features)" is read, not linked
numpydoc_xref_param_type = False

# Docstring checks, listed once in pyproject.toml ([tool.numpydoc_validation]); with -W every
# finding fails the build.
_validation = tomllib.loads((ROOT / "pyproject.toml").read_text()).get(
    "tool", {}).get("numpydoc_validation", {})
numpydoc_validation_checks = set(_validation.get("checks", ["all"]))
numpydoc_validation_exclude = set(_validation.get("exclude", []))

# Offline inventories: see _intersphinx/README.md for where each file comes from; the links
# they resolve point to the projects' sites, which a reader may follow when online.
intersphinx_mapping = {
    name: (url, str(DOCS / "_intersphinx" / f"{name}.inv"))
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "scipy": "https://docs.scipy.org/doc/scipy/",
        "sklearn": "https://scikit-learn.org/stable/",
        "matplotlib": "https://matplotlib.org/stable/",
        "dask": "https://docs.dask.org/en/stable/",
        "joblib": "https://joblib.readthedocs.io/en/stable/",
        "pandas": "https://pandas.pydata.org/docs/",
    }.items()
}

# -- Math: MathJax 3 from this site, never from a CDN -------------------------------------------
mathjax_path = "mathjax/tex-chtml.js"

# -- Gallery --------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "doc_module": ("robustdml",),
    "backreferences_dir": "generated/backreferences",
    "show_memory": False,
    # its timing pages load jQuery and DataTables from CDNs
    "write_computation_times": False,
    "matplotlib_animations": False,
}

# -- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"robustdml {release}"
html_static_path = ["_static"]
# a local icon, so that browsers do not ask the server for /favicon.ico
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
html_theme_options = {
    # nothing the theme could fetch: no version switcher (its JSON would be fetched), no
    # analytics, no icon links to other sites
    "navbar_end": ["theme-switcher"],
    "icon_links": [],
    "show_version_warning_banner": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
# pages without sub-pages: no empty "Section Navigation" column
html_sidebars = {page: [] for page in ("getting_started", "changelog", "citing")}


def _copy_results(app):
    """Put the committed study summaries and trade-off plot where results/study.md includes
    them."""
    target = DOCS / "results" / "_generated"
    target.mkdir(exist_ok=True)
    for name in ["certified-summary.md", "accuracy-summary.md", "arml-k-summary.md",
                 "tradeoff-quick/pareto.md", "tradeoff-quick/plots/tradeoff_summary.png"]:
        source = STUDY / name
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing: results/study.md renders the study's "
                                    f"summaries from {STUDY} (make study writes them).")
        shutil.copyfile(source, target / name.replace("/", "-"))


def _skip_routing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated metadata-routing setters (set_fit_request, ...)."""
    return True if name.startswith("set_") and name.endswith("_request") else None


def _resolve_short_name(app, env, node, contnode):
    """Resolve a name a docstring writes without its module (``CertifiedKNN`` in a See Also,
    ``TripletSet.from_indices``) to the one documented robustdml object it can mean."""
    if node.get("refdomain") != "py" or not node.get("reftarget"):
        return None
    target = node["reftarget"].lstrip(".~")
    objects = env.get_domain("py").objects
    # autodoc also registers each class under its defining module (an alias): skip those
    matches = [name for name, entry in objects.items()
               if name.startswith("robustdml.") and name.endswith("." + target)
               and not entry.aliased]
    if len(matches) != 1:
        return None
    entry = objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode,
                        matches[0])


def setup(app):
    app.connect("builder-inited", _copy_results)
    app.connect("autodoc-skip-member", _skip_routing)
    app.connect("missing-reference", _resolve_short_name)

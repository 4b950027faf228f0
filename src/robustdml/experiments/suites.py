"""The study's suites: which data sets, methods and protocol settings ``robustdml reproduce
--suite NAME`` runs, the default one being the demo."""

from ..datasets import SUITES

#: The default suite: minutes on 2 cores. Small data sets where learned metrics differ from
#: the Euclidean one, the method and its closest peers, a small search (3 folds, not 5).
DEMO = {"datasets": ["wine", "balance_scale", "waveform_1000", "breast_cancer"],
        "methods": ["euclidean", "lmnn", "lmnn-pl", "arml"]}
#: Data sets of each suite (``--suite``).
SUITE_DATASETS = {"demo": DEMO["datasets"], **SUITES}
#: Splits, random-search budget, CV folds and scaling of each suite, when not given on the
#: command line.
SUITE_DEFAULTS = {"demo": {"splits": 3, "budget": 3, "scaling": "standardize", "cv_folds": 3,
                           "methods": DEMO["methods"]},
                  "quick": {"splits": 3, "budget": 4, "scaling": "standardize"},
                  "paper16": {"splits": 20, "budget": 8, "scaling": "standardize"},
                  "arml": {"splits": 10, "budget": 8, "scaling": "minmax"}}

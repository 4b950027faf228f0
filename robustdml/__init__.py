"""robustdml: robust distance metric learning with certified k-NN robustness.

Layout (imports flow downward only): ``math`` (margin, triplets, losses, solvers) <-
``estimators`` (LMNN, k-NN) <- ``experiments``; ``datasets`` loads data for all of them.
"""

from .estimators import KNNClassifier, LMNN, MahalanobisMixin
from .math import LMNNLoss, PerturbationLoss, adversarial_margin, build_triplets

__version__ = "0.1.0"

__all__ = [
    "KNNClassifier",
    "LMNN",
    "LMNNLoss",
    "MahalanobisMixin",
    "PerturbationLoss",
    "adversarial_margin",
    "build_triplets",
]

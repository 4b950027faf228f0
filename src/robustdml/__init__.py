"""robustdml: robust distance metric learning with certified k-NN robustness.

Layout (imports flow downward only): ``math`` (margin, triplets, losses, solvers) <-
``estimators`` (LMNN, k-NN) <- ``evaluation`` (certificates, attacks, noise) <-
``experiments``; ``datasets`` loads data for all of them.
"""

from .estimators import (ARML, NCA, KNNClassifier, LMNN, MahalanobisMixin, RobustFineTuner,
                         TripletLMNN)
from .evaluation import CertifiedKNN, knn_attack, minimal_perturbation_1nn, noise_error
from .math import LMNNLoss, PerturbationLoss, adversarial_margin, build_triplets

__version__ = "0.1.0"

from .io import ModelFileError, load, save  # noqa: E402 (io reads __version__)

__all__ = [
    "ARML",
    "CertifiedKNN",
    "KNNClassifier",
    "LMNN",
    "LMNNLoss",
    "MahalanobisMixin",
    "ModelFileError",
    "NCA",
    "PerturbationLoss",
    "RobustFineTuner",
    "TripletLMNN",
    "adversarial_margin",
    "build_triplets",
    "knn_attack",
    "load",
    "minimal_perturbation_1nn",
    "noise_error",
    "save",
]

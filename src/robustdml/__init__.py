"""robustdml: robust distance metric learning with certified k-NN robustness.

Layout (imports flow downward only): ``math`` (margin, triplets, losses, solvers) <-
``estimators`` (LMNN, k-NN) <- ``evaluation`` (certificates, attacks, noise) <-
``experiments``; ``datasets`` loads data for all of them.
"""

from .estimators import ARML, NCA, KNNClassifier, LMNN, MahalanobisMixin, TripletLMNN
from .evaluation import CertifiedKNN, knn_attack, minimal_perturbation_1nn, noise_error
from .math import LMNNLoss, PerturbationLoss, adversarial_margin, build_triplets

__version__ = "0.1.0"

# io reads __version__; load and save are the deprecated names of load_model and save_model
from .io import ModelFileError, load, load_model, save, save_model  # noqa: E402

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
    "TripletLMNN",
    "adversarial_margin",
    "build_triplets",
    "knn_attack",
    "load_model",
    "minimal_perturbation_1nn",
    "noise_error",
    "save_model",
]

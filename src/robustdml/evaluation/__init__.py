"""Evaluation of learned metrics: certified radii, exact 1-NN minimal perturbations, attacks
and noise. Built on :mod:`robustdml.estimators` and :mod:`robustdml.math`."""

from .attack import AttackResult, knn_attack
from .certify import CertifiedKNN, certified_radius
from .exact import minimal_perturbation_1nn
from .noise import noise_error

__all__ = ["AttackResult", "CertifiedKNN", "certified_radius", "knn_attack",
           "minimal_perturbation_1nn", "noise_error"]

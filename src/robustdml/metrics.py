"""Robustness scores and scorers for model selection.

``certified_accuracy_score`` / ``make_certified_scorer(radius)``: accuracy with a certified
radius above ``radius``; ``noise_accuracy_score`` / ``make_noise_scorer(sigma)``: accuracy under
Gaussian input noise; the clean counterpart is scikit-learn's ``scoring="accuracy"``. All work
as ``scoring=`` in ``GridSearchCV`` and ``cross_val_score`` with a ``CertifiedKNN`` or a
``Pipeline`` ending in one (they are defined in ``robustdml.evaluation.scoring``).
``data_scale(X, y)`` is the unit in which to give a radius or a perturbation margin that should
mean the same on any data.
"""

from .evaluation.scoring import (certified_accuracy_score, data_scale, make_certified_scorer,
                                 make_noise_scorer, noise_accuracy_score)

__all__ = ["certified_accuracy_score", "data_scale", "make_certified_scorer",
           "make_noise_scorer", "noise_accuracy_score"]

"""scikit-learn estimators built on :mod:`robustdml.math`."""

from ._base import MahalanobisMixin
from .knn import KNNClassifier
from .lmnn import LMNN

__all__ = ["KNNClassifier", "LMNN", "MahalanobisMixin"]

"""scikit-learn estimators built on :mod:`robustdml.math`."""

from ._base import MahalanobisMixin, SavedStateMixin
from ._learner import FitResult, MetricLearner
from .arml import ARML
from .finetune import RobustFineTuner
from .knn import KNNClassifier
from .lmnn import LMNN
from .nca import NCA
from .triplet_lmnn import TripletLMNN

__all__ = ["ARML", "FitResult", "KNNClassifier", "LMNN", "MahalanobisMixin", "MetricLearner",
           "NCA", "RobustFineTuner", "SavedStateMixin", "TripletLMNN"]

"""The mathematics: adversarial margin, triplets, losses and solvers. Imports nothing above it."""

from ._linalg import exact_neighbors, kneighbors, knn_vote, leave_one_out_accuracy
from .impostors import ActiveTriplets
from .losses import (DriftPenalty, LMNNLoss, PerturbationLoss, SignedMarginLoss,
                     TripletGeometry, TripletLoss, TripletObjective)
from .margin import DEGENERACY_RTOL, adversarial_margin, degeneracy_guard, margin_from_gap
from .nca import NCALoss
from .neighbors import (ExactNeighbors, approximate_kneighbors, exact_kneighbors,
                        faiss_available, neighbor_recall, resolve_neighbor_search)
from .triplets import TripletSet, build_triplets

__all__ = [
    "ActiveTriplets",
    "DEGENERACY_RTOL",
    "DriftPenalty",
    "ExactNeighbors",
    "LMNNLoss",
    "NCALoss",
    "PerturbationLoss",
    "SignedMarginLoss",
    "TripletGeometry",
    "TripletLoss",
    "TripletObjective",
    "TripletSet",
    "adversarial_margin",
    "approximate_kneighbors",
    "build_triplets",
    "degeneracy_guard",
    "exact_kneighbors",
    "exact_neighbors",
    "faiss_available",
    "kneighbors",
    "knn_vote",
    "leave_one_out_accuracy",
    "margin_from_gap",
    "neighbor_recall",
    "resolve_neighbor_search",
]


def __getattr__(name):
    # the old name of DriftPenalty, kept for one release
    if name == "StartRegulariser":
        import warnings
        warnings.warn("robustdml.math.StartRegulariser is renamed DriftPenalty; the old name is "
                      "removed in the next release.", FutureWarning, stacklevel=2)
        return DriftPenalty
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The mathematics: adversarial margin, triplets, losses and solvers. Imports nothing above it."""

from ._linalg import exact_neighbors, kneighbors, knn_vote, leave_one_out_accuracy
from .impostors import ActiveTriplets
from .losses import (LMNNLoss, PerturbationLoss, SignedMarginLoss, StartRegulariser,
                     TripletGeometry, TripletLoss, TripletObjective)
from .margin import DEGENERACY_RTOL, adversarial_margin, degeneracy_guard, margin_from_gap
from .nca import NCALoss
from .radius import RadiusSearch
from .triplets import TripletSet, build_triplets

__all__ = [
    "ActiveTriplets",
    "DEGENERACY_RTOL",
    "LMNNLoss",
    "NCALoss",
    "PerturbationLoss",
    "RadiusSearch",
    "SignedMarginLoss",
    "StartRegulariser",
    "TripletGeometry",
    "TripletLoss",
    "TripletObjective",
    "TripletSet",
    "adversarial_margin",
    "build_triplets",
    "degeneracy_guard",
    "exact_neighbors",
    "kneighbors",
    "knn_vote",
    "leave_one_out_accuracy",
    "margin_from_gap",
]

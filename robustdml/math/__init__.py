"""The mathematics: adversarial margin, triplets, losses and solvers. Imports nothing above it."""

from .losses import LMNNLoss, PerturbationLoss, TripletGeometry, TripletLoss, TripletObjective
from .margin import DEGENERACY_EPS, adversarial_margin, margin_from_gap
from .triplets import TripletSet, build_triplets

__all__ = [
    "DEGENERACY_EPS",
    "LMNNLoss",
    "PerturbationLoss",
    "TripletGeometry",
    "TripletLoss",
    "TripletObjective",
    "TripletSet",
    "adversarial_margin",
    "build_triplets",
    "margin_from_gap",
]

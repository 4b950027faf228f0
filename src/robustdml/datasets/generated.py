"""Data sets that are generated exactly rather than shipped."""

import itertools

import numpy as np
from sklearn.utils import check_random_state


def balance_scale():
    """UCI balance-scale: all 5^4 = 625 (left weight, left distance, right weight, right
    distance) cases, labeled L, B or R by which side's weight x distance is larger."""
    X = np.array(list(itertools.product(range(1, 6), repeat=4)), dtype=float)
    left, right = X[:, 0] * X[:, 1], X[:, 2] * X[:, 3]
    y = np.where(left > right, "L", np.where(left < right, "R", "B"))
    return X, y


def waveform(n_samples=5000, random_state=0):
    """Breiman's waveform generator (CART, 1984), 21 attributes, 3 classes.

    Each class is a random convex combination of two of three triangular base waves
    (peaks at 7, 15 and 11, width 6, on positions 1..21) plus N(0, 1) noise per attribute.
    """
    rng = check_random_state(random_state)
    positions = np.arange(1, 22)
    bases = np.array([np.maximum(6 - np.abs(positions - peak), 0) for peak in (7, 15, 11)],
                     dtype=float)
    pairs = [(0, 1), (0, 2), (1, 2)]
    y = rng.randint(0, 3, size=n_samples)
    u = rng.uniform(size=(n_samples, 1))
    first = bases[[pairs[c][0] for c in y]]
    second = bases[[pairs[c][1] for c in y]]
    X = u * first + (1 - u) * second + rng.normal(size=(n_samples, 21))
    return X, y

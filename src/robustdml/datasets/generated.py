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


def clustered_classes(n_samples=20_000, n_classes=10, n_informative=20, n_noise=30,
                      separation=0.92, n_clusters=2, random_state=0):
    """Classes made of Gaussian clusters in a few features, hidden among noisy ones.

    Each class is ``n_clusters`` unit-variance Gaussian clusters whose centres are drawn
    N(0, ``separation``^2) in the ``n_informative`` first features; the ``n_noise`` last
    features are N(0, 3^2) noise, of larger variance than the informative ones, and carry no
    class information. A metric that weights the informative features up and the noise down
    classifies better than the Euclidean one: the structure is learnable at any size. A
    smaller ``separation`` makes the classes overlap more.

    Drawn with 24,000 points, split 20,000 / 4,000 and standardized (the "noisy" and
    "overlapping" data sets of benchmarks/defaults_at_scale.py), the Euclidean 3-NN test
    accuracy is 0.710 with the defaults and 0.5345 with ``separation=0.65, n_noise=10``.

    Parameters
    ----------
    n_samples : int, default=20_000
        Number of points.
    n_classes : int, default=10
        Number of classes, drawn uniformly per point.
    n_informative : int, default=20
        Features that carry the clusters.
    n_noise : int, default=30
        Features of pure noise, after the informative ones.
    separation : float, default=0.92
        Standard deviation of the cluster centres, in units of the clusters' own.
    n_clusters : int, default=2
        Clusters per class.
    random_state : int, RandomState instance or None, default=0
        Seeds the centres and the points.

    Returns
    -------
    X : ndarray of shape (n_samples, n_informative + n_noise)
        The points.
    y : ndarray of shape (n_samples,)
        The class of each point, in ``0 .. n_classes - 1``.
    """
    rng = check_random_state(random_state)
    centres = rng.normal(scale=separation, size=(n_classes, n_clusters, n_informative))
    y = rng.randint(n_classes, size=n_samples)
    cluster = rng.randint(n_clusters, size=n_samples)
    X = np.empty((n_samples, n_informative + n_noise))
    X[:, :n_informative] = centres[y, cluster] + rng.normal(size=(n_samples, n_informative))
    X[:, n_informative:] = rng.normal(scale=3.0, size=(n_samples, n_noise))
    return X, y

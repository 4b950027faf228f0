"""The data scale: the length in which a radius or a perturbation margin means the same on any
data set (:func:`data_scale`, and :func:`triplet_scale` for supervision by triplets)."""

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_array, check_X_y

from ._linalg import kneighbors

#: Above this many points, :func:`data_scale` takes the median over this many of them, drawn
#: with a fixed seed (``SCALE_SEED``): one standard error of the sample median is 0.7% in
#: rank (it lies between the 49.3% and 50.7% quantiles of all the points' distances), and the
#: cost stays that of ``SCALE_SAMPLE`` exact nearest-neighbor queries however large the
#: data. Every training part of the study (at most 3,500 points) is below it: its scales are
#: exact.
SCALE_SAMPLE = 5000

#: The seed of the subsample above ``SCALE_SAMPLE`` points.
SCALE_SEED = 0


def data_scale(X, y, *, max_points=SCALE_SAMPLE):
    """Return the median distance from a point to the nearest point of another class.

    It is the scale at which a perturbation starts to matter on this data: a radius or a
    perturbation margin given as a fraction of it means the same on any data set and under
    any preprocessing. ``perturbation_margin="auto"`` is a fixed fraction of it; the study
    certifies at ``0.1 * data_scale`` and searches ``perturbation_margin`` in ``[0.02, 1] *
    data_scale`` (see :doc:`/user_guide/hyperparameters`).

    The nearest other-class point of each point is found exactly (one nearest-neighbor search
    per class, against all points of the other classes). Above ``max_points`` points the
    median is taken over ``max_points`` of them drawn uniformly with the fixed seed
    ``SCALE_SEED`` (still searched against all points), so the cost grows with the data only
    through the search's reference set: 3.5 to 11 CPU seconds on one thread at 100,000
    Gaussian points in 10 classes with 10 to 300 features.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points, in the space where radii are measured.
    y : array-like of shape (n_samples,)
        Their labels; at least two classes.
    max_points : int, default=SCALE_SAMPLE
        The most points whose distances enter the median (5,000).

    Returns
    -------
    float
        The median over the points (or the subsample) of the Euclidean distance to the nearest
        point of another class.

    Raises
    ------
    ValueError
        If y has fewer than two classes.

    See Also
    --------
    robustdml.math.triplet_scale : The same length for supervision by triplets.
    robustdml.metrics.make_certified_scorer : Takes a radius relative to this scale with
        ``relative=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import data_scale
    >>> data_scale(np.array([[0.0], [1.0], [2.0], [5.0], [7.0]]), np.array([0, 0, 0, 1, 1]))
    4.0
    """
    X, y = check_X_y(X, y)
    labels = np.unique(y)
    if len(labels) < 2:
        raise ValueError("data_scale needs points of at least two classes; y has one "
                         f"({labels[0]!r}).")
    queries = np.arange(len(y))
    if len(y) > max_points:
        rng = np.random.default_rng(SCALE_SEED)
        queries = np.sort(rng.choice(len(y), max_points, replace=False))
    nearest = np.empty(len(queries))
    for label in labels:
        members = np.flatnonzero(y[queries] == label)
        if members.size == 0:
            continue
        # scikit-learn's choice of exact search (a tree in few dimensions, brute force above)
        index = NearestNeighbors(n_neighbors=1).fit(X[y != label])
        nearest[members] = kneighbors(index, X[queries[members]])[0][:, 0]
    return float(np.median(nearest))


def triplet_scale(triplets):
    """Return the median distance from an anchor to the nearest of its farther points.

    :func:`data_scale`'s length for supervision by triplets (anchor, closer, farther): the
    farther points play the other classes. For triplets built from labels whose farther
    points include each anchor's nearest other-class point, it equals :func:`data_scale`
    over the anchors.

    Parameters
    ----------
    triplets : array-like of shape (n_triplets, 3, n_features)
        Each row (anchor, closer, farther).

    Returns
    -------
    float
        The median over the distinct anchors of the Euclidean distance to the nearest point
        that some triplet asks to be farther from it.

    See Also
    --------
    robustdml.metrics.data_scale : The length for labeled points.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import triplet_scale
    >>> triplets = np.array([[[0.0], [1.0], [5.0]], [[0.0], [1.0], [3.0]], [[7.0], [6.0], [2.0]]])
    >>> triplet_scale(triplets)
    4.0
    """
    triplets = check_array(triplets, allow_nd=True)
    anchors, anchor_of = np.unique(triplets[:, 0], axis=0, return_inverse=True)
    distance = np.linalg.norm(triplets[:, 0] - triplets[:, 2], axis=1)
    nearest = np.full(len(anchors), np.inf)
    np.minimum.at(nearest, anchor_of.ravel(), distance)
    return float(np.median(nearest))

"""Exact minimal adversarial perturbation of 1-NN under a Mahalanobis metric.

The inputs that 1-NN gives to an other-class training point b, rather than to the predicted class
c, form the polyhedron R_b = {x : d_M(x, b) <= d_M(x, a) for every a in c}; each constraint is
the half-space of :doc:`/user_guide/method` (section 2), affine in x. The minimal perturbation of
z is min_b dist(z, R_b), each a least-distance quadratic program, solved exactly by the
Lawson-Hanson reduction to non-negative least squares (SciPy's ``nnls``) with constraints added
as they are violated. Screening: dist(z, R_b) >= t(b) = max_a m(a, b) (the 1-NN certificate,
section 6 of that page), so a b whose t(b) is not below the best distance found needs no
program, and candidates are visited by distance with the same growing lower bound as the
certifier.

Every tolerance is relative (the programs are solved on rows of unit norm, at the scale of the
largest single constraint), so the answer scales with the data from 1e-8 to 1e8. A training point
that the metric cannot tell from an other-class one (a duplicate under two labels) ties with it
everywhere: which of the two 1-NN returns is the neighbor search's tie-break, so such a cell
counts only if the prediction there actually changes (checked with ``knn.predict``).
"""

import numpy as np
from scipy.optimize import nnls
from sklearn.utils.validation import check_is_fitted

from ..estimators._base import validate_numeric
from .certify import CANDIDATE_BLOCK, CertifiedKNN, pairwise_sq_dist

#: Constraints added per cutting-plane round.
CUTS_PER_ROUND = 16
#: Violation tolerated at the end, relative to the size of the terms of each constraint.
FEASIBILITY_RTOL = 1e-10
#: A same-class point whose normal 2 M (b - a) is this small relative to the two points' images
#: ties with b everywhere (M cannot tell them apart).
TIE_RTOL = 1e-12
#: Feasible least-distance programs have |NNLS residual| = 1 / (1 + ||delta||^2) in units of
#: the largest single constraint; below this the program is infeasible (answers up to 1e6 times
#: that constraint's distance are told apart from infeasibility).
INFEASIBLE_RESIDUAL = 1e-12
#: Steps from the tie toward b, as fractions of the distance to b, tried until 1-NN flips.
FLIP_STEPS = (1e-9, 1e-7, 1e-5, 1e-3)


def least_distance(G, h):
    """Smallest ``||delta||`` with ``G delta >= h`` (Lawson & Hanson's LDP via NNLS).

    Returns None when the constraints are infeasible. The rows are scaled to unit norm and h
    by its largest entry, so that the answer does not depend on the units of G and h.
    """
    G, h = np.asarray(G, dtype=float), np.asarray(h, dtype=float)
    n_features = G.shape[1]
    row_norms = np.linalg.norm(G, axis=1)
    if np.any((row_norms == 0) & (h > 0)):
        return None  # 0 >= h > 0
    regular = row_norms > 0
    G, h = G[regular] / row_norms[regular, None], h[regular] / row_norms[regular]
    scale = h.max(initial=0.0)
    if scale <= 0:
        return np.zeros(n_features)  # delta = 0 is feasible
    E = np.vstack([G.T, h[None, :] / scale])
    f = np.zeros(n_features + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1] + 100)
    residual = E @ u - f
    if abs(residual[-1]) < INFEASIBLE_RESIDUAL:
        return None
    return -residual[:-1] / residual[-1] * scale


def _distance_to_cell(b, same, mapped, sq_dist):
    """Exact projection of z on R_b (constraints: b at least as close as every ``same`` point).

    A same-class point that ties with b everywhere is left out: whether b wins there is the
    neighbor search's tie-break, which the caller checks with ``knn.predict``.
    """
    normals = 2.0 * (mapped[b] - mapped[same])  # G rows: 2 M (b - a)
    gaps = sq_dist[b] - sq_dist[same]            # h: d2(z, b) - d2(z, a)
    normal_norms = np.linalg.norm(normals, axis=1)
    image_norms = 2.0 * (np.linalg.norm(mapped[b]) + np.linalg.norm(mapped[same], axis=1))
    tied = normal_norms <= TIE_RTOL * image_norms
    if tied.any():
        normals, gaps, normal_norms = normals[~tied], gaps[~tied], normal_norms[~tied]
    if gaps.size == 0:
        return 0.0, np.zeros(mapped.shape[1])
    # the half-spaces farthest from z are the likeliest to bind
    margins = np.maximum(gaps, 0.0) / normal_norms
    active = list(np.argsort(-margins)[:CUTS_PER_ROUND])
    while True:
        delta = least_distance(normals[active], gaps[active])
        if delta is None:
            return np.inf, None
        violation = gaps - normals @ delta
        size = np.abs(gaps) + normal_norms * np.linalg.norm(delta)
        violation[active] = -np.inf
        worst = np.argsort(-violation)[:CUTS_PER_ROUND]
        worst = worst[violation[worst] > FEASIBILITY_RTOL * size[worst]]
        if worst.size == 0:
            return float(np.linalg.norm(delta)), delta
        active.extend(worst.tolist())


def _flipping_example(knn, label, boundary, toward):
    """A point just past ``boundary`` toward ``toward`` that 1-NN does not label ``label``, or
    None if no step of ``FLIP_STEPS`` flips it (a tie decided for z's class)."""
    steps = np.asarray(FLIP_STEPS)[:, None]
    candidates = boundary + steps * (toward - boundary)
    flipped = np.flatnonzero(knn.predict(candidates) != label)
    return candidates[flipped[0]] if flipped.size else None


def minimal_perturbation_1nn(knn, X):
    """Find the exact L2 distance from each query to the nearest input 1-NN labels differently.

    The inputs that 1-NN gives to an other-class training point b form a polyhedron; the
    distance to each is a least-distance quadratic program, solved exactly, and the 1-NN
    certificate screens out the points that cannot be nearer than the best found.

    Parameters
    ----------
    knn : CertifiedKNN
        Fitted with ``n_neighbors=1``.
    X : array-like of shape (n_queries, n_features)
        Query points.

    Returns
    -------
    norms : ndarray of shape (n_queries,)
        The minimal perturbation (an infimum: at that distance the query ties).
    examples : ndarray of shape (n_queries, n_features)
        Adversarial examples just past the boundary (a relative step of at most 1e-3 of the
        distance to the other-class point), each checked to change ``knn.predict``; the query
        itself where no perturbation changes the prediction (norm inf).

    Raises
    ------
    ValueError
        If ``knn`` is not a :class:`CertifiedKNN` with ``n_neighbors=1``.

    See Also
    --------
    robustdml.CertifiedKNN.certified_radius : The certified radius, a lower bound on this distance.
    robustdml.knn_attack : An attack for any odd k.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml import CertifiedKNN, minimal_perturbation_1nn
    >>> X, y = np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([0, 1])
    >>> knn = CertifiedKNN(1).fit(X, y)
    >>> norms, examples = minimal_perturbation_1nn(knn, [[0.5, 0.0]])
    >>> norms.round(6)
    array([0.5])
    """
    if not isinstance(knn, CertifiedKNN) or knn.n_neighbors != 1:
        raise ValueError("minimal_perturbation_1nn needs a CertifiedKNN with n_neighbors=1.")
    check_is_fitted(knn)
    X = validate_numeric(knn, X, reset=False, dtype=float)
    geometry = knn.geometry_
    L = geometry.components
    mapped = geometry.embedded @ L  # rows: (M x)^T for the training points
    y = knn.y_
    labels = knn.predict(X)
    predicted = np.searchsorted(knn.classes_, labels)
    norms = np.full(len(X), np.inf)
    examples = np.array(X, copy=True)
    for i, z in enumerate(X):
        sq_dist = pairwise_sq_dist((z @ L.T)[None, :], geometry.embedded)[0]
        same = np.flatnonzero(y == predicted[i])
        other = np.flatnonzero(y != predicted[i])
        d_other = np.sqrt(sq_dist[other])
        by_distance = np.argsort(d_other)
        d_nearest_same = np.sqrt(sq_dist[same].min())
        best = np.inf
        for start in range(0, other.size, CANDIDATE_BLOCK):
            block = by_distance[start:start + CANDIDATE_BLOCK]
            lower = ((d_other[block[0]] - d_nearest_same)
                     / (2.0 * geometry.lipschitz + 1e-300))
            if lower >= best:
                break
            t = geometry.threshold_margins(sq_dist, same, other[block], 1)
            for j in np.argsort(t):
                if t[j] >= best:
                    break
                b = other[block][j]
                distance, delta = _distance_to_cell(b, same, mapped, sq_dist)
                if distance >= best:
                    continue
                # R_b is convex and holds b: a step from the tie toward b flips the label,
                # unless b only ties with a same-class point that the search prefers
                example = _flipping_example(knn, labels[i], z + delta, knn.X_fit_[b])
                if example is not None:
                    best, examples[i] = distance, example
        norms[i] = best
    return norms, examples

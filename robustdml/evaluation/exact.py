"""Exact minimal adversarial perturbation of 1-NN under a Mahalanobis metric.

The inputs that 1-NN gives to an other-class training point b, rather than to the predicted class
c, form the polyhedron R_b = {x : d_M(x, b) <= d_M(x, a) for every a in c}; each constraint is
the half-space of docs/method.md, section 2, affine in x. The minimal perturbation of z is
min_b dist(z, R_b), each a least-distance quadratic program, solved exactly by the Lawson-Hanson
reduction to non-negative least squares (SciPy's ``nnls``) with constraints added as they are
violated. Screening: dist(z, R_b) >= t(b) = max_a m(a, b) (the 1-NN certificate,
docs/method.md, section 6), so a b whose t(b) is not below the best distance found needs no
program, and candidates are visited by distance with the same growing lower bound as the certifier.
"""

import numpy as np
from scipy.optimize import nnls
from sklearn.utils.validation import check_is_fitted

from ..estimators._base import validate_numeric
from .certify import CANDIDATE_BLOCK, CertifiedKNN, pairwise_sq_dist

#: Constraints added per cutting-plane round, and the violation tolerated at the end.
CUTS_PER_ROUND = 16
FEASIBILITY_TOL = 1e-10


def least_distance(G, h):
    """Smallest ``||delta||`` with ``G delta >= h`` (Lawson & Hanson's LDP via NNLS).

    Returns None when the constraints are infeasible.
    """
    n_features = G.shape[1]
    E = np.vstack([G.T, h[None, :]])
    f = np.zeros(n_features + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1] + 100)
    residual = E @ u - f
    if abs(residual[-1]) < 1e-12:
        return None
    return -residual[:-1] / residual[-1]


def _distance_to_cell(z, b, same, mapped, sq_dist):
    """Exact projection of z on R_b (constraints: b at least as close as every ``same`` point)."""
    normals = 2.0 * (mapped[b] - mapped[same])  # G rows: 2 M (b - a)
    gaps = sq_dist[b] - sq_dist[same]            # h: d2(z, b) - d2(z, a)
    # the half-spaces farthest from z are the likeliest to bind
    margins = np.maximum(gaps, 0.0) / (np.linalg.norm(normals, axis=1) + 1e-300)
    active = list(np.argsort(-margins)[:CUTS_PER_ROUND])
    while True:
        delta = least_distance(normals[active], gaps[active])
        if delta is None:
            return np.inf, None
        violation = gaps - normals @ delta
        violation[active] = -np.inf
        worst = np.argsort(-violation)[:CUTS_PER_ROUND]
        worst = worst[violation[worst] > FEASIBILITY_TOL * (1.0 + np.abs(gaps[worst]))]
        if worst.size == 0:
            return float(np.linalg.norm(delta)), delta
        active.extend(worst.tolist())


def minimal_perturbation_1nn(knn, X):
    """Exact L2 distance from each query to the nearest input that 1-NN labels differently.

    Parameters
    ----------
    knn : CertifiedKNN
        Fitted with ``n_neighbors=1``.
    X : array-like of shape (n_queries, n_features)

    Returns
    -------
    norms : ndarray of shape (n_queries,)
        The minimal perturbation (an infimum: at that distance the query ties).
    examples : ndarray of shape (n_queries, n_features)
        Adversarial examples just past the boundary, verified to change ``knn.predict``.
    """
    if not isinstance(knn, CertifiedKNN) or knn.n_neighbors != 1:
        raise ValueError("minimal_perturbation_1nn needs a CertifiedKNN with n_neighbors=1.")
    check_is_fitted(knn)
    X = validate_numeric(knn, X, reset=False, dtype=float)
    geometry = knn.geometry_
    L = geometry.components
    mapped = geometry.embedded @ L  # rows: (M x)^T for the training points
    y = knn.y_
    predicted = np.searchsorted(knn.classes_, knn.predict(X))
    norms = np.full(len(X), np.inf)
    examples = np.array(X, copy=True)
    for i, z in enumerate(X):
        sq_dist = pairwise_sq_dist((z @ L.T)[None, :], geometry.embedded)[0]
        same = np.flatnonzero(y == predicted[i])
        other = np.flatnonzero(y != predicted[i])
        d_other = np.sqrt(sq_dist[other])
        by_distance = np.argsort(d_other)
        d_nearest_same = np.sqrt(sq_dist[same].min())
        best, best_b, best_delta = np.inf, None, None
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
                distance, delta = _distance_to_cell(z, other[block][j], same, mapped, sq_dist)
                if distance < best:
                    best, best_b, best_delta = distance, other[block][j], delta
        norms[i] = best
        if best_b is not None:
            boundary = z + best_delta
            # R_b is convex and holds b: step from the tie toward b to flip the label
            examples[i] = boundary + 1e-7 * (knn.X_fit_[best_b] - boundary)
    return norms, examples

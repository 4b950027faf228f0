"""An empirical attack on k-NN predictions (any odd k): real adversarial examples.

For each query z predicted c, rays leave z toward
- the closed-form closest adversarial examples (:doc:`/user_guide/method`, section 2) of the
  triplets (z, a, b), a one of z's k neighbors of class c, b one of its nearest other-class
  training points;
- those other-class points themselves;
- for every other class, the centroid of its s = (k + 1) // 2 points nearest to z.
Each ray is scanned on a geometric grid of step lengths; the first flip of ``knn.predict`` is
then bracketed and bisected, and the shortest flipping step over all rays is returned. A ray is
dropped once it cannot flip before its query's shortest flip so far, which spares many
predictions and changes no returned norm. Every
returned example is checked with ``knn.predict``: its norm is an upper bound on the minimal
adversarial perturbation, the certified radius a lower bound.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..estimators._base import check_labels, validate_numeric
from ..math import adversarial_margin
from .certify import QUERY_BLOCK, CertifiedKNN, pairwise_sq_dist

#: Grid steps tried per pass over the rays that could still give the shortest flip.
GRID_CHUNK = 4


@dataclass(frozen=True)
class AttackResult:
    """The outcome of :func:`knn_attack`.

    Parameters
    ----------
    norms : ndarray of shape (n_queries,)
        L2 norm of the perturbation found (0 for a point already misclassified, inf if none).
    examples : ndarray of shape (n_queries, n_features)
        The adversarial examples (the query itself where no attack was needed or found).
    success : ndarray of shape (n_queries,)
        Whether ``knn.predict(examples)`` differs from the clean prediction (or the label).

    See Also
    --------
    robustdml.knn_attack : The attack that returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.evaluation import AttackResult
    >>> result = AttackResult(np.array([0.5, np.inf]), np.zeros((2, 1)), np.array([True, False]))
    >>> result.robust_error([0.1, 1.0])
    array([0. , 0.5])
    """

    norms: np.ndarray
    examples: np.ndarray
    success: np.ndarray

    def robust_error(self, radii):
        """Return the fraction of queries with an adversarial example within each radius.

        Parameters
        ----------
        radii : float or array-like of shape (n_radii,)
            L2 radii.

        Returns
        -------
        ndarray of shape (n_radii,)
            The empirical robust error: the fraction of queries whose perturbation found has
            norm at most the radius. It bounds the certified robust error from below.

        See Also
        --------
        robustdml.CertifiedKNN.certified_robust_error : The certified counterpart.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.evaluation import AttackResult
        >>> AttackResult(np.array([0.5]), np.zeros((1, 1)), np.array([True])).robust_error(1.0)
        array([1.])
        """
        radii = np.atleast_1d(np.asarray(radii, dtype=float))
        return (self.norms[None, :] <= radii[:, None]).mean(axis=1)


def _ray_targets(knn, X, predicted, n_impostors):
    """Reference points of the rays of each query, shape (n_queries, n_rays, n_features)."""
    geometry = knn.geometry_
    M = geometry.components.T @ geometry.components
    s = (knn.n_neighbors + 1) // 2
    _, neighbors = knn.kneighbors(X)
    X_fit, y = knn.X_fit_, knn.y_
    rays = []
    for start in range(0, len(X), QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        sq_dist = pairwise_sq_dist(X[block] @ geometry.components.T, geometry.embedded)
        for row, z in enumerate(X[block]):
            label = predicted[start + row]
            other_dist = np.where(y == label, np.inf, sq_dist[row])
            n_b = min(n_impostors, int(np.isfinite(other_dist).sum()))
            impostors = np.argsort(other_dist)[:n_b]
            anchors = neighbors[start + row][y[neighbors[start + row]] == label]
            a, b = np.repeat(anchors, n_b), np.tile(impostors, anchors.size)
            _, closest = adversarial_margin(z[None, :], X_fit[a], X_fit[b], M=M,
                                            return_examples=True)
            centroids = []
            for other_label in np.unique(y[y != label]):
                members = np.flatnonzero(y == other_label)
                nearest = members[np.argsort(sq_dist[row][members])[:s]]
                centroids.append(X_fit[nearest].mean(axis=0))
            rays.append(np.vstack([closest, X_fit[impostors], np.array(centroids)]))
    n_rays = max(len(r) for r in rays)
    # pad with copies of the first ray so that queries can be processed together
    return np.stack([np.vstack([r, np.repeat(r[:1], n_rays - len(r), axis=0)]) for r in rays])


def knn_attack(knn, X, y=None, *, n_impostors=5, n_grid=28, growth=1.25, n_bisect=30):
    """Search for the smallest L2 perturbation that changes each k-NN prediction.

    For each query, rays lead toward the closed-form closest adversarial examples of its
    triplets, toward its nearest other-class training points and toward the centroids of
    other classes' nearest points; the first flip along each ray is bisected. Every example
    returned is checked with ``knn.predict``: its norm bounds the minimal adversarial
    perturbation from above, where the certified radius bounds it from below.

    Parameters
    ----------
    knn : CertifiedKNN
        Fitted classifier to attack (any odd k).
    X : array-like of shape (n_queries, n_features)
        Query points.
    y : array-like of shape (n_queries,), default=None
        True labels: misclassified points get norm 0; otherwise the attack changes the
        prediction.
    n_impostors : int, default=5
        Other-class training points per query used to build rays.
    n_grid : int, default=28
        Number of step lengths ``growth**j * ||ray||``, j = -n_grid/2 .. n_grid/2 - 1, tried
        along each ray.
    growth : float, default=1.25
        Ratio of consecutive step lengths.
    n_bisect : int, default=30
        Bisection steps that narrow the first flipping step of each ray.

    Returns
    -------
    AttackResult
        The norms, the adversarial examples and whether each attack succeeded.

    Raises
    ------
    TypeError
        If ``knn`` is not a :class:`CertifiedKNN`.
    ValueError
        If y has the wrong shape or labels not among ``knn.classes_``.

    See Also
    --------
    robustdml.CertifiedKNN.certified_radius : The lower bound the attack's norms are compared with.
    robustdml.minimal_perturbation_1nn : The exact minimal perturbation for 1-NN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN, knn_attack
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3).fit(X, y)
    >>> result = knn_attack(knn, X[:5], y[:5])
    >>> bool(np.all(result.norms >= knn.certified_radius(X[:5], y[:5])))
    True
    """
    if not isinstance(knn, CertifiedKNN):
        raise TypeError("knn_attack needs a fitted CertifiedKNN.")
    check_is_fitted(knn)
    X = validate_numeric(knn, X, reset=False, dtype=float)
    if y is not None:
        y = check_labels(knn.classes_, y, len(X))
    clean = knn.predict(X)
    predicted = np.searchsorted(knn.classes_, clean)
    targets = _ray_targets(knn, X, predicted, n_impostors)
    directions = targets - X[:, None, :]
    scales = growth ** (np.arange(n_grid) - n_grid // 2)

    n_queries, n_rays = directions.shape[:2]
    ray_norms = np.linalg.norm(directions, axis=2)
    found = np.zeros((n_queries, n_rays), dtype=bool)
    high = np.full((n_queries, n_rays), np.inf)  # the shortest step known to flip
    low = np.zeros((n_queries, n_rays))  # the longest step known not to flip (below high)

    def flip_lengths():  # norm of each ray's flipping step (inf where none was found)
        return np.where(found, ray_norms * np.where(found, high, 0.0), np.inf)

    def promising(rays):
        """(query, ray) indices among ``rays`` whose flip, beyond ``low``, could still be
        shorter than their query's shortest so far: skipping the others changes no norm."""
        shortest = flip_lengths().min(axis=1)
        return np.nonzero(rays & (low * ray_norms < shortest[:, None]))

    def flips(query, ray, steps):  # steps: (len(query), n_steps) multiples of each ray
        points = X[query, None, :] + steps[..., None] * directions[query, ray][:, None, :]
        labels = knn.predict(points.reshape(-1, X.shape[1])).reshape(steps.shape)
        return labels != clean[query, None]

    # the grid, a few steps at a time, on the rays that have not flipped yet
    for start in range(0, n_grid, GRID_CHUNK):
        query, ray = promising(~found)
        if query.size == 0:
            break
        steps = scales[start:start + GRID_CHUNK]
        flipped = flips(query, ray, np.broadcast_to(steps, (query.size, steps.size)))
        hit = flipped.any(axis=1)
        first = start + np.argmax(flipped[hit], axis=1)
        high[query[hit], ray[hit]] = scales[first]
        low[query[hit], ray[hit]] = np.where(first > 0, scales[np.maximum(first - 1, 0)], 0.0)
        low[query[~hit], ray[~hit]] = steps[-1]
        found[query[hit], ray[hit]] = True
    for _ in range(n_bisect):
        query, ray = promising(found)
        if query.size == 0:
            break
        middle = 0.5 * (low[query, ray] + high[query, ray])
        flip = flips(query, ray, middle[:, None])[:, 0]
        high[query[flip], ray[flip]] = middle[flip]
        low[query[~flip], ray[~flip]] = middle[~flip]
    lengths = flip_lengths()
    best = np.argmin(lengths, axis=1)
    rows = np.arange(n_queries)
    norms = lengths[rows, best]
    success = np.isfinite(norms)
    examples = X.copy()
    examples[success] = (X[success] + high[rows, best][success, None]
                         * directions[rows, best][success])
    if y is not None:
        wrong = clean != y
        norms[wrong], examples[wrong], success[wrong] = 0.0, X[wrong], True
    return AttackResult(norms=norms, examples=examples, success=success)

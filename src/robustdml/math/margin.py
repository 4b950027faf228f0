"""The adversarial margin (:doc:`/user_guide/method`, section 2): one closed form, used everywhere.

For a triplet (anchor x_i, target x_j, impostor x_l) under d2_M(a, b) = (a - b)^T M (a - b),
the points equally far from x_j and x_l form a hyperplane with normal M (x_j - x_l).  The
adversarial margin of x_i is its Euclidean distance to that hyperplane on the target's side:

    m = max(gap, 0) / (2 sqrt(q)),   gap = d2_M(x_i, x_l) - d2_M(x_i, x_j),
                                     q = ||M (x_j - x_l)||^2.

:func:`margin_from_gap` is that formula; every other module (the perturbation loss, the
certifier, the attack, the tests) reaches it through this module.

A margin is a length in input space: scaling the data by s scales it by s, scaling M changes
nothing. The guard that keeps a near-degenerate triplet (M can hardly tell target from
impostor) finite is therefore relative (:func:`degeneracy_guard`), never an absolute constant.
"""

import numpy as np
from sklearn.utils import check_array

#: The guard added to q, relative to ||M||_2 (d2_M(x_i, x_j) + d2_M(x_i, x_l)), a quantity in q's
#: units. A gap carries a rounding error of about 1e-16 times that sum, so a margin made of
#: rounding alone stays below 1e-6 of the anchor's distances; a true margin moves by < 1e-10.
DEGENERACY_RTOL = 1e-20


def degeneracy_guard(metric_norm, target_sq_dist, impostor_sq_dist):
    """Return the scale-relative guard that keeps a near-degenerate margin finite.

    A triplet whose target and impostor the metric can hardly tell apart has a vanishing
    denominator; the guard, added to it, is ``DEGENERACY_RTOL`` times a quantity in its units,
    so that it never depends on the scale of the data.

    Parameters
    ----------
    metric_norm : float
        ``||M||_2``, the squared spectral norm of L.
    target_sq_dist : array-like
        ``d2_M`` from each anchor to its target.
    impostor_sq_dist : array-like
        ``d2_M`` from each anchor to its impostor.

    Returns
    -------
    ndarray
        ``DEGENERACY_RTOL * metric_norm * (target_sq_dist + impostor_sq_dist)``.

    See Also
    --------
    margin_from_gap : The margin the guard is added to.

    Examples
    --------
    >>> from robustdml.math import degeneracy_guard
    >>> float(degeneracy_guard(1.0, 1.0, 4.0))
    5e-20
    """
    return DEGENERACY_RTOL * metric_norm * (np.asarray(target_sq_dist)
                                            + np.asarray(impostor_sq_dist))


def margin_from_gap(gap, direction_sq_norm, eps=0.0):
    """Return the closed-form adversarial margin from its two ingredients.

    Parameters
    ----------
    gap : array-like
        ``d2_M(x, impostor) - d2_M(x, target)`` per triplet.
    direction_sq_norm : array-like
        ``||M (target - impostor)||_2^2`` per triplet (broadcast against ``gap``).
    eps : float or array-like, default=0.0
        Added to ``direction_sq_norm``: :func:`degeneracy_guard` for a measurement, the
        perturbation loss's smoothing constant in training.

    Returns
    -------
    ndarray
        The margin ``max(gap, 0) / (2 sqrt(direction_sq_norm + eps))``: the L2 distance from the
        anchor to the hyperplane where target and impostor are equally far, 0 for violated
        triplets and where the denominator vanishes (then target and impostor tie everywhere:
        gap = 0).

    See Also
    --------
    adversarial_margin : The margin of triplets of points.
    degeneracy_guard : The ``eps`` of a measurement.

    Examples
    --------
    >>> from robustdml.math import margin_from_gap
    >>> margin_from_gap([3.0, -1.0], 4.0)
    array([0.75, 0.  ])
    """
    numerator = np.maximum(np.asarray(gap, dtype=float), 0.0)
    denominator = 2.0 * np.sqrt(np.asarray(direction_sq_norm, dtype=float) + eps)
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape),
                     where=denominator > 0)


def as_mahalanobis(M=None, L=None):
    """Return ``(M, L)`` from exactly one of them; ``L`` may be None when ``M`` was given."""
    if (M is None) == (L is None):
        raise ValueError("Give the metric as exactly one of M (p x p) or L (q x p).")
    if L is not None:
        L = check_array(np.atleast_2d(L), dtype=float, input_name="L")
        return L.T @ L, L
    M = check_array(np.atleast_2d(M), dtype=float, input_name="M")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square, got shape {M.shape}.")
    if not np.allclose(M, M.T, rtol=1e-8, atol=1e-12 * np.abs(M).max()):
        raise ValueError("M must be symmetric (a Mahalanobis matrix is symmetric PSD).")
    return M, None


def adversarial_margin(anchors, targets, impostors, *, M=None, L=None, return_examples=False):
    """Return the adversarial margins of many triplets at once.

    The adversarial margin of a triplet (anchor, target, impostor) is the L2 distance from the
    anchor to the closest input that is as close to the impostor as to the target under the
    metric [1]_; :doc:`/user_guide/method` (section 2) derives its closed form.

    Parameters
    ----------
    anchors : array-like of shape (n_triplets, n_features)
        Row ``t`` is the anchor ``x_i`` of triplet t. Rows broadcast, so a single anchor of
        shape (1, n_features) may face many pairs.
    targets : array-like of shape (n_triplets, n_features)
        The targets ``x_j``, same-class points the anchor should stay closer to.
    impostors : array-like of shape (n_triplets, n_features)
        The impostors ``x_l``, other-class points.
    M : array-like of shape (n_features, n_features), optional
        PSD Mahalanobis matrix. Give exactly one of ``M`` and ``L``.
    L : array-like of shape (n_components, n_features), optional
        Linear map with ``M = L^T L``.
    return_examples : bool, default=False
        Also return the closest adversarial examples.

    Returns
    -------
    margin : ndarray of shape (n_triplets,)
        L2 distance from each anchor to the hyperplane where target and impostor are equally
        far under the metric; 0 where the triplet is already violated.
    examples : ndarray of shape (n_triplets, n_features)
        Only with ``return_examples``: ``x_i + gap M (x_l - x_j) / (2 (||M (x_l - x_j)||^2 + eps))``,
        the closest point to the anchor on that hyperplane (the anchor itself if violated).

    Raises
    ------
    ValueError
        If not exactly one of M and L is given, M is not square and symmetric, or the points
        do not have the metric's number of features.

    See Also
    --------
    robustdml.PerturbationLoss : The loss that asks these margins to reach tau.
    robustdml.CertifiedKNN : Certified radii of k-NN, built from these margins.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml import adversarial_margin
    >>> margin, example = adversarial_margin([[0.0, 0.0]], [[0.0, 1.0]], [[2.0, 0.0]],
    ...                                      M=np.eye(2), return_examples=True)
    >>> margin.round(4), example.round(4)
    (array([0.6708]), array([[ 0.6, -0.3]]))
    """
    M, _ = as_mahalanobis(M, L)
    anchors, targets, impostors = (
        check_array(np.atleast_2d(points), dtype=float, input_name=name)
        for points, name in ((anchors, "anchors"), (targets, "targets"),
                             (impostors, "impostors")))
    for points, name in ((anchors, "anchors"), (targets, "targets"), (impostors, "impostors")):
        if points.shape[1] != M.shape[0]:
            raise ValueError(f"{name} have {points.shape[1]} features but the metric has "
                             f"{M.shape[0]}.")
    to_target = anchors - targets
    to_impostor = anchors - impostors
    target_sq = np.einsum("ij,jk,ik->i", to_target, M, to_target)
    impostor_sq = np.einsum("ij,jk,ik->i", to_impostor, M, to_impostor)
    gap = impostor_sq - target_sq
    normal = (impostors - targets) @ M  # M (x_l - x_j), M symmetric
    normal_sq = np.einsum("ij,ij->i", normal, normal)
    guard = degeneracy_guard(np.linalg.norm(M, 2) if M.size else 0.0, target_sq, impostor_sq)
    margin = margin_from_gap(gap, normal_sq, guard)
    if not return_examples:
        return margin
    # the example is the anchor moved by m along the unit normal
    length = np.sqrt(normal_sq + guard)
    unit = np.divide(normal, length[:, None], out=np.zeros(normal.shape),
                     where=length[:, None] > 0)
    return margin, np.broadcast_to(anchors, normal.shape) + margin[:, None] * unit

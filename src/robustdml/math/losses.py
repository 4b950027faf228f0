"""Triplet objectives as composable parts: the LMNN loss and the perturbation loss.

Each part maps a :class:`TripletGeometry` (the data, the triplets and the current metric, with
the per-pair and per-triplet quantities computed once and shared) to its value and its gradient
with respect to a symmetric M. A :class:`TripletObjective` adds parts; its gradient with respect
to L (M = L^T L) is ``2 L G`` by the chain rule. Any triplet-based learner gets the perturbation
loss by adding a :class:`PerturbationLoss` to its parts.
"""

import warnings
from functools import cached_property

import numpy as np

from ._linalg import TRIPLET_BLOCK, rowwise_sq_dist, smooth_hinge
from .margin import degeneracy_guard, margin_from_gap

#: The perturbation loss's smoothing of the margin's denominator, the reference implementation's
#: constant (training data are standardized there; a measured margin uses a relative guard).
SMOOTHING_EPS = 1e-10


class TripletGeometry:
    """Quantities of a triplet set under the metric ``M = L^T L``, computed on first use.

    The per-pair and per-triplet quantities (distances, gaps, margins' denominators) are
    computed once and shared by every loss of an objective.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data the triplets index.
    triplets : TripletSet
        The triplets.
    L : ndarray of shape (n_components, n_features)
        The metric's linear map.

    See Also
    --------
    TripletLoss : The terms evaluated on it.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import TripletGeometry, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> geometry = TripletGeometry(X, triplets, np.eye(2))
    >>> geometry.gap
    array([8., 8., 8., 8.])
    """

    def __init__(self, X, triplets, L):
        self.X = X
        self.triplets = triplets
        self.L = L

    @cached_property
    def M(self):
        """The Mahalanobis matrix ``L^T L``, of shape (n_features, n_features).

        See Also
        --------
        embedded : The data mapped by L.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.M
        array([[1., 0.],
               [0., 1.]])
        """
        return self.L.T @ self.L

    @cached_property
    def embedded(self):
        """The data mapped by L, ``X L^T``: Euclidean distances here are d_M in input space.

        See Also
        --------
        M : The Mahalanobis matrix.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.embedded.shape
        (3, 2)
        """
        return self.X @ self.L.T

    @cached_property
    def pull_sq_dist(self):
        """The squared learned distances d2_M of the (anchor, target) pairs.

        See Also
        --------
        push_sq_dist : The same over the (anchor, impostor) pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.pull_sq_dist
        array([1.])
        """
        pairs = self.triplets.pull_pairs
        return rowwise_sq_dist(self.embedded, pairs[:, 0], pairs[:, 1])

    @cached_property
    def push_sq_dist(self):
        """The squared learned distances d2_M of the (anchor, impostor) pairs.

        See Also
        --------
        pull_sq_dist : The same over the (anchor, target) pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.push_sq_dist
        array([9.])
        """
        pairs = self.triplets.push_pairs
        return rowwise_sq_dist(self.embedded, pairs[:, 0], pairs[:, 1])

    @cached_property
    def gap(self):
        """The gap ``Delta = d2_M(anchor, impostor) - d2_M(anchor, target)`` of each triplet.

        See Also
        --------
        direction_sq_norm : The other ingredient of the margin.
        margin : The adversarial margin, from the gap and q.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.gap
        array([8.])
        """
        return (self.push_sq_dist[self.triplets.push_index]
                - self.pull_sq_dist[self.triplets.pull_index])

    @cached_property
    def direction_sq_norm(self):
        """The squared norm ``q = ||M (target - impostor)||^2`` of each triplet.

        See Also
        --------
        gap : The other ingredient of the margin.
        margin : The adversarial margin, from the gap and q.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, TripletSet
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
        >>> geometry = TripletGeometry(X, TripletSet.from_indices([0], [1], [2]), np.eye(2))
        >>> geometry.direction_sq_norm
        array([10.])
        """
        mapped = self.embedded @ self.L  # rows x_i^T M
        if self.triplets.blocks is None:
            return rowwise_sq_dist(mapped, self.triplets.targets, self.triplets.impostors)
        # every target x every impostor of an anchor: one small matrix product per anchor
        sq_norm = np.einsum("ij,ij->i", mapped, mapped)
        parts = []
        for targets, impostors in self.triplets.blocks:
            step = max(1, TRIPLET_BLOCK // (targets.shape[1] * impostors.shape[1]))
            for start in range(0, len(targets), step):
                t, i = targets[start:start + step], impostors[start:start + step]
                q = (sq_norm[t][:, :, None] + sq_norm[i][:, None, :]
                     - 2.0 * np.einsum("akp,avp->akv", mapped[t], mapped[i]))
                parts.append(np.maximum(q, 0.0).ravel())
        return np.concatenate(parts)

    def margin(self, eps=None):
        """Return the adversarial margin of every triplet.

        Parameters
        ----------
        eps : float or None, default=None
            Added to the margin's squared denominator: None measures the margin exactly (with
            the scale-relative :func:`degeneracy_guard`), a number smooths it as the
            perturbation loss does.

        Returns
        -------
        ndarray of shape (n_triplets,)
            The margins (:doc:`/user_guide/method`, section 2).

        See Also
        --------
        adversarial_margin : The same margin of explicit points.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> geometry = TripletGeometry(X, triplets, np.eye(2))
        >>> geometry.margin().round(4)
        array([1.2649, 1.2649, 1.2649, 1.2649])
        """
        if eps is None:
            metric_norm = np.linalg.norm(self.L, 2) ** 2 if self.L.size else 0.0
            eps = degeneracy_guard(metric_norm, self.pull_sq_dist[self.triplets.pull_index],
                                   self.push_sq_dist[self.triplets.push_index])
        return margin_from_gap(self.gap, self.direction_sq_norm, eps)

    def scatter(self, pull_weights, push_weights):
        """Return the gradient of a weighted sum of pair distances with respect to M.

        Parameters
        ----------
        pull_weights : float or ndarray of shape (n_pull,)
            The weight of each (anchor, target) pair.
        push_weights : ndarray of shape (n_push,)
            The weight of each (anchor, impostor) pair.

        Returns
        -------
        ndarray of shape (n_features, n_features)
            The gradient of ``sum_B w d2_M(pull pair) + sum w d2_M(push pair)``.

        See Also
        --------
        per_pull_pair : Sums per-triplet weights onto the pull pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> geometry = TripletGeometry(X, triplets, np.eye(2))
        >>> geometry.scatter(1.0, np.zeros(4))
        array([[0., 0.],
               [0., 4.]])
        """
        return self.triplets.pair_pattern.scatter(
            self.X, np.concatenate([np.broadcast_to(pull_weights, len(self.triplets.pull_pairs)),
                                    push_weights]))

    def gap_and_direction_gradient(self, gap_weights, direction_weights):
        """Return the gradient with respect to M of weighted gaps and margin denominators.

        The gradient of ``sum_T g_t Delta_t + h_t q_t`` at fixed weights g and h, with
        ``dDelta = T_il T_il^T - T_ij T_ij^T`` and ``dq = M v v^T + v v^T M`` for
        ``v = target - impostor``. Any loss that is a function of the gap and of q (the two
        ingredients of the margin) differentiates through it (:doc:`/user_guide/method`,
        section 9).

        Parameters
        ----------
        gap_weights : ndarray of shape (n_triplets,)
            The weights g of the gaps.
        direction_weights : ndarray of shape (n_triplets,)
            The weights h of the squared denominators q.

        Returns
        -------
        ndarray of shape (n_features, n_features)
            The gradient.

        See Also
        --------
        scatter : The gradient of weighted pair distances.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> geometry = TripletGeometry(X, triplets, np.eye(2))
        >>> geometry.gap_and_direction_gradient(np.ones(4), np.zeros(4))
        array([[36.,  0.],
               [ 0., -4.]])
        """
        gradient = self.scatter(pull_weights=-self.per_pull_pair(gap_weights),
                                push_weights=self.per_push_pair(gap_weights))
        cross = self.M @ self.triplets.spread_pattern.scatter(self.X, direction_weights)
        return gradient + cross + cross.T

    def per_pull_pair(self, triplet_weights):
        """Sum per-triplet weights onto the triplets' (anchor, target) pairs.

        Parameters
        ----------
        triplet_weights : ndarray of shape (n_triplets,)
            A weight per triplet.

        Returns
        -------
        ndarray of shape (n_pull,)
            The sum of the weights of each pull pair's triplets.

        See Also
        --------
        per_push_pair : The same onto the (anchor, impostor) pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> geometry = TripletGeometry(X, triplets, np.eye(2))
        >>> geometry.per_pull_pair(np.ones(4))
        array([1., 1., 1., 1.])
        """
        return np.bincount(self.triplets.pull_index, triplet_weights,
                           minlength=len(self.triplets.pull_pairs))

    def per_push_pair(self, triplet_weights):
        """Sum per-triplet weights onto the triplets' (anchor, impostor) pairs.

        Parameters
        ----------
        triplet_weights : ndarray of shape (n_triplets,)
            A weight per triplet.

        Returns
        -------
        ndarray of shape (n_push,)
            The sum of the weights of each push pair's triplets.

        See Also
        --------
        per_pull_pair : The same onto the (anchor, target) pairs.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> geometry = TripletGeometry(X, triplets, np.eye(2))
        >>> geometry.per_push_pair(np.ones(4))
        array([1., 1., 1., 1.])
        """
        return np.bincount(self.triplets.push_index, triplet_weights,
                           minlength=len(self.triplets.push_pairs))


class TripletLoss:
    """A term of a triplet objective, the base of the losses.

    Subclasses implement ``value_and_gradient(geometry, smoothing)``, the term's value and
    its gradient with respect to a symmetric M, and, to be used with impostors that follow the
    metric, ``impostor_reach``.

    See Also
    --------
    TripletObjective : The sum of triplet losses.
    LMNNLoss : LMNN's terms.
    PerturbationLoss : The perturbation loss.

    Examples
    --------
    >>> from robustdml.math import LMNNLoss, TripletLoss
    >>> isinstance(LMNNLoss(), TripletLoss)
    True
    """

    def __init_subclass__(cls, **kwargs):
        # An override without a docstring of its own gets the base's, which is what it
        # implements: Sphinx shows it anyway, and numpydoc's validation reads ``__doc__``.
        super().__init_subclass__(**kwargs)
        for name in ("value_and_gradient", "impostor_reach"):
            method = vars(cls).get(name)
            if method is not None and method.__doc__ is None:
                method.__doc__ = getattr(TripletLoss, name).__doc__

    def value_and_gradient(self, geometry, smoothing=0.0):
        """Return the term's value and its gradient with respect to a symmetric M.

        Parameters
        ----------
        geometry : TripletGeometry
            The data, the triplets and the metric.
        smoothing : float, default=0.0
            Width of the quadratic smoothing of the term's hinges, relative to their margin;
            0 evaluates the exact (non-smooth) term. Quasi-Newton solvers need a smooth one.

        Returns
        -------
        value : float
            The term's value.
        gradient : ndarray of shape (n_features, n_features)
            Its gradient with respect to M.

        See Also
        --------
        TripletObjective.value_and_gradient_M : The sum over an objective's terms.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss, TripletGeometry, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> value, gradient = LMNNLoss(0.5).value_and_gradient(
        ...     TripletGeometry(X, triplets, np.eye(2)))
        >>> float(value)
        0.5
        """

    def impostor_reach(self, target_sq_dist, L):
        """Return, per anchor, a learned-space distance beyond which no impostor adds to the term.

        The full objective (:class:`ActiveTriplets`) needs it to find every contributing
        impostor; a term that cannot bound it cannot be used there.

        Parameters
        ----------
        target_sq_dist : ndarray of shape (n_anchors,)
            Each anchor's largest squared distance to one of its targets under ``M = L^T L``.
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.

        Returns
        -------
        ndarray of shape (n_anchors,)
            The distances.

        Raises
        ------
        NotImplementedError
            If the term cannot bound the distance of its impostors.

        See Also
        --------
        ActiveTriplets : The impostor search that uses it.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss
        >>> LMNNLoss().impostor_reach(np.array([1.0, 3.0]), np.eye(2))
        array([1.41421356, 2.        ])
        """
        raise NotImplementedError(f"{type(self).__name__} does not bound the distance of its "
                                  "impostors; use it with fixed triplets.")


class LMNNLoss(TripletLoss):
    """The LMNN objective, without regularizers.

    ``mu/|B| sum_B d2_M(x_i, x_j) + (1 - mu)/|T| sum_T [1 + d2_M(x_i, x_j) - d2_M(x_i, x_l)]_+``
    (:doc:`/user_guide/method`, section 4), after Weinberger and Saul [1]_.

    Parameters
    ----------
    pull_weight : float in [0, 1], default=0.5
        The weight mu of the pull term (the push term gets ``1 - mu``).

    See Also
    --------
    robustdml.LMNN : The learner that minimizes it.
    PerturbationLoss : The term that adds robustness.

    References
    ----------
    .. [1] K. Q. Weinberger and L. K. Saul, "Distance Metric Learning for Large Margin Nearest
       Neighbor Classification", Journal of Machine Learning Research, 10:207-244, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import LMNNLoss, TripletGeometry, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> geometry = TripletGeometry(X, triplets, np.eye(2))
    >>> float(LMNNLoss(0.5).value_and_gradient(geometry)[0])
    0.5
    """

    def __init__(self, pull_weight=0.5):
        self.pull_weight = pull_weight

    def value_and_gradient(self, geometry, smoothing=0.0):
        n_pull = len(geometry.triplets.pull_pairs)
        n_triplets = geometry.triplets.triplet_normalizer
        mu = self.pull_weight
        hinge, slope = smooth_hinge(1.0 - geometry.gap, smoothing)
        value = (mu / n_pull * geometry.pull_sq_dist.sum()
                 + (1.0 - mu) / n_triplets * hinge.sum())
        push = (1.0 - mu) / n_triplets * slope
        gradient = geometry.scatter(pull_weights=mu / n_pull + geometry.per_pull_pair(push),
                                    push_weights=-geometry.per_push_pair(push))
        return value, gradient

    def impostor_reach(self, target_sq_dist, L):
        # the (smoothed) hinge [1 + d2_ij - d2_il]_+ is 0 once d2_il >= d2_ij + 1
        return np.sqrt(target_sq_dist + 1.0)


class PerturbationLoss(TripletLoss):
    """The perturbation loss, a regularizer for any triplet objective.

    ``weight/|T| sum_T [tau^2 - m^2]_+`` with m the adversarial margin of the triplet (m = 0 for a
    violated triplet, whose term is the constant tau^2). It pushes every margin up to ``tau``
    [1]_ (:doc:`/user_guide/method`, section 3).

    Parameters
    ----------
    weight : float >= 0, default=1.0
        The weight lambda.
    margin : float > 0, default=0.1
        The desired adversarial margin tau, in input-space units.
    eps : float, default=1e-10
        Added to the squared denominator of the margin, as in the reference implementation:
        a smoothing in the units of ``||M (x_j - x_l)||^2``, negligible on standardized data.

    See Also
    --------
    adversarial_margin : The margin it asks for.
    robustdml.LMNN : LMNN with this loss, when ``perturbation_weight > 0``.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import PerturbationLoss, TripletGeometry, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> geometry = TripletGeometry(X, triplets, np.eye(2))
    >>> geometry.margin().round(4)
    array([1.2649, 1.2649, 1.2649, 1.2649])
    >>> round(float(PerturbationLoss(weight=1.0, margin=2.0).value_and_gradient(geometry)[0]), 4)
    2.4
    """

    def __init__(self, weight=1.0, margin=0.1, eps=SMOOTHING_EPS):
        self.weight = weight
        self.margin = margin
        self.eps = eps

    def value_and_gradient(self, geometry, smoothing=0.0):
        n_triplets = geometry.triplets.triplet_normalizer
        margin_sq = geometry.margin(self.eps) ** 2
        # the smoothing width is relative to tau^2, the scale of this hinge
        hinge, slope = smooth_hinge(self.margin ** 2 - margin_sq, smoothing * self.margin ** 2)
        value = self.weight / n_triplets * hinge.sum()
        coef = self.weight / n_triplets * slope
        a = np.maximum(geometry.gap, 0.0) / (geometry.direction_sq_norm + self.eps)
        # d(-m^2) = -(a/2) dDelta + (a^2/4) dq
        return value, geometry.gap_and_direction_gradient(-0.5 * a * coef, 0.25 * a ** 2 * coef)

    def impostor_reach(self, target_sq_dist, L):
        # With a = d_M(x_i, x_j), b = d_M(x_i, x_l) and s = ||L||_2, the margin's denominator
        # obeys ||M (x_j - x_l)|| <= s d_M(x_j, x_l) <= s (a + b), so
        # m >= (b^2 - a^2) / (2 (s (a + b) + sqrt(eps))). Every b >= a + 2 tau s + c with
        # c = sqrt(2 tau sqrt(eps)) (so c^2 <= c (a + b)) then gives m >= tau: no loss.
        tau = self.margin
        return (np.sqrt(target_sq_dist) + 2.0 * tau * np.linalg.norm(L, 2)
                + np.sqrt(2.0 * tau * np.sqrt(self.eps)))


class SignedMarginLoss(TripletLoss):
    """Minus the mean signed adversarial margin, the objective of ARML.

    ``-weight/|T| sum_T Delta / (2 sqrt(q + eps))``, where the signed margin is negative for
    violated triplets [1]_ (gradient: :doc:`/user_guide/method`, section 9). Unlike the
    perturbation loss it has no target margin: every triplet keeps pulling its margin up, and
    violated ones count by how far.

    Parameters
    ----------
    weight : float >= 0, default=1.0
        The weight of the term.
    eps : float, default=1e-10
        Added to q, as in the perturbation loss.

    See Also
    --------
    robustdml.ARML : The learner that minimizes it.
    PerturbationLoss : The hinge on the margin that LMNN-PL adds.

    References
    ----------
    .. [1] L. Wang, X. Liu, J. Yi, Y. Jiang and C.-J. Hsieh, "Provably Robust Metric
       Learning", Advances in Neural Information Processing Systems 33, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import SignedMarginLoss, TripletGeometry, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> geometry = TripletGeometry(X, triplets, np.eye(2))
    >>> round(float(SignedMarginLoss().value_and_gradient(geometry)[0]), 4)
    -1.2649
    """

    def __init__(self, weight=1.0, eps=SMOOTHING_EPS):
        self.weight = weight
        self.eps = eps

    def value_and_gradient(self, geometry, smoothing=0.0):
        coef = -self.weight / geometry.triplets.triplet_normalizer
        root = np.sqrt(geometry.direction_sq_norm + self.eps)
        value = coef * np.sum(geometry.gap / (2.0 * root))
        # d(Delta / (2 sqrt(q))) = dDelta / (2 sqrt(q)) - Delta dq / (4 q^(3/2))
        return value, geometry.gap_and_direction_gradient(
            coef / (2.0 * root), -coef * geometry.gap / (4.0 * root ** 3))


class DriftPenalty(TripletLoss):
    """The term ``weight * scale * ||M - M0||_F^2 / ||M0||_F^2``, which keeps M near its start.

    A full-rank metric has p^2 parameters; with few points per feature the triplet terms can
    be driven down by stretching directions that only fit the training set. This term makes
    moving M by its own size cost ``weight * scale`` (``scale``: e.g. the other terms' value
    at the start, so that ``weight`` is relative). It needs no impostors.

    Parameters
    ----------
    weight : float >= 0
        The weight of the term, relative to ``scale``.
    M0 : ndarray of shape (n_features, n_features)
        The starting metric.
    scale : float > 0, default=1.0
        The cost of moving M by its own size, at ``weight=1``.

    See Also
    --------
    TripletObjective.add_drift_penalty : Adds it with the other terms' value as scale.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import DriftPenalty, TripletGeometry, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> geometry = TripletGeometry(X, triplets, 2 * np.eye(2))
    >>> float(DriftPenalty(0.1, np.eye(2)).value_and_gradient(geometry)[0])
    0.9
    """

    def __init__(self, weight, M0, scale=1.0):
        self.weight = weight
        self.M0 = M0
        self.scale = scale

    def value_and_gradient(self, geometry, smoothing=0.0):
        coef = self.weight * self.scale / max(np.sum(self.M0 ** 2), np.finfo(float).tiny)
        difference = geometry.M - self.M0
        return coef * np.sum(difference ** 2), 2.0 * coef * difference

    def impostor_reach(self, target_sq_dist, L):
        return np.zeros_like(target_sq_dist)


class TripletObjective:
    """The sum of triplet losses over a data set and its triplets.

    Its gradient with respect to L (``M = L^T L``) is ``2 L G`` by the chain rule, where G is
    the gradient with respect to M.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data the triplets index.
    triplets : TripletSet or ActiveTriplets
        Fixed triplets, or the full objective's triplets found under each evaluated metric
        (anything whose ``at(L)`` gives the triplet set to use at L).
    losses : sequence of TripletLoss
        The terms.
    smoothing : float, default=0.0
        Passed to every loss; 0 evaluates the exact (non-smooth) objective.

    See Also
    --------
    TripletLoss : The terms.
    robustdml.LMNN : A learner that minimizes one.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
    >>> objective = TripletObjective(X, triplets, [LMNNLoss(0.5)])
    >>> value, gradient = objective.value_and_gradient_L(np.eye(2))
    >>> float(value)
    0.5
    """

    def __init__(self, X, triplets, losses, smoothing=0.0):
        self.X = X
        self.triplets = triplets
        self.losses = list(losses)
        self.smoothing = smoothing

    def add_drift_penalty(self, weight, L0, n_reference_terms=1):
        """Append a :class:`DriftPenalty` whose weight is relative to the other terms.

        The penalty is ``DriftPenalty(weight, L0^T L0, scale)``, with ``scale`` the
        value at L0 of the first ``n_reference_terms`` losses, so that the weight is relative
        to them and other terms, such as the perturbation loss, keep their weight against them.

        Parameters
        ----------
        weight : float >= 0
            The drift weight r.
        L0 : ndarray of shape (n_components, n_features)
            The starting L.
        n_reference_terms : int, default=1
            How many of the losses, from the first, set the scale.

        See Also
        --------
        DriftPenalty : The term added.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> objective = TripletObjective(X, triplets, [LMNNLoss(0.5)])
        >>> objective.add_drift_penalty(0.1, np.eye(2))
        >>> len(objective.losses)
        2
        """
        reference = TripletObjective(self.X, self.triplets, self.losses[:n_reference_terms],
                                     smoothing=self.smoothing)
        self.losses.append(DriftPenalty(weight, L0.T @ L0,
                                        reference.value_and_gradient_M(L0)[0]))

    def add_start_regulariser(self, weight, L0, n_reference_terms=1):
        """Deprecated: the old name of ``add_drift_penalty``, removed in the next release.

        Parameters
        ----------
        weight : float >= 0
            The drift weight r.
        L0 : ndarray of shape (n_components, n_features)
            The starting L.
        n_reference_terms : int, default=1
            How many of the losses, from the first, set the scale.

        Warns
        -----
        FutureWarning
            Always: call ``add_drift_penalty`` instead.

        See Also
        --------
        add_drift_penalty : The new name.

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> objective = TripletObjective(X, triplets, [LMNNLoss(0.5)])
        >>> with warnings.catch_warnings(record=True):
        ...     objective.add_start_regulariser(0.1, np.eye(2))
        >>> type(objective.losses[-1]).__name__
        'DriftPenalty'
        """
        warnings.warn("TripletObjective.add_start_regulariser is renamed add_drift_penalty; the "
                      "old name is removed in the next release.", FutureWarning, stacklevel=2)
        self.add_drift_penalty(weight, L0, n_reference_terms)

    def value_and_gradient_M(self, L):
        """Return the objective at ``M = L^T L`` and its gradient with respect to symmetric M.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.

        Returns
        -------
        value : float
            The objective.
        gradient : ndarray of shape (n_features, n_features)
            Its gradient with respect to M.

        See Also
        --------
        value_and_gradient_L : The gradient with respect to L.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> objective = TripletObjective(X, triplets, [LMNNLoss(0.5)])
        >>> objective.value_and_gradient_M(np.eye(2))[1]
        array([[0. , 0. ],
               [0. , 0.5]])
        """
        triplets = self.triplets.at(L)
        # fixed triplets: the same L gives the same value (a pass's start is evaluated for its
        # tolerance, then again by the solver)
        last = getattr(self, "_last", None)
        if (triplets is self.triplets and last is not None and last[0] == (len(self.losses), self.smoothing)
                and np.array_equal(last[1], L)):
            return last[2], last[3].copy()
        geometry = TripletGeometry(self.X, triplets, L)
        value, gradient = 0.0, np.zeros((self.X.shape[1],) * 2)
        for loss in self.losses:
            part_value, part_gradient = loss.value_and_gradient(geometry, self.smoothing)
            value += part_value
            gradient += part_gradient
        if triplets is self.triplets:
            self._last = ((len(self.losses), self.smoothing), np.array(L, copy=True), value, gradient.copy())
        return value, gradient

    def value_and_gradient_L(self, L):
        """Return the objective at ``M = L^T L`` and its gradient with respect to L.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.

        Returns
        -------
        value : float
            The objective.
        gradient : ndarray of shape (n_components, n_features)
            Its gradient with respect to L, ``2 L G`` for the gradient G with respect to M.

        See Also
        --------
        value_and_gradient_M : The gradient with respect to M.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=1)
        >>> objective = TripletObjective(X, triplets, [LMNNLoss(0.5)])
        >>> objective.value_and_gradient_L(2 * np.eye(2))[1]
        array([[0., 0.],
               [0., 2.]])
        """
        value, gradient = self.value_and_gradient_M(L)
        return value, 2.0 * L @ gradient

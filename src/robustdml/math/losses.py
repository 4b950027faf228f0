"""Triplet objectives as composable parts: the LMNN loss and the perturbation loss.

Each part maps a :class:`TripletGeometry` (the data, the triplets and the current metric, with
the per-pair and per-triplet quantities computed once and shared) to its value and its gradient
with respect to a symmetric M. A :class:`TripletObjective` adds parts; its gradient with respect
to L (M = L^T L) is ``2 L G`` by the chain rule. Any triplet-based learner gets the perturbation
loss by adding a :class:`PerturbationLoss` to its parts.
"""

from functools import cached_property

import numpy as np

from ._linalg import TRIPLET_BLOCK, rowwise_sq_dist, smooth_hinge
from .margin import degeneracy_guard, margin_from_gap

#: The perturbation loss's smoothing of the margin's denominator, the reference implementation's
#: constant (training data are standardised there; a measured margin uses a relative guard).
SMOOTHING_EPS = 1e-10


class TripletGeometry:
    """Quantities of a triplet set under the metric ``M = L^T L``, computed on first use.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    triplets : TripletSet
    L : ndarray of shape (n_components, n_features)
    """

    def __init__(self, X, triplets, L):
        self.X = X
        self.triplets = triplets
        self.L = L

    @cached_property
    def M(self):
        return self.L.T @ self.L

    @cached_property
    def embedded(self):
        """``X L^T``: Euclidean distances here are d_M in input space."""
        return self.X @ self.L.T

    @cached_property
    def pull_sq_dist(self):
        """d2_M over the (anchor, target) pairs."""
        pairs = self.triplets.pull_pairs
        return rowwise_sq_dist(self.embedded, pairs[:, 0], pairs[:, 1])

    @cached_property
    def push_sq_dist(self):
        """d2_M over the (anchor, impostor) pairs."""
        pairs = self.triplets.push_pairs
        return rowwise_sq_dist(self.embedded, pairs[:, 0], pairs[:, 1])

    @cached_property
    def gap(self):
        """Delta = d2_M(anchor, impostor) - d2_M(anchor, target), per triplet."""
        return (self.push_sq_dist[self.triplets.push_index]
                - self.pull_sq_dist[self.triplets.pull_index])

    @cached_property
    def direction_sq_norm(self):
        """q = ||M (target - impostor)||^2, per triplet."""
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
        """Adversarial margin of every triplet (docs/method.md, section 2); ``eps`` None
        measures it exactly (scale-relative guard), a number smooths it as the loss does."""
        if eps is None:
            metric_norm = np.linalg.norm(self.L, 2) ** 2 if self.L.size else 0.0
            eps = degeneracy_guard(metric_norm, self.pull_sq_dist[self.triplets.pull_index],
                                   self.push_sq_dist[self.triplets.push_index])
        return margin_from_gap(self.gap, self.direction_sq_norm, eps)

    def scatter(self, pull_weights, push_weights):
        """Gradient of ``sum_B w d2_M(pull pair) + sum w d2_M(push pair)`` w.r.t. M."""
        return self.triplets.pair_pattern.scatter(
            self.X, np.concatenate([np.broadcast_to(pull_weights, len(self.triplets.pull_pairs)),
                                    push_weights]))

    def gap_and_direction_gradient(self, gap_weights, direction_weights):
        """Gradient w.r.t. M of ``sum_T g_t Delta_t + h_t q_t`` at fixed weights g and h:
        ``dDelta = T_il T_il^T - T_ij T_ij^T`` and ``dq = M v v^T + v v^T M`` with
        ``v = target - impostor``. Any loss that is a function of the gap and of q (the two
        ingredients of the margin) differentiates through it (docs/method.md, section 9)."""
        gradient = self.scatter(pull_weights=-self.per_pull_pair(gap_weights),
                                push_weights=self.per_push_pair(gap_weights))
        cross = self.M @ self.triplets.spread_pattern.scatter(self.X, direction_weights)
        return gradient + cross + cross.T

    def per_pull_pair(self, triplet_weights):
        """Sum per-triplet weights onto the triplets' (anchor, target) pairs."""
        return np.bincount(self.triplets.pull_index, triplet_weights,
                           minlength=len(self.triplets.pull_pairs))

    def per_push_pair(self, triplet_weights):
        """Sum per-triplet weights onto the triplets' (anchor, impostor) pairs."""
        return np.bincount(self.triplets.push_index, triplet_weights,
                           minlength=len(self.triplets.push_pairs))


class TripletLoss:
    """A term of a triplet objective: ``value_and_gradient(geometry) -> (float, (p, p) array)``.

    Subclasses return the term's value and its gradient with respect to a symmetric M.
    ``smoothing`` > 0 asks for a continuously differentiable variant (for quasi-Newton solvers).
    """

    def value_and_gradient(self, geometry, smoothing=0.0):
        raise NotImplementedError

    def impostor_reach(self, target_sq_dist, L):
        """Per anchor, a learned-space distance beyond which no impostor adds to this term.

        ``target_sq_dist`` is each anchor's largest squared distance to one of its targets under
        ``M = L^T L``. The full objective (:mod:`.impostors`) needs it to find every
        contributing impostor; a term that cannot bound it cannot be used there.
        """
        raise NotImplementedError(f"{type(self).__name__} does not bound the distance of its "
                                  "impostors; use it with fixed triplets.")


class LMNNLoss(TripletLoss):
    """The LMNN objective of docs/method.md, section 4, without regularisers.

    ``mu/|B| sum_B d2_M(x_i, x_j) + (1 - mu)/|T| sum_T [1 + d2_M(x_i, x_j) - d2_M(x_i, x_l)]_+``

    Parameters
    ----------
    pull_weight : float in [0, 1]
        mu, the weight of the pull term (the push term gets ``1 - mu``).
    """

    def __init__(self, pull_weight=0.5):
        self.pull_weight = pull_weight

    def value_and_gradient(self, geometry, smoothing=0.0):
        n_pull = len(geometry.triplets.pull_pairs)
        n_triplets = geometry.triplets.triplet_normaliser
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
    """The perturbation loss of docs/method.md, section 3, a regulariser for any triplet objective.

    ``weight/|T| sum_T [tau^2 - m^2]_+`` with m the adversarial margin of the triplet (m = 0 for a
    violated triplet, whose term is the constant tau^2). It pushes every margin up to ``tau``.

    Parameters
    ----------
    weight : float >= 0
        lambda.
    margin : float > 0
        tau, the desired adversarial margin, in input-space units.
    eps : float
        Added to the squared denominator of the margin, as in the reference implementation:
        a smoothing in the units of ``||M (x_j - x_l)||^2``, negligible on standardised data.
    """

    def __init__(self, weight=1.0, margin=0.1, eps=SMOOTHING_EPS):
        self.weight = weight
        self.margin = margin
        self.eps = eps

    def value_and_gradient(self, geometry, smoothing=0.0):
        n_triplets = geometry.triplets.triplet_normaliser
        margin_sq = geometry.margin(self.eps) ** 2
        # the smoothing width is relative to tau^2, the scale of this hinge
        hinge, slope = smooth_hinge(self.margin ** 2 - margin_sq, smoothing * self.margin ** 2)
        value = self.weight / n_triplets * hinge.sum()
        coef = self.weight / n_triplets * slope
        a = np.maximum(geometry.gap, 0.0) / (geometry.direction_sq_norm + self.eps)
        # d(-m^2) = -(a/2) dDelta + (a^2/4) dq
        return value, geometry.gap_and_direction_gradient(-0.5 * a * coef, 0.25 * a ** 2 * coef)

    def impostor_reach(self, target_sq_dist, L):
        """With a = d_M(x_i, x_j), b = d_M(x_i, x_l) and s = ||L||_2, the margin's denominator
        obeys ||M (x_j - x_l)|| <= s d_M(x_j, x_l) <= s (a + b), so
        m >= (b^2 - a^2) / (2 (s (a + b) + sqrt(eps))). Every b >= a + 2 tau s + c with
        c = sqrt(2 tau sqrt(eps)) (so c^2 <= c (a + b)) then gives m >= tau: no loss."""
        tau = self.margin
        return (np.sqrt(target_sq_dist) + 2.0 * tau * np.linalg.norm(L, 2)
                + np.sqrt(2.0 * tau * np.sqrt(self.eps)))


class SignedMarginLoss(TripletLoss):
    """``-weight/|T| sum_T Delta / (2 sqrt(q + eps))``: minus the mean *signed* adversarial
    margin (negative for violated triplets), the objective of ARML (Wang et al., "Provably
    Robust Metric Learning", NeurIPS 2020; gradient: docs/method.md, section 9). Unlike the perturbation loss it has no target
    margin: every triplet keeps pulling its margin up, and violated ones count by how far.

    Parameters
    ----------
    weight : float >= 0
    eps : float
        Added to q, as in the perturbation loss.
    """

    def __init__(self, weight=1.0, eps=SMOOTHING_EPS):
        self.weight = weight
        self.eps = eps

    def value_and_gradient(self, geometry, smoothing=0.0):
        coef = -self.weight / geometry.triplets.triplet_normaliser
        root = np.sqrt(geometry.direction_sq_norm + self.eps)
        value = coef * np.sum(geometry.gap / (2.0 * root))
        # d(Delta / (2 sqrt(q))) = dDelta / (2 sqrt(q)) - Delta dq / (4 q^(3/2))
        return value, geometry.gap_and_direction_gradient(
            coef / (2.0 * root), -coef * geometry.gap / (4.0 * root ** 3))


class StartRegulariser(TripletLoss):
    """``weight * scale * ||M - M0||_F^2 / ||M0||_F^2``: keeps the metric near its start.

    A full-rank metric has p^2 parameters; with few points per feature the triplet terms can
    be driven down by stretching directions that only fit the training set. This term makes
    moving M by its own size cost ``weight * scale`` (``scale``: e.g. the other terms' value
    at the start, so that ``weight`` is relative). It needs no impostors.

    Parameters
    ----------
    weight : float >= 0
    M0 : ndarray of shape (n_features, n_features)
        The starting metric.
    scale : float > 0
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
    """Sum of triplet losses over a data set and its triplets.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    triplets : TripletSet or ActiveTriplets
        Fixed triplets, or the full objective's triplets found under each evaluated metric
        (anything whose ``at(L)`` gives the triplet set to use at L).
    losses : sequence of TripletLoss
    smoothing : float
        Passed to every loss; 0 evaluates the exact (non-smooth) objective.
    """

    def __init__(self, X, triplets, losses, smoothing=0.0):
        self.X = X
        self.triplets = triplets
        self.losses = list(losses)
        self.smoothing = smoothing

    def add_start_regulariser(self, weight, L0, n_reference_terms=1):
        """Append ``StartRegulariser(weight, L0^T L0, scale)``, ``scale`` the value at L0 of the
        first ``n_reference_terms`` losses (so that the weight is relative to them, and other
        terms such as the perturbation loss keep their weight against them)."""
        reference = TripletObjective(self.X, self.triplets, self.losses[:n_reference_terms],
                                     smoothing=self.smoothing)
        self.losses.append(StartRegulariser(weight, L0.T @ L0,
                                            reference.value_and_gradient_M(L0)[0]))

    def value_and_gradient_M(self, L):
        """Objective at ``M = L^T L`` and its gradient w.r.t. symmetric M."""
        geometry = TripletGeometry(self.X, self.triplets.at(L), L)
        value, gradient = 0.0, np.zeros((self.X.shape[1],) * 2)
        for loss in self.losses:
            part_value, part_gradient = loss.value_and_gradient(geometry, self.smoothing)
            value += part_value
            gradient += part_gradient
        return value, gradient

    def value_and_gradient_L(self, L):
        """Objective at ``M = L^T L`` and its gradient w.r.t. L (``2 L G``)."""
        value, gradient = self.value_and_gradient_M(L)
        return value, 2.0 * L @ gradient

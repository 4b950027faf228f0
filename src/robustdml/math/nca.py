"""The NCA objective (Goldberger et al., 2004) as a loss term that composes with triplet losses
(:doc:`/user_guide/method`, section 9).

Point i picks a neighbor j != i with probability ``p_ij = softmax_j(-d2_M(x_i, x_j))``; NCA
maximizes the expected number of points whose pick shares their class, ``sum_i p_i`` with
``p_i = sum_{j in class(i)} p_ij`` (scikit-learn's ``NeighborhoodComponentsAnalysis``). As a
loss it is ``-(weight / n) sum_i p_i``, a function of M, with gradient

    dL/dM = -(weight / n) sum_ij w_ij (x_i - x_j)(x_i - x_j)^T,   w_ij = -p_ij ([j in class(i)] - p_i)

(``dp_i / dd2_ij = w_ij``), i.e. ``X^T (diag(row sums + column sums of W) - W - W^T) X``; the row
sums of W are 0, since each row of p sums to 1. Rows
are processed in blocks of at most ``PAIR_BLOCK`` (row, column) entries, so no n x n matrix is
held: 60,000 points need 60,000 x 70 at a time.
"""

import numpy as np

from .losses import TripletLoss

#: (row, column) entries of the probability matrix held at once.
PAIR_BLOCK = 1 << 22

#: Exponents below this are raised to it before the softmax: a row's sum (at least 1) then
#: changes by less than n x exp(-100) = n x 4e-44, far under double precision for any n that
#: fits in memory, while exp of the far more negative exponents a fitted metric gives
#: underflows, which made an evaluation about twice as slow.
EXP_FLOOR = -100.0


class NCALoss(TripletLoss):
    """Minus the expected leave-one-out accuracy of NCA's stochastic neighbor rule.

    The term is ``-(weight / n) sum_i p_i``, where point i picks a neighbor j != i with
    probability ``softmax_j(-d2_M(x_i, x_j))`` and ``p_i`` is the probability that the pick
    shares its class [1]_. It sums over every pair itself, in blocks of rows, and composes
    with triplet losses such as the perturbation loss.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Class of each row of the data the objective is evaluated on.
    weight : float, default=1.0
        The weight of the term.

    See Also
    --------
    robustdml.NCA : The learner that minimizes it.

    References
    ----------
    .. [1] J. Goldberger, S. Roweis, G. Hinton and R. Salakhutdinov, "Neighbourhood Components
       Analysis", Advances in Neural Information Processing Systems 17, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import NCALoss, TripletGeometry, TripletSet
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> geometry = TripletGeometry(X, TripletSet.from_indices([], [], [], 4), np.eye(2))
    >>> round(float(NCALoss(np.array([0, 0, 1, 1])).value_and_gradient(geometry)[0]), 4)
    -0.9995
    """

    def __init__(self, labels, weight=1.0):
        self.labels = np.asarray(labels)
        self.weight = weight
        self._buffers = None

    def _block_buffers(self, step, n_samples):
        """Arrays for one block, kept between evaluations: a fit evaluates the loss hundreds
        of times, and fresh block-sized arrays cost as much as the arithmetic on them."""
        if self._buffers is None or self._buffers[0].shape != (step, n_samples):
            self._buffers = (np.empty((step, n_samples)), np.empty((step, n_samples)),
                             np.empty((step, n_samples), dtype=bool))
        return self._buffers

    def value_and_gradient(self, geometry, smoothing=0.0):
        X, embedded = geometry.X, geometry.embedded
        n_samples = len(X)
        sq_norms = np.einsum("ij,ij->i", embedded, embedded)
        total = 0.0
        column_sums = np.zeros(n_samples)
        cross = np.zeros((X.shape[1], X.shape[1]))
        step = min(n_samples, max(1, PAIR_BLOCK // n_samples))
        p_buffer, p_same_class_buffer, same_buffer = self._block_buffers(step, n_samples)
        for start in range(0, n_samples, step):
            rows = np.arange(start, min(start + step, n_samples))
            p, p_same_class = p_buffer[:rows.size], p_same_class_buffer[:rows.size]
            same = same_buffer[:rows.size]
            # p: softmax over each row of -d2 = 2 <e_i, e_j> - |e_j|^2 - |e_i|^2, in place; the
            # last term is constant along the row, so the softmax never needs it
            np.matmul(2.0 * embedded[rows], embedded.T, out=p)
            p -= sq_norms
            p[np.arange(rows.size), rows] = -np.inf  # p_ii = 0
            p -= p.max(axis=1, keepdims=True)
            np.maximum(p, EXP_FLOOR, out=p)
            np.exp(p, out=p)
            p /= p.sum(axis=1, keepdims=True)
            np.equal(self.labels[rows, None], self.labels[None, :], out=same)
            np.multiply(p, same, out=p_same_class)
            p_same = p_same_class.sum(axis=1)
            total += p_same.sum()
            # w = p p_same - p_same_class, whose rows sum to 0 (each row of p sums to 1)
            p *= p_same[:, None]
            p -= p_same_class
            column_sums += p.sum(axis=0)
            cross += X[rows].T @ (p @ X)
        spread = X.T @ (column_sums[:, None] * X) - cross - cross.T
        coef = -self.weight / n_samples
        return coef * total, coef * spread

    def impostor_reach(self, target_sq_dist, L):
        # NCA needs no impostors: it sums over every pair itself
        return np.zeros_like(target_sq_dist)

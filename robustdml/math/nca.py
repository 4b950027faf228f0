"""The NCA objective (Goldberger et al., 2004) as a loss term that composes with triplet losses
(docs/method.md, section 9).

Point i picks a neighbour j != i with probability ``p_ij = softmax_j(-d2_M(x_i, x_j))``; NCA
maximises the expected number of points whose pick shares their class, ``sum_i p_i`` with
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


class NCALoss(TripletLoss):
    """``-(weight / n) sum_i p_i``: minus the expected leave-one-out accuracy of the stochastic
    neighbour rule, averaged over the n points.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Class of each row of the data the objective is evaluated on.
    weight : float
    """

    def __init__(self, labels, weight=1.0):
        self.labels = np.asarray(labels)
        self.weight = weight

    def value_and_gradient(self, geometry, smoothing=0.0):
        X, embedded = geometry.X, geometry.embedded
        n_samples = len(X)
        sq_norms = np.einsum("ij,ij->i", embedded, embedded)
        total = 0.0
        column_sums = np.zeros(n_samples)
        cross = np.zeros((X.shape[1], X.shape[1]))
        step = max(1, PAIR_BLOCK // n_samples)
        for start in range(0, n_samples, step):
            rows = np.arange(start, min(start + step, n_samples))
            # p: softmax of -d2 over each row, in place (shifted by the row's nearest)
            p = embedded[rows] @ embedded.T
            p *= -2.0
            p += sq_norms[rows, None]
            p += sq_norms[None, :]
            p[np.arange(rows.size), rows] = np.inf  # p_ii = 0
            p -= p.min(axis=1, keepdims=True)
            np.negative(p, out=p)
            np.exp(p, out=p)
            p /= p.sum(axis=1, keepdims=True)
            p_same_class = p * (self.labels[rows, None] == self.labels[None, :])
            p_same = p_same_class.sum(axis=1)
            total += p_same.sum()
            # w = p (p_same - [same class]): its rows sum to 0 (each row of p sums to 1)
            column_sums += p_same @ p - p_same_class.sum(axis=0)
            cross += X[rows].T @ (p_same[:, None] * (p @ X) - p_same_class @ X)
        spread = X.T @ (column_sums[:, None] * X) - cross - cross.T
        coef = -self.weight / n_samples
        return coef * total, coef * spread

    def impostor_reach(self, target_sq_dist, L):
        """NCA needs no impostors: it sums over every pair itself."""
        return np.zeros_like(target_sq_dist)

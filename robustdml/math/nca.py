"""The NCA objective (Goldberger et al., 2004) as a loss term that composes with triplet losses.

Point i picks a neighbour j != i with probability ``p_ij = softmax_j(-d2_M(x_i, x_j))``; NCA
maximises the expected number of points whose pick shares their class, ``sum_i p_i`` with
``p_i = sum_{j in class(i)} p_ij`` (scikit-learn's ``NeighborhoodComponentsAnalysis``). As a
loss it is ``-(weight / n) sum_i p_i``, a function of M, with gradient

    dL/dM = -(weight / n) sum_ij w_ij (x_i - x_j)(x_i - x_j)^T,   w_ij = -p_ij ([j in class(i)] - p_i)

(``dp_i / dd2_ij = w_ij``), i.e. ``X^T (diag(row sums + column sums of W) - W - W^T) X``. Rows
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
        row_sums, column_sums = np.zeros(n_samples), np.zeros(n_samples)
        cross = np.zeros((X.shape[1], X.shape[1]))
        step = max(1, PAIR_BLOCK // n_samples)
        for start in range(0, n_samples, step):
            rows = np.arange(start, min(start + step, n_samples))
            sq_dist = np.maximum(sq_norms[rows, None] + sq_norms[None, :]
                                 - 2.0 * embedded[rows] @ embedded.T, 0.0)
            sq_dist[np.arange(rows.size), rows] = np.inf  # p_ii = 0
            # softmax of -d2, shifted by each row's nearest for stability
            p = np.exp(-(sq_dist - sq_dist.min(axis=1, keepdims=True)))
            p /= p.sum(axis=1, keepdims=True)
            same = self.labels[rows, None] == self.labels[None, :]
            p_same = np.where(same, p, 0.0).sum(axis=1)
            total += p_same.sum()
            w = p * (p_same[:, None] - same)
            row_sums[rows] = w.sum(axis=1)
            column_sums += w.sum(axis=0)
            cross += X[rows].T @ (w @ X)
        spread = X.T @ ((row_sums + column_sums)[:, None] * X) - cross - cross.T
        coef = -self.weight / n_samples
        return coef * total, coef * spread

    def impostor_reach(self, target_sq_dist, L):
        """NCA needs no impostors: it sums over every pair itself."""
        return np.zeros_like(target_sq_dist)

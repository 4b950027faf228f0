"""Small numerical kernels shared by the losses."""

import numpy as np
from scipy import sparse

#: Triplets processed per block when a per-triplet gather would otherwise hold |T| x p floats.
TRIPLET_BLOCK = 1 << 16


class PairPattern:
    """A fixed list of weighted pairs (rows[t], cols[t]) over n points.

    ``scatter(X, w)`` is ``sum_t w[t] (x_rows[t] - x_cols[t]) (x_rows[t] - x_cols[t])^T``. It
    equals ``X^T (D - W - W^T) X`` for the sparse pair-weight matrix W and its degree matrix D,
    so it costs one sparse product and two p x n x p products. The sparsity pattern of W is
    sorted once here; each call only sums the new weights into it.
    """

    def __init__(self, rows, cols, n_samples):
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        unique, self.inverse = np.unique(rows * n_samples + cols, return_inverse=True)
        self.rows, self.cols = np.divmod(unique, n_samples)
        self.indptr = np.searchsorted(self.rows, np.arange(n_samples + 1))
        self.n_samples = n_samples

    def scatter(self, X, weights):
        data = np.bincount(self.inverse.ravel(), weights, minlength=self.rows.size)
        W = sparse.csr_array((data, self.cols, self.indptr),
                             shape=(self.n_samples, self.n_samples))
        degree = (np.bincount(self.rows, data, minlength=self.n_samples)
                  + np.bincount(self.cols, data, minlength=self.n_samples))
        cross = X.T @ (W @ X)
        return X.T @ (degree[:, None] * X) - cross - cross.T


def rowwise_sq_dist(Z, rows, cols):
    """``||Z[rows[t]] - Z[cols[t]]||^2`` for every t, in blocks of bounded memory."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), TRIPLET_BLOCK):
        block = slice(start, start + TRIPLET_BLOCK)
        diff = Z[rows[block]] - Z[cols[block]]
        out[block] = np.einsum("ij,ij->i", diff, diff)
    return out


def smooth_hinge(u, smoothing=0.0):
    """Hinge ``[u]_+`` and its derivative; with ``smoothing = s > 0``, the Huber-smoothed hinge.

    The smoothed hinge is ``u^2 / (2 s)`` on ``0 < u < s`` and ``u - s/2`` above, so it is
    continuously differentiable (what L-BFGS needs) and within ``s/2`` of the plain hinge.
    """
    if smoothing <= 0:
        active = u > 0
        return np.where(active, u, 0.0), active.astype(float)
    slope = np.clip(u / smoothing, 0.0, 1.0)
    value = np.where(u >= smoothing, u - 0.5 * smoothing, 0.5 * smoothing * slope ** 2)
    return value, slope

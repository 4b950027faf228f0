"""Small numerical kernels shared by the losses."""

import numpy as np
from scipy import sparse

#: Triplets processed per block when a per-triplet gather would otherwise hold |T| x p floats.
TRIPLET_BLOCK = 1 << 16


def pair_scatter(X, rows, cols, weights):
    """``sum_t weights[t] (x_rows[t] - x_cols[t]) (x_rows[t] - x_cols[t])^T`` without a loop.

    The sum equals ``X^T (D - W - W^T) X`` for the sparse pair-weight matrix ``W`` and its
    degree matrix ``D``, so the cost is one sparse product and two p x n x p products,
    independent of how many pairs repeat a point.
    """
    n = X.shape[0]
    W = sparse.csr_array((weights, (rows, cols)), shape=(n, n))
    degree = (np.bincount(rows, weights, minlength=n) + np.bincount(cols, weights, minlength=n))
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

"""Small numerical kernels: exact neighbor search, pair scatters, row-wise distances."""

import contextlib
import functools

import numpy as np
from scipy import sparse
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import ThreadpoolController

from .neighbors import exact_kneighbors

#: Triplets processed per block when a per-triplet gather would otherwise hold |T| x p floats.
TRIPLET_BLOCK = 1 << 16


#: Up to this many features a k-d tree finds exact neighbors faster than brute force; above
#: it brute force (BLAS) wins by far, where scikit-learn's ``algorithm="auto"`` would still
#: pick the tree.
KD_TREE_MAX_FEATURES = 6


def exact_neighbors(n_neighbors, n_features):
    """Make an unfitted exact ``NearestNeighbors`` with the faster search for the dimension.

    Parameters
    ----------
    n_neighbors : int
        Neighbors to find.
    n_features : int
        Dimension of the points: a k-d tree up to ``KD_TREE_MAX_FEATURES``, brute force above.

    Returns
    -------
    sklearn.neighbors.NearestNeighbors
        The unfitted search.

    See Also
    --------
    kneighbors : Query it on the right number of threads.

    Examples
    --------
    >>> from robustdml.math import exact_neighbors
    >>> exact_neighbors(3, 50)
    NearestNeighbors(algorithm='brute', n_neighbors=3)
    """
    algorithm = "kd_tree" if n_features <= KD_TREE_MAX_FEATURES else "brute"
    return NearestNeighbors(n_neighbors=n_neighbors, algorithm=algorithm)


#: Neighbor searches over at most this many (query, reference) pairs run on one OpenMP
#: thread: a second thread, competing with the BLAS threads still spinning after the previous
#: product, costs more than it saves there; larger searches gain from it.
SERIAL_SEARCH_PAIRS = 1 << 24


@functools.cache
def _thread_controller():
    return ThreadpoolController()


def kneighbors(index, queries, **kwargs):
    """Query a fitted ``NearestNeighbors``, on one OpenMP thread when the search is small.

    Parameters
    ----------
    index : sklearn.neighbors.NearestNeighbors
        The fitted search.
    queries : ndarray of shape (n_queries, n_features)
        The query points.
    **kwargs : dict
        Passed to ``index.kneighbors``.

    Returns
    -------
    tuple of ndarray or ndarray
        What ``index.kneighbors(queries, **kwargs)`` returns.

    See Also
    --------
    exact_neighbors : Make the search.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import exact_neighbors, kneighbors
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> kneighbors(exact_neighbors(2, 2).fit(X), X[:1], return_distance=False)
    array([[0, 1]])
    """
    small = len(queries) * index.n_samples_fit_ <= SERIAL_SEARCH_PAIRS
    with (_thread_controller().limit(limits=1, user_api="openmp") if small
          else contextlib.nullcontext()):
        return index.kneighbors(queries, **kwargs)


#: Fits on at most this many points run BLAS on one thread: their products are too small to
#: gain from a second thread, which only adds contention.
SERIAL_FIT_SAMPLES = 20_000


def serial_blas(n_samples):
    """A context running BLAS on one thread for a fit on ``n_samples`` points when that is
    faster (``SERIAL_FIT_SAMPLES``), else a no-op."""
    if n_samples <= SERIAL_FIT_SAMPLES:
        return _thread_controller().limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


def knn_vote(labels, n_classes):
    """Return the majority vote of neighbor labels, with the reference's tie rule.

    A tie is broken toward the tied class whose nearest member comes first (for k = 3, the
    nearest neighbor's label: the rule of the paper's experiments).

    Parameters
    ----------
    labels : ndarray of shape (n_queries, n_neighbors)
        The neighbors' class codes, in ``range(n_classes)``, nearest first.
    n_classes : int
        Number of classes.

    Returns
    -------
    counts : ndarray of shape (n_queries, n_classes)
        The votes per class.
    winner : ndarray of shape (n_queries,)
        The winning class code per query.

    See Also
    --------
    robustdml.KNNClassifier : The classifier that votes so.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import knn_vote
    >>> counts, winner = knn_vote(np.array([[0, 1, 1], [2, 0, 1]]), 3)
    >>> winner
    array([1, 2])
    """
    rows = np.arange(labels.shape[0])
    counts = np.zeros((labels.shape[0], n_classes), dtype=int)
    np.add.at(counts, (rows[:, None], labels), 1)
    in_top = counts[rows[:, None], labels] == counts.max(axis=1)[:, None]
    return counts, labels[rows, np.argmax(in_top, axis=1)]


def leave_one_out_accuracy(Z, y, n_neighbors, *, rows=None):
    """Return the leave-one-out k-NN accuracy of the rows of Z (Euclidean in Z).

    Each row is classified by its k nearest other rows; a row's duplicates stay candidates,
    only the row itself is left out.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        The points, already mapped to the space of the metric.
    y : ndarray of shape (n_samples,)
        Class codes ``0..n_classes-1``.
    n_neighbors : int
        The number k of neighbors (at most ``n_samples - 1``).
    rows : array-like of int or None, default=None
        Classify only these rows (each against all the others): a sample costs about
        ``len(rows) / n_samples`` of the search over every row. None: every row.

    Returns
    -------
    float
        The fraction of the rows classified correctly.

    See Also
    --------
    knn_vote : The vote, with its tie rule.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import leave_one_out_accuracy
    >>> Z = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> leave_one_out_accuracy(Z, np.array([0, 0, 1, 1]), 1)
    1.0
    """
    n_neighbors = min(n_neighbors, len(Z) - 1)
    rows = np.arange(len(Z)) if rows is None else np.asarray(rows)
    neighbors = exact_kneighbors(Z, Z[rows], n_neighbors + 1)[1]
    itself = neighbors == rows[:, None]
    itself[~itself.any(axis=1), -1] = True  # the row hid behind duplicates: drop the farthest
    others = neighbors[~itself].reshape(len(rows), n_neighbors)
    _, predicted = knn_vote(y[others], int(y.max()) + 1)
    return float(np.mean(predicted == y[rows]))


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

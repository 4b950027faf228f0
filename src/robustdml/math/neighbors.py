"""Neighbor search in the learned space: exact and approximate, behind one interface.

Every neighbor search of the fits goes through this module.

**Exact search** (:class:`ExactNeighbors`, :func:`exact_kneighbors`). Squared distances
``|q|^2 + |r|^2 - 2 q.r`` are computed in float32 (NumPy's BLAS, or faiss's flat index when
faiss is installed), which halves the memory traffic of float64. The result stays exact: for
data centered and scaled by a power of two (both exact in float64), every float32 distance is
within ``E(q, r) = c (|q|^2 + |r|^2) + a`` of the true one, ``c = (2 p + 16) u`` with ``u`` the
unit roundoff (the inner product's ``gamma_p`` bound twice, for the norms and the product, the
conversion of the inputs and the three additions) and ``a`` a bound on underflow. A point is
a candidate when its lower bound ``d32 - E`` is within the limit asked for (a radius, or an
upper bound ``d32 + E`` of the k-th nearest); the candidates are then measured again exactly
(float64, ``|q - r|^2``) and the answer is taken from them. So no point the float64 search
would return is missed, and ties are broken by index. The same runs in float64
(``backend="float64"``, what ``"sklearn"`` uses for radius searches); ``backend="sklearn"``'s
k nearest are scikit-learn's float64 search, which was the fastest on the benchmark
(benchmarks/search.md), hence "auto".

**Approximate search** (:func:`approximate_kneighbors`) for data too large for exact search,
and :func:`neighbor_recall`, its recall against exact search on a sample of queries.

**Interface for the estimators** (a parameter ``LMNN(neighbor_search=...)``):
:func:`resolve_neighbor_search` maps ``"auto"``, ``"exact"`` or ``"approximate"`` and the
number of training points to ``"exact"`` or ``"approximate"`` (``"auto"``: approximate from
``APPROXIMATE_MIN_SAMPLES`` points on). Exact searches take a ``backend`` (``target_neighbors``
passes its own); an approximate search returns its
neighbors from :func:`approximate_kneighbors`, and :func:`neighbor_recall` measures the recall
a fit reports.
"""

import contextlib
import functools
import importlib.util

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from threadpoolctl import ThreadpoolController

#: Exact backends. benchmarks/search.md: on 2 cores scikit-learn's fused float64 k-NN kernel
#: beat both float32 paths (NumPy and faiss's flat index) in CPU time.
EXACT_BACKENDS = ("sklearn", "float64", "float32", "faiss")

#: Approximate backends ("auto" takes the first installed).
APPROXIMATE_BACKENDS = ("faiss-hnsw", "hnswlib")

#: From this many training points on, ``neighbor_search="auto"`` searches approximately:
#: provisional, from the exact 4-NN graph's cost (issue 30: 24-39 s at 100,000 x 50, growing
#: with n^2), not yet from a fit with the approximate search.
APPROXIMATE_MIN_SAMPLES = 200_000

#: Up to this many features a k-d tree finds exact neighbors faster than brute force.
KD_TREE_MAX_FEATURES = 6

#: Searches over at most this many (query, reference) pairs run on one thread.
SERIAL_SEARCH_PAIRS = 1 << 24

#: Distances held at a time by the dense search (queries per block x references).
BLOCK_PAIRS = 1 << 22

#: The faiss search asks for ``max(2 k, k + FAISS_EXTRA)`` neighbors, so that the float32
#: candidates of the k nearest are (nearly always) among them.
FAISS_EXTRA = 16


def faiss_available():
    """Say whether faiss (the optional extra ``robustdml[fast]``) is installed.

    Returns
    -------
    bool
        True when ``import faiss`` would succeed.

    See Also
    --------
    ExactNeighbors : Uses faiss when it is installed.

    Examples
    --------
    >>> from robustdml.math import faiss_available
    >>> faiss_available() in (True, False)
    True
    """
    return importlib.util.find_spec("faiss") is not None


@functools.cache
def _thread_controller():
    return ThreadpoolController()


@contextlib.contextmanager
def _threads(n_pairs):
    """One thread (OpenMP and faiss) for a small search: a second costs more than it saves."""
    if n_pairs > SERIAL_SEARCH_PAIRS:
        yield
        return
    with _thread_controller().limit(limits=1, user_api="openmp"):
        if not faiss_available():
            yield
            return
        import faiss
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)


def _resolve_exact(backend, n_features):
    if backend == "auto":  # the fastest measured (benchmarks/search.md)
        return "sklearn"
    if backend not in EXACT_BACKENDS:
        raise ValueError(f"Unknown exact backend {backend!r}: use 'auto' or one of "
                         f"{EXACT_BACKENDS}.")
    if backend == "faiss" and not faiss_available():
        raise ImportError("backend='faiss' needs faiss: pip install 'robustdml[fast]' (or "
                          "faiss-cpu), or use backend='auto'.")
    return backend


class ExactNeighbors:
    """Exact Euclidean neighbors among fixed reference points, by k or within radii.

    Parameters
    ----------
    reference : ndarray of shape (n_references, n_features)
        The points searched.
    backend : {"auto", "sklearn", "float64", "float32", "faiss"}, default="auto"
        "sklearn": scikit-learn's float64 k-NN search (a k-d tree up to
        ``KD_TREE_MAX_FEATURES`` features) and, for :meth:`within`, "float64". "float64":
        blockwise products in float64, candidates re-checked. "float32": the same in float32.
        "faiss": faiss's flat index in float32, candidates re-checked in float64. "auto":
        "sklearn", the fastest measured. Every backend returns what the float64 search does
        (see the module's docstring for the bound that makes float32 exact).

    Attributes
    ----------
    backend_ : str
        The backend used.

    See Also
    --------
    exact_kneighbors : The k nearest in one call.
    approximate_kneighbors : For data too large for exact search.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import ExactNeighbors
    >>> reference = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> distances, indices = ExactNeighbors(reference).kneighbors(reference[:1], 2)
    >>> indices
    array([[0, 1]])
    """

    def __init__(self, reference, *, backend="auto"):
        self.reference = np.asarray(reference, dtype=float)
        n_references, n_features = self.reference.shape
        self.backend_ = _resolve_exact(backend, n_features)
        if self.backend_ == "sklearn":
            algorithm = "kd_tree" if n_features <= KD_TREE_MAX_FEATURES else "brute"
            self._sklearn = NearestNeighbors(algorithm=algorithm).fit(self.reference)
        self._dtype = np.float64 if self.backend_ in ("sklearn", "float64") else np.float32
        # centring and a power-of-two scale are exact, and make |x| (hence the bound) small
        self._center = self.reference.mean(axis=0) if n_references else 0.0
        top = np.abs(self.reference - self._center).max(initial=0.0)
        self._scale = 2.0 ** -np.ceil(np.log2(top)) if top > 0 else 1.0
        prepared = ((self.reference - self._center) * self._scale).astype(self._dtype)
        self._prepared = prepared
        self._norms = np.einsum("ij,ij->i", prepared, prepared, dtype=self._dtype)
        unit = np.finfo(self._dtype).eps / 2.0
        self._c = (2 * n_features + 16) * unit * 1.01
        self._a = 8.0 * n_features * float(np.finfo(self._dtype).tiny)
        self._norm_slack = (self._c * self._norms).astype(float)
        self._max_norm_slack = self._norm_slack.max(initial=0.0)
        if self.backend_ == "faiss":
            import faiss
            self._index = faiss.IndexFlatL2(n_features)
            if n_references:
                self._index.add(np.ascontiguousarray(prepared))

    def _queries(self, queries):
        queries = np.asarray(queries, dtype=float)
        prepared = (queries - self._center) * self._scale
        if self._dtype == np.float32 and np.abs(prepared).max(initial=0.0) > 2.0 ** 60:
            raise ValueError("The queries lie so far from the reference points that their "
                             "distances overflow float32: use backend='sklearn'.")
        prepared = prepared.astype(self._dtype)
        norms = np.einsum("ij,ij->i", prepared, prepared, dtype=self._dtype)
        return queries, prepared, self._c * norms.astype(float) + self._a

    def kneighbors(self, queries, n_neighbors):
        """Return each query's ``n_neighbors`` nearest reference points, nearest first.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, n_features)
            The query points.
        n_neighbors : int
            How many neighbors, at most ``n_references``.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            The Euclidean distances, ascending.
        indices : ndarray of shape (n_queries, n_neighbors)
            The rows of the reference; among equal distances, the lower row first
            (``backend="sklearn"``: scikit-learn's order).

        See Also
        --------
        within : The neighbors within a radius.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ExactNeighbors
        >>> reference = np.array([[0.0], [1.0], [-1.0], [5.0]])
        >>> ExactNeighbors(reference, backend="float32").kneighbors([[0.1]], 3)[1]
        array([[0, 1, 2]])
        """
        n_references = len(self.reference)
        if not 1 <= n_neighbors <= n_references:
            raise ValueError(f"n_neighbors={n_neighbors} must be between 1 and the number of "
                             f"reference points, {n_references}.")
        queries = np.asarray(queries, dtype=float)
        if self.backend_ == "sklearn":
            with _threads(len(queries) * n_references):
                return self._sklearn.kneighbors(queries, n_neighbors)
        rows, cols, sq_dist = self._exact_pairs(queries, np.full(len(queries), np.inf),
                                                n_neighbors, 1.0, None)
        order = np.lexsort((cols, sq_dist, rows))
        rows, cols, sq_dist = rows[order], cols[order], sq_dist[order]
        first = _rank(rows) < n_neighbors  # every row has at least n_neighbors candidates
        shape = (len(queries), n_neighbors)
        return np.sqrt(sq_dist[first]).reshape(shape), cols[first].reshape(shape)

    def within(self, queries, radius, *, n_nearest=None, widen=1.0, keep=None):
        """Return every reference point within a per-query radius, possibly capped.

        Per query i, the radius is ``widen * min(radius[i], d_v(i))`` with ``d_v(i)`` the
        distance to its ``n_nearest``-th nearest reference point among those ``keep``
        accepts within ``radius[i]`` (infinite when fewer; no cap when ``n_nearest`` is
        None). Pairs ``keep`` rejects are left out.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, n_features)
            The query points.
        radius : ndarray of shape (n_queries,)
            The radii (0 or below: nothing is returned for that query, unless it coincides
            with a reference point).
        n_nearest : int or None, default=None
            The v of the cap.
        widen : float, default=1.0
            Factor applied to the capped radius.
        keep : callable or None, default=None
            ``keep(query_rows, reference_rows)`` returns a boolean mask of the pairs kept.

        Returns
        -------
        rows : ndarray of shape (n_pairs,)
            The query of each pair.
        cols : ndarray of shape (n_pairs,)
            The reference row of each pair.
        sq_dist : ndarray of shape (n_pairs,)
            Their squared distances (float64, ``|q - r|^2``).
        radius : ndarray of shape (n_queries,)
            The radius applied per query.

        See Also
        --------
        kneighbors : The k nearest.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ExactNeighbors
        >>> reference = np.array([[0.0], [1.0], [-1.0], [5.0]])
        >>> rows, cols, sq_dist, radius = ExactNeighbors(reference).within(
        ...     [[0.1]], np.array([2.0]), n_nearest=2)
        >>> sorted(cols.tolist()), radius.round(2)
        ([0, 1], array([0.9]))
        """
        queries = np.asarray(queries, dtype=float)
        radius_sq = np.where(np.asarray(radius, dtype=float) > 0, radius, 0.0) ** 2
        widen_sq = float(widen) ** 2
        rows, cols, sq_dist = self._exact_pairs(queries, radius_sq, n_nearest, widen_sq, keep)
        capped = radius_sq.copy()
        if n_nearest is not None:
            inside = sq_dist <= radius_sq[rows]
            r, d = rows[inside], sq_dist[inside]
            order = np.lexsort((d, r))
            r, d = r[order], d[order]
            at = _rank(r) == n_nearest - 1
            capped[r[at]] = np.minimum(capped[r[at]], d[at])
        capped *= widen_sq
        selected = sq_dist <= capped[rows]
        return rows[selected], cols[selected], sq_dist[selected], np.sqrt(capped)

    def _exact_pairs(self, queries, radius_sq, n_nearest, widen_sq, keep):
        """Pairs (rows, cols, exact squared distances) holding every kept reference point
        within ``widen_sq * min(radius_sq, D)`` of its query, with D the squared distance
        to the ``n_nearest``-th nearest kept point within ``radius_sq`` (infinite without
        ``n_nearest``): float32 candidates, then float64 for those whose lower bound is
        within the cap (an upper bound of D from the float32 distances)."""
        with _threads(len(queries) * len(self.reference)):
            queries, prepared, query_slack = self._queries(queries)
            scale_sq = self._scale ** 2  # bounds are in the prepared (scaled) units
            rows, cols, lower, cap = self._candidates(prepared, query_slack, radius_sq * scale_sq,
                                                      n_nearest, widen_sq, keep)
        near = lower <= widen_sq * cap[rows]
        rows, cols = rows[near], cols[near]
        return rows, cols, _sq_dist(queries, self.reference, rows, cols)

    def _candidates(self, prepared, query_slack, radius_sq, n_nearest, widen_sq, keep):
        """Kept pairs (rows, cols) whose lower bound is within ``widen_sq * radius_sq``, the
        lower bounds, and per query an upper bound of ``min(radius_sq, D)``."""
        if self.backend_ == "faiss" and n_nearest is not None and keep is None:
            rows, cols, lower, cap, retry = self._faiss_candidates(
                prepared, query_slack, radius_sq, n_nearest, widen_sq)
            if retry.size:
                more = self._dense_candidates(prepared[retry], query_slack[retry],
                                              radius_sq[retry], n_nearest, widen_sq, None)
                rows = np.concatenate([rows, retry[more[0]]])
                cols = np.concatenate([cols, more[1]])
                lower = np.concatenate([lower, more[2]])
                cap[retry] = more[3]
            return rows, cols, lower, cap
        return self._dense_candidates(prepared, query_slack, radius_sq, n_nearest, widen_sq,
                                      keep)

    def _dense_candidates(self, prepared, query_slack, radius_sq, n_nearest, widen_sq, keep):
        n_references = len(self._prepared)
        step = max(1, BLOCK_PAIRS // max(1, n_references))
        reference_t = self._prepared.T
        norm_slack = self._norm_slack.astype(self._dtype)
        found, cap = [], radius_sq.copy()
        for start in range(0, len(prepared), step):
            block = slice(start, start + step)
            sq = prepared[block] @ reference_t
            sq *= -2.0
            sq += self._norms
            sq += np.einsum("ij,ij->i", prepared[block], prepared[block],
                            dtype=self._dtype)[:, None]
            sq -= norm_slack  # now the lower bound, less the query's own slack
            slack = query_slack[block]
            if n_nearest is not None and keep is None and n_nearest <= n_references:
                # any n_nearest points bound the n_nearest-th distance from above
                kth = np.partition(sq, n_nearest - 1, axis=1)[:, n_nearest - 1]
                upper = kth.astype(float) + 2.0 * self._max_norm_slack + slack
                cap[block] = np.minimum(cap[block], upper)
            candidate = sq <= (widen_sq * cap[block] + slack)[:, None]
            if keep is not None:
                rows, cols = np.nonzero(candidate)
                dropped = ~keep(rows + start, cols)
                candidate[rows[dropped], cols[dropped]] = False
            if n_nearest is not None and keep is not None:
                # the n_nearest-th smallest upper bound among the kept points surely within
                upper = sq + 2.0 * norm_slack
                upper += (2.0 * slack)[:, None]
                surely = candidate & (upper <= cap[block][:, None])
                crowded = np.flatnonzero(surely.sum(axis=1) >= n_nearest)
                if crowded.size:
                    within = np.where(surely[crowded], upper[crowded], np.inf)
                    cap[start + crowded] = np.partition(within, n_nearest - 1,
                                                        axis=1)[:, n_nearest - 1]
                    candidate[crowded] &= sq[crowded] <= (widen_sq * cap[start + crowded]
                                                          + slack[crowded])[:, None]
            rows, cols = np.nonzero(candidate)
            lower = sq[rows, cols].astype(float) - slack[rows]
            found.append((rows + start, cols, lower))
        if not found:
            empty = np.zeros(0, np.intp)
            return empty, empty, np.zeros(0), cap
        return (np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]),
                np.concatenate([f[2] for f in found]), cap)

    def _faiss_candidates(self, prepared, query_slack, radius_sq, n_nearest, widen_sq):
        """The candidates from faiss's k' nearest, and the queries for which the k' nearest
        may not hold them all (the bound reaches past the k'-th): those need a dense search."""
        n_references = len(self._prepared)
        n_ask = min(n_references, max(2 * n_nearest, n_nearest + FAISS_EXTRA))
        distance, index = self._index.search(np.ascontiguousarray(prepared), n_ask)
        distance = distance.astype(float)
        slack = self._norm_slack[index] + query_slack[:, None]
        upper = (distance[:, :n_nearest] + slack[:, :n_nearest]).max(axis=1)
        cap = np.minimum(radius_sq, upper)
        lower = distance - slack
        candidate = lower <= widen_sq * cap[:, None]
        if n_ask < n_references:
            # a point left out has a float32 distance at least the last one returned
            unseen = distance[:, -1] - query_slack - self._max_norm_slack
            retry = np.flatnonzero(~(unseen > widen_sq * cap))
            candidate[retry] = False
        else:
            retry = np.zeros(0, np.intp)
        rows, position = np.nonzero(candidate)
        return (rows, index[rows, position].astype(np.intp), lower[rows, position], cap, retry)



def _rank(sorted_rows):
    """Position of each entry among the entries of its row (entries sorted by row)."""
    return np.arange(len(sorted_rows)) - np.searchsorted(sorted_rows, sorted_rows)


def _sq_dist(queries, reference, rows, cols, block=1 << 16):
    """``|queries[rows] - reference[cols]|^2`` in float64, in blocks of bounded memory."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), block):
        part = slice(start, start + block)
        diff = queries[rows[part]] - reference[cols[part]]
        out[part] = np.einsum("ij,ij->i", diff, diff)
    return out


def exact_kneighbors(reference, queries, n_neighbors, *, backend="auto"):
    """Return each query's ``n_neighbors`` nearest reference points (exact, Euclidean).

    Parameters
    ----------
    reference : ndarray of shape (n_references, n_features)
        The points searched.
    queries : ndarray of shape (n_queries, n_features)
        The query points.
    n_neighbors : int
        How many neighbors, at most ``n_references``.
    backend : {"auto", "sklearn", "float64", "float32", "faiss"}, default="auto"
        See :class:`ExactNeighbors`.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        The distances, ascending.
    indices : ndarray of shape (n_queries, n_neighbors)
        The rows of the reference.

    See Also
    --------
    ExactNeighbors : The search, kept for several queries.
    approximate_kneighbors : For data too large for exact search.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import exact_kneighbors
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> exact_kneighbors(X, X[:1], 2)[1]
    array([[0, 1]])
    """
    return ExactNeighbors(reference, backend=backend).kneighbors(queries, n_neighbors)


def resolve_neighbor_search(neighbor_search, n_samples):
    """Map an estimator's ``neighbor_search`` parameter to "exact" or "approximate".

    Parameters
    ----------
    neighbor_search : {"auto", "exact", "approximate"}
        "auto": approximate from ``APPROXIMATE_MIN_SAMPLES`` training points on.
    n_samples : int
        Number of training points.

    Returns
    -------
    str
        "exact" or "approximate".

    See Also
    --------
    approximate_kneighbors : The approximate search.

    Examples
    --------
    >>> from robustdml.math import resolve_neighbor_search
    >>> resolve_neighbor_search("auto", 1000), resolve_neighbor_search("auto", 10 ** 6)
    ('exact', 'approximate')
    """
    if neighbor_search == "auto":
        return "approximate" if n_samples >= APPROXIMATE_MIN_SAMPLES else "exact"
    if neighbor_search not in ("exact", "approximate"):
        raise ValueError(f"neighbor_search={neighbor_search!r}: use 'auto', 'exact' or "
                         "'approximate'.")
    return neighbor_search


def _resolve_approximate(backend):
    available = {"faiss-hnsw": "faiss", "hnswlib": "hnswlib"}
    if backend == "auto":
        for name in APPROXIMATE_BACKENDS:
            if importlib.util.find_spec(available[name]) is not None:
                return name
        return "exact"
    if backend not in available:
        raise ValueError(f"Unknown approximate backend {backend!r}: use 'auto' or one of "
                         f"{APPROXIMATE_BACKENDS}.")
    if importlib.util.find_spec(available[backend]) is None:
        raise ImportError(f"backend={backend!r} needs the package {available[backend]!r}: "
                          "pip install 'robustdml[fast]', or use backend='auto'.")
    return backend


def approximate_kneighbors(reference, queries, n_neighbors, *, backend="auto", effort=1.0,
                           random_state=0):
    """Return approximately each query's ``n_neighbors`` nearest reference points.

    Parameters
    ----------
    reference : ndarray of shape (n_references, n_features)
        The points searched.
    queries : ndarray of shape (n_queries, n_features)
        The query points.
    n_neighbors : int
        How many neighbors, at most ``n_references``.
    backend : {"auto", "faiss-hnsw", "hnswlib"}, default="auto"
        The index. "auto": the first installed of ``APPROXIMATE_BACKENDS`` (chosen by
        benchmarks/search.py), exact search when none is.
    effort : float, default=1.0
        Scales the index's search breadth (and so time and recall).
    random_state : int, RandomState instance or None, default=0
        Seeds the index's construction where it is random.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        The distances (exact float64 distances of the neighbors found), ascending.
    indices : ndarray of shape (n_queries, n_neighbors)
        The rows of the reference found.

    See Also
    --------
    neighbor_recall : The fraction of the true neighbors found.
    exact_kneighbors : The exact search.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import approximate_kneighbors
    >>> X = np.random.RandomState(0).normal(size=(300, 5))
    >>> approximate_kneighbors(X, X[:2], 3)[1].shape
    (2, 3)
    """
    reference = np.asarray(reference, dtype=float)
    queries = np.asarray(queries, dtype=float)
    n_references, n_features = reference.shape
    if not 1 <= n_neighbors <= n_references:
        raise ValueError(f"n_neighbors={n_neighbors} must be between 1 and the number of "
                         f"reference points, {n_references}.")
    backend = _resolve_approximate(backend)
    if backend == "exact" or n_references <= 4 * n_neighbors:
        return exact_kneighbors(reference, queries, n_neighbors)
    seed = int(check_random_state(random_state).randint(2 ** 31))
    center = reference.mean(axis=0)
    base = np.ascontiguousarray(reference - center, dtype=np.float32)
    asked = np.ascontiguousarray(queries - center, dtype=np.float32)
    if backend == "faiss-hnsw":
        import faiss
        index = faiss.IndexHNSWFlat(n_features, 32)
        index.hnsw.efConstruction = 40
        index.hnsw.efSearch = max(int(effort * 4 * n_neighbors), n_neighbors, 16)
        index.add(base)
        _, indices = index.search(asked, n_neighbors)
    else:
        import hnswlib
        index = hnswlib.Index(space="l2", dim=n_features)
        index.init_index(max_elements=n_references, ef_construction=40, M=16,
                         random_seed=seed)
        index.add_items(base)
        index.set_ef(max(int(effort * 4 * n_neighbors), n_neighbors, 16))
        indices, _ = index.knn_query(asked, n_neighbors)
    indices = np.asarray(indices, dtype=np.intp)
    missing = indices < 0  # an index may return fewer than asked: row 0 at distance inf
    indices[missing] = 0
    distance = np.sqrt(_sq_dist(queries, reference, np.repeat(np.arange(len(queries)),
                                                               n_neighbors), indices.ravel()))
    distance = distance.reshape(indices.shape)
    distance[missing] = np.inf
    order = np.argsort(distance, axis=1, kind="stable")
    return np.take_along_axis(distance, order, 1), np.take_along_axis(indices, order, 1)


def neighbor_recall(reference, queries, indices, *, n_samples=1000, random_state=0):
    """Return the fraction of the true nearest neighbors that a search found.

    On a random sample of the queries, the exact ``k`` nearest reference points
    (``k = indices.shape[1]``) are compared with those found; points as near as the true
    k-th count as found (ties).

    Parameters
    ----------
    reference : ndarray of shape (n_references, n_features)
        The points searched.
    queries : ndarray of shape (n_queries, n_features)
        The query points.
    indices : ndarray of shape (n_queries, k)
        The reference rows the search returned per query.
    n_samples : int, default=1000
        Queries sampled (all when fewer).
    random_state : int, RandomState instance or None, default=0
        Seeds the sample.

    Returns
    -------
    float
        The recall, in [0, 1].

    See Also
    --------
    approximate_kneighbors : The search it measures.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import neighbor_recall
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> neighbor_recall(X, X, np.array([[0], [1], [1]]))
    0.6666666666666666
    """
    reference = np.asarray(reference, dtype=float)
    queries = np.asarray(queries, dtype=float)
    indices = np.asarray(indices)
    n_queries, k = indices.shape
    rng = check_random_state(random_state)
    sample = (np.arange(n_queries) if n_queries <= n_samples
              else np.sort(rng.choice(n_queries, n_samples, replace=False)))
    true_distance, _ = exact_kneighbors(reference, queries[sample], k)
    found = np.sqrt(_sq_dist(queries[sample], reference, np.repeat(np.arange(len(sample)), k),
                             indices[sample].ravel())).reshape(len(sample), k)
    # a found point within the true k-th distance is a true neighbor (or tied with one)
    found_sorted = np.sort(found, axis=1)
    hits = found_sorted <= true_distance[:, -1:] * (1 + 1e-12)
    unique = np.array([len(set(row)) for row in indices[sample]])
    return float(np.minimum(hits.sum(axis=1), unique).sum() / (len(sample) * k))

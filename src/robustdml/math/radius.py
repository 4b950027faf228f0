"""Exact certified radii of k-NN predictions, for many queries against a large training set.

The certificate (:doc:`/user_guide/method`, section 6): for a query z predicted as class c, with
s = (k + 1) // 2, ``t(b)`` is the s-th largest margin m(a, b) over the training points a of
class c, and the radius is the s-th smallest t(b) over the other-class points b.

Every quantity the search needs lies in a ball around z. The exact t of the nearest other-class
points gives a first bound ``best`` on the radius; any b with ``d_b >= d_s + 2 ||L||_2 best``
(d_s: distance to the s-th nearest point of class c) has ``t(b) >= best`` and cannot lower it,
and an anchor a farther than b gives m(a, b) = 0. So after two products of the query block with
the training set (squared distances by expansion, in the embedded space and in the space of the
margins' denominators: one pass over the data), the search reads only the points of two balls,
found by comparing each row with a threshold that allows for the expansion's rounding; their
distances are then recomputed directly, and the balls are exact (no point closer than the
threshold is missed). Inside, two lower bounds on t(b), one from those scalars alone
(``||M (a - b)|| <= e_a + e_b``, e the distances in the second space), then the exact margins
over the s nearest anchors, discard most candidates before their exact t is computed.
"""

import numpy as np

from .margin import DEGENERACY_RTOL, degeneracy_guard, margin_from_gap

#: A radius is reported this much (relatively) below the computed one, so that rounding in
#: its computation (about 1e-14) can never certify a perturbation that flips the prediction.
ROUNDING_RTOL = 1e-9
#: Queries whose squared distances to all training points are held in memory at once.
QUERY_ROWS = 16
#: Distances sampled per row (every n_train // SAMPLE_SIZE-th) to guess the first ball.
SAMPLE_SIZE = 4096


class RadiusSearch:
    """The exact certified radii of k-NN predictions under ``d(a, b) = ||L a - L b||``.

    Built once per training set; :meth:`radii` then certifies queries in blocks. Equal to the
    definition (:doc:`/user_guide/method`, section 6) up to rounding, covered by
    ``ROUNDING_RTOL``; the work per query is one pass over the training set plus the points
    of a ball around the query.

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features)
        L.
    embedded : ndarray of shape (n_train, n_components)
        The training points embedded, ``X_train @ L.T``.
    root : ndarray of shape (n_components, n_components)
        ``(L L^T)^(1/2)``: ``||(L w) @ root|| = ||M w||`` with ``M = L^T L``.
    normals : ndarray of shape (n_train, n_components), default=None
        ``embedded @ root``, if already computed.

    See Also
    --------
    robustdml.CertifiedKNN.certified_radius : The estimator's method that uses it.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import RadiusSearch
    >>> X, y = np.array([[0.0], [1.0], [3.0]]), np.array([0, 0, 1])
    >>> search = RadiusSearch(np.eye(1), X, np.eye(1))
    >>> search.radii(np.array([[0.0]]), np.array([0]), y, s=1).round(6)
    array([2.])
    """

    def __init__(self, components, embedded, root, normals=None):
        self.components = components
        self.embedded = embedded
        self.root = root
        self.normals = embedded @ root if normals is None else normals
        self.lipschitz = float(np.linalg.norm(root, 2)) if root.size else 0.0
        self.sq_norms = np.einsum("ij,ij->i", embedded, embedded)
        self.normal_sq_norms = np.einsum("ij,ij->i", self.normals, self.normals)
        # rounding of a squared distance by expansion, relative to ||z||^2 + max ||x||^2 (a
        # bound on the dot product's error, the norms' and the sums', with room to spare); it
        # also covers a direct recomputation's
        self._expansion_rtol = (8 * embedded.shape[1] + 32) * np.finfo(float).eps

    def radii(self, queries, predicted, labels, s, limit=np.inf, *, n_first=4,
              candidate_block=256):
        """Return the certified radius of each query's prediction.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, n_features)
            The queries.
        predicted : ndarray of shape (n_queries,)
            The class code each query is predicted as.
        labels : ndarray of shape (n_train,)
            The training points' class codes.
        s : int
            ``(k + 1) // 2`` for k-NN.
        limit : float, default=inf
            Report ``min(radius, limit)`` (to rounding); the search for a query stops as soon
            as its radius is proven to reach ``limit``.
        n_first : int, default=4
            The nearest other-class points whose exact t sets the first bound.
        candidate_block : int, default=256
            Other-class points whose exact t is computed per step of the pruned search.

        Returns
        -------
        ndarray of shape (n_queries,)
            The radii: no L2 perturbation shorter than one changes its query's prediction.

        Raises
        ------
        ValueError
            If the squared distances overflow at the scale of the queries.

        See Also
        --------
        robustdml.CertifiedKNN.certified_radius : Radii of a fitted classifier's predictions.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import RadiusSearch
        >>> X, y = np.array([[0.0], [1.0], [3.0]]), np.array([0, 0, 1])
        >>> search = RadiusSearch(np.eye(1), X, np.eye(1))
        >>> search.radii(X, np.array([0, 0, 1]), y, s=1).round(6)
        array([2., 1., 1.])
        """
        class_sizes = np.bincount(labels, minlength=int(predicted.max(initial=0)) + 1)
        # einsum, not a product of matrices, whose rounding depends on how many queries there
        # are: a query's radius must not depend on the other queries it comes with
        queries = np.einsum("ij,kj->ik", queries, self.components)
        mapped = np.einsum("ij,jk->ik", queries, self.root)
        rows_sq = [(queries, np.einsum("ij,ij->i", queries, queries), self.embedded,
                    self.sq_norms),
                   (mapped, np.einsum("ij,ij->i", mapped, mapped), self.normals,
                    self.normal_sq_norms)]
        slacks = [self._expansion_rtol * (sq + train_sq.max(initial=0.0))
                  for _, sq, _, train_sq in rows_sq]
        # |expansion| <= 2 (||z||^2 + ||x||^2): below the largest float, nothing overflows
        if not all(np.all(slack / self._expansion_rtol < np.finfo(float).max / 4)
                   for slack in slacks):
            raise ValueError("Squared distances overflow at the scale of X; rescale X "
                             "(e.g. StandardScaler) before fitting and certifying.")
        radii = np.empty(len(queries))
        members = {}  # class code -> which training points are of that class
        for start in range(0, len(queries), QUERY_ROWS):
            rows = slice(start, start + QUERY_ROWS)
            # squared distances to every training point by expansion, in the embedded space
            # and in the space of the margins' denominators (-2 z is exact: one pass less)
            approx = []
            for points, sq, train, train_sq in rows_sq:
                block = (-2.0 * points[rows]) @ train.T
                block += sq[rows, None]
                block += train_sq
                approx.append(block)
            for row, index in enumerate(range(start, start + len(approx[0]))):
                label = predicted[index]
                n_same = class_sizes[label]
                if n_same < s:
                    radii[index] = 0.0
                elif len(labels) - n_same < s:
                    radii[index] = limit  # fewer than s points can ever outvote the class
                else:
                    if label not in members:
                        members[label] = labels == label
                    radii[index] = self._radius(
                        queries[index], mapped[index], approx[0][row], approx[1][row],
                        slacks[0][index], slacks[1][index], members[label], s, limit,
                        min(max(n_first, s), len(labels) - n_same), candidate_block)
        return radii

    def _exact(self, z, index):
        """Squared distances from z to the training points ``index``, computed directly."""
        diff = self.embedded[index] - z
        return np.einsum("ij,ij->i", diff, diff)

    def _nearest(self, z, index, approx, n, slack):
        """The n points of ``index`` nearest to z and their exact squared distances (all
        points within 3 slack of the n-th smallest approximation are measured)."""
        values = approx[index]
        nth = np.partition(values, n - 1)[n - 1]
        index = index[values <= nth + 3.0 * slack]
        sq_dist = self._exact(z, index)
        nearest = np.argpartition(sq_dist, n - 1)[:n]
        return index[nearest], sq_dist[nearest]

    def _margins(self, candidates, to_candidate, anchors, to_anchor):
        """m(a, b), shape (len(candidates), len(anchors)), from squared distances to z.

        ``||M (a - b)||^2`` is expanded with the dot products from ``einsum``, which sums each
        pair alone (a product of matrices' rounding depends on their shapes), and entries
        that nearly cancel are summed from the differences: each margin is the same whichever
        pairs it comes with, so a query's radius does not depend on the other queries.
        """
        normals, anchor_normals = self.normals[candidates], self.normals[anchors]
        scale = self.normal_sq_norms[candidates][:, None] + self.normal_sq_norms[anchors]
        q = scale - 2.0 * np.einsum("ik,jk->ij", normals, anchor_normals)
        inexact = np.nonzero(q <= 1e-8 * scale)
        if inexact[0].size:
            diff = normals[inexact[0]] - anchor_normals[inexact[1]]
            q[inexact] = np.einsum("ij,ij->i", diff, diff)
        np.maximum(q, 0.0, out=q)
        guard = degeneracy_guard(self.lipschitz ** 2, to_anchor[None, :], to_candidate[:, None])
        return margin_from_gap(to_candidate[:, None] - to_anchor[None, :], q, guard)

    def _thresholds(self, z, candidates, to_candidate, anchors, approx, slack, s):
        """t(b): the s-th largest m(a, b) over the training points ``anchors`` (a superset of
        those nearer to z than the candidates), for each candidate b; an anchor at least as
        far from z as b gives 0, so only nearer ones are measured."""
        farthest = to_candidate.max()
        anchors = anchors[approx[anchors] < farthest + 3.0 * slack]
        to_anchor = self._exact(z, anchors)
        near = to_anchor < farthest
        if near.sum() < s:
            return np.zeros(candidates.size)
        m = self._margins(candidates, to_candidate, anchors[near], to_anchor[near])
        return m.max(axis=1) if s == 1 else -np.partition(-m, s - 1, axis=1)[:, s - 1]

    def _radius(self, z, mapped, approx, approx_mapped, slack, slack_mapped, inside, s, limit,
                n_first, candidate_block):
        """The radius of one query (see the module's docstring), whose class has the training
        points ``inside``; ``approx`` and ``approx_mapped`` are its rows of squared distances
        by expansion (embedded and mapped), wrong by at most ``slack`` and ``slack_mapped``."""
        t_limit = limit / (1.0 - ROUNDING_RTOL)
        # the first ball: grown from a sample of the row until it surely holds the s nearest
        # points of the class and the n_first nearest of the others
        sample = approx[::max(1, approx.size // SAMPLE_SIZE)]
        rank = 1
        while True:
            bound = np.inf if rank >= sample.size else np.partition(sample, rank)[rank]
            index = np.flatnonzero(approx < bound + 3.0 * slack)
            same = inside[index]
            sure = approx[index] < bound - 3.0 * slack
            if bound == np.inf or ((same & sure).sum() >= s
                                   and (~same & sure).sum() >= n_first):
                break
            rank *= 2
        anchors = index[same]
        probes, to_probe = self._nearest(z, anchors, approx, s, slack)
        first, to_first = self._nearest(z, index[~same], approx, n_first, slack)
        d_s = np.sqrt(to_probe.max())
        t = self._thresholds(z, first, to_first, anchors, approx, slack, s)
        best = np.minimum(np.sort(t)[:s], t_limit)
        if best[-1] == 0.0:
            return 0.0
        # the second ball: no b beyond it has t(b) < best (gap = (d_b - d_a)(d_b + d_a),
        # ||M (a - b)|| <= ||L||_2 (d_a + d_b) and the guard's square root at most
        # sqrt(rtol) ||L||_2 (d_a + d_b); ||L||_2 > 0 as some margin is), enlarged for rounding
        root_rtol = np.sqrt(DEGENERACY_RTOL)
        reach = d_s + 2.0 * self.lipschitz * (1.0 + root_rtol) * best[-1]
        reach_sq = (reach * (1.0 + 1e-12)) ** 2
        if reach_sq + 3.0 * slack > bound:
            index = np.flatnonzero(approx < reach_sq + 3.0 * slack)
            same = inside[index]
            anchors = index[same]
        rest = index[~same]
        rest = rest[(approx[rest] < reach_sq + 3.0 * slack) & ~np.isin(rest, first)]
        # a tighter bound from scalars alone: ||M (a - b)|| <= e_a + e_b, e the distances to z
        # in the mapped space (upper bounds from the expansion), for the s nearest anchors
        to_probe_mapped = np.sum((self.normals[probes] - mapped) ** 2, axis=1)
        e_probe = np.sqrt(to_probe_mapped)[:, None] * (1.0 + 1e-12)
        e_rest = np.sqrt(np.maximum(approx_mapped[rest] + slack_mapped, 0.0))
        d_rest = np.sqrt(np.maximum(approx[rest] + slack, 0.0))
        gap = np.maximum(approx[rest] - 2.0 * slack - to_probe[:, None], 0.0)
        scalar_lower = (gap / (2.0 * (e_probe + e_rest + root_rtol * self.lipschitz
                                      * (np.sqrt(to_probe)[:, None] + d_rest)))).min(axis=0)
        rest = rest[scalar_lower * (1.0 - 1e-12) < best[-1]]
        to_rest = self._exact(z, rest)
        # the exact s-th largest margin over the s nearest anchors only bounds t(b) from below;
        # margins are recomputed over more anchors below: allow for rounding in the bound
        lower = self._margins(rest, to_rest, probes, to_probe).min(axis=1)
        lower *= 1.0 - 1e-12
        keep = lower < best[-1]
        rest, to_rest, lower = rest[keep], to_rest[keep], lower[keep]
        order = np.argsort(lower)
        for start in range(0, rest.size, candidate_block):
            block = order[start:start + candidate_block]
            block = block[lower[block] < best[-1]]
            if block.size == 0:
                break
            t = self._thresholds(z, rest[block], to_rest[block], anchors, approx, slack, s)
            best = np.sort(np.concatenate([best, t]))[:s]
        if best[-1] >= t_limit:
            return limit
        return float(best[-1]) * (1.0 - ROUNDING_RTOL)

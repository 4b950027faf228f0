"""The full LMNN objective's triplets: every impostor that contributes under the current metric.

Standard LMNN (Weinberger & Saul 2009) sums its hinge over every differently labeled point l
of every (anchor i, target j) pair, not over a fixed list of impostors. Only the l inside the
margin contribute, and which those are depends on the metric, so :class:`ActiveTriplets`
finds them again whenever the metric has moved far enough that its last search could have
missed one. Every evaluation of the objective is then exact (up to the optional sampling
below), and L-BFGS sees one consistent function. :doc:`/user_guide/active_impostors` derives
the bounds below.

**Which impostors can contribute.** Each loss term bounds, per anchor, the learned-space
distance beyond which an impostor adds nothing (``TripletLoss.impostor_reach``): for the LMNN
hinge ``sqrt(max_j d2_ij + 1)``, for the perturbation loss
``max_j d_ij + 2 tau ||L||_2 + sqrt(2 tau sqrt(eps))``. A search at ``L_ref`` keeps every
impostor closer than ``C_i = (1 + slack) * reach_i(L_ref)``.

**When a search is still valid.** For the metric L and any pair u = x_i - x_l, with
``D = L - L_ref`` and ``P`` the projector on the row space of ``L_ref``::

    ||L u|| >= ||L_ref u|| - ||D P u|| - ||D (I - P) u||
            >= (1 - rho1) ||L_ref u|| - rho2 ||(I - P) u||,
    rho1 = ||D L_ref^+||_2,  rho2 = ||D (I - P)||_2,

where ``L_ref^+`` and ``P`` may keep only the leading singular directions of ``L_ref`` (a
smaller row space trades rho1 for rho2), and ``||(I - P) u||`` is bounded through the data's
extent outside that row space: ``||(I - P)(x_i - c)|| + max_l ||(I - P)(x_l - c)||`` for the
data's center c.
So an impostor left out by the search (``||L_ref u|| >= C_i``) lies at least
``(1 - rho1) C_i - rho2 ||(I - P) u||`` away under L. While that is at least ``reach_i(L)``
for every anchor, the cached candidates hold every contributing impostor; otherwise the search
runs again at L.

**Normalization.** The triplet sums are divided by ``v |B|`` (``v = n_impostors``, B the
(anchor, target) pairs), the number of the paper's fixed triplets, so the hinge weight
``1 - mu``, lambda and tau mean the same in both modes.

**Memory.** No n x n matrix: the search runs in blocks of anchors. When more than
``max_triplets`` candidate triplets exist (typically at the start, when the metric has not yet
separated the classes), a fixed pseudo-random subset of the (anchor, impostor) pairs is kept,
each standing for ``1 / rate`` pairs (an unbiased estimate), with a warning. The subset is a
function of the pair only, so the objective stays one function until the rate has to drop.
A reused search of the nearest impostors keeps at most ``REUSE_CANDIDATES * v`` candidates per
anchor, so it is sampled only when the v nearest themselves are too many.
"""

import warnings

import numpy as np

from ._linalg import rowwise_sq_dist
from .neighbors import exact_kneighbors
from .triplets import TripletSet, check_two_classes, target_neighbors

#: Anchors per block of the search hold at most this many (anchor, candidate) distances.
SEARCH_BLOCK = 1 << 22

#: Up to this many (anchor, other-class point) pairs, searching again at every new metric
#: costs less than evaluating the losses over the many more candidates a slack would keep.
EXACT_SEARCH_PAIRS = 1 << 24

#: Slack of searches that are reused: a smaller one needs more searches, a larger one keeps so
#: many candidates that they have to be sampled.
REUSE_SLACK = 0.1

#: A reused search of the nearest impostors keeps, per anchor, at most this many times v
#: candidates (more where distances tie): enough for the metric to move before the v
#: nearest can leave them, and no sampling (which would choose the nearest among a sample).
REUSE_CANDIDATES = 4

#: Singular-value cut-offs, relative to the largest, tried by the validity test.
CUTOFFS = (1e-8, 1e-2, 1e-1, 0.3)


def _pair_hash(anchors, impostors, n_samples, seed):
    """A uniform number in [0, 1) per pair, fixed by the pair and the seed (splitmix64)."""
    z = (anchors.astype(np.uint64) * np.uint64(n_samples) + impostors.astype(np.uint64)
         + np.uint64(seed))
    z = (z + np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(float) / float(1 << 53)


class ActiveTriplets:
    """Every (anchor, target, impostor) triplet that contributes to the objective at L.

    Targets are fixed, as in LMNN: each point's ``n_neighbors`` nearest same-class points by
    Euclidean distance. Impostors are every other-class point within the losses' reach under
    the current metric, found again only when the metric has moved so far that the last
    search could have missed one (:doc:`/user_guide/active_impostors` derives the bound and
    the validity test).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training points.
    y : ndarray of shape (n_samples,)
        Their labels; at least two classes.
    n_neighbors : int, default=3
        The number k of targets per point.
    n_impostors : int, default=10
        The number v: the normalizer ``v |B|`` (the paper's triplet count) and, with
        ``nearest_only``, the number of impostors per anchor.
    losses : sequence of TripletLoss, default=()
        The terms whose impostors are sought; each must implement ``impostor_reach``.
    nearest_only : bool, default=False
        False: every impostor (the full LMNN objective). True: each anchor's ``n_impostors``
        nearest other-class points under the current metric (the paper's triplets, chosen
        again as the metric moves): each point then weighs at most ``k v`` triplets, however
        deep it lies in another class.
    max_triplets : int, default=2_000_000
        Above this many candidate triplets, a pseudo-random subset of pairs is kept.
    slack : float or None, default=None
        A search keeps impostors up to ``(1 + slack)`` times the reach, so that the metric can
        move before the next search is needed. None: 0 (a new exact search at every metric,
        the fewest triplets) when a search covers at most ``EXACT_SEARCH_PAIRS`` pairs, else
        ``REUSE_SLACK``. With ``nearest_only`` and a slack, at most ``REUSE_CANDIDATES * v``
        candidates per anchor are kept (the search radius is then the distance to the last).
    random_state : int, RandomState instance or None, default=0
        Seeds the pair subset.
    target_space : ndarray of shape (n_samples, n_dims), default=None
        The points whose Euclidean distances choose the targets, such as ``X L^T`` to choose
        them under a learned metric (LMNN's later passes); None: X.

    Attributes
    ----------
    n_searches : int
        Searches run so far.
    sample_rate : float
        Fraction of the (anchor, impostor) pairs kept (1: all).
    rate_changes : int
        How often the rate dropped after the first search (each time, the objective changed).

    See Also
    --------
    TripletSet : Fixed triplets, the paper's.
    robustdml.LMNN : Uses it with ``impostors="nearest"`` and ``impostors="active"``.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.math import ActiveTriplets, LMNNLoss
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> active = ActiveTriplets(X, np.array([0, 0, 1, 1]), 1, 1, [LMNNLoss()], slack=0.1)
    >>> active.at(np.eye(2)).n_triplets
    8
    """

    def __init__(self, X, y, n_neighbors=3, n_impostors=10, losses=(), *, nearest_only=False,
                 max_triplets=2_000_000, slack=None, random_state=0, target_space=None):
        check_two_classes(y)
        self.X = X
        self.y = y
        self.losses = list(losses)
        self.per_anchor = n_impostors if nearest_only else None
        self.max_triplets = max_triplets
        n_pairs = sum(np.sum(y == label) * np.sum(y != label) for label in np.unique(y))
        self.slack = ((0.0 if n_pairs <= EXACT_SEARCH_PAIRS else REUSE_SLACK) if slack is None
                      else slack)
        self.seed = int(np.random.RandomState(random_state).randint(2 ** 31))
        blocks = target_neighbors(X if target_space is None else target_space, y, n_neighbors)
        if not blocks:
            raise ValueError("No triplet can be formed: a class needs at least two points.")
        anchors = np.concatenate([np.repeat(m, t.shape[1]) for m, t in blocks])
        targets = np.concatenate([t.ravel() for _, t in blocks])
        order = np.argsort(anchors, kind="stable")
        self.pull_pairs = np.column_stack([anchors[order], targets[order]])
        n_samples = len(X)
        # pull pairs of anchor a are rows pull_start[a]:pull_start[a + 1]
        self.pull_start = np.searchsorted(self.pull_pairs[:, 0], np.arange(n_samples + 1))
        self.n_targets = np.diff(self.pull_start)
        self.normalizer = float(n_impostors * len(self.pull_pairs))
        self.centered = X - X.mean(axis=0)
        self.sample_rate = 1.0
        self.rate_changes = 0
        self.n_searches = 0
        self._reference = None
        self._last = None  # (L, triplets) of the last call: L-BFGS may ask twice

    def best_scale(self, L, pull_weight, n_candidates=40):
        """Return the c > 0 that approximately minimizes the LMNN terms along the ray ``c L``.

        With ``s = c^2`` and ``e = d2_il - d2_ij`` under L, the LMNN part is
        ``mu s mean_B d2_ij + (1 - mu)/(v|B|) sum [1 - s e]_+``, convex and piecewise linear in
        s; the perturbation loss does not depend on s (the margin is invariant to scaling M).
        Its slope at s is ``mu mean_B d2_ij - (1 - mu)/(v|B|) sum_{e < 1/s} e``, decreasing
        in 1/s; the minimum is at the kink ``s = 1/e`` where the slope changes sign. The
        impostors of each anchor are its ``n_candidates`` nearest other-class points under L,
        so the slope is exact for ``1/s`` up to the last of them. At unit scale on unit-norm
        rows nearly every pair is inside the unit margin; rescaling first spares the solver
        (and the search) that start.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The starting metric's linear map.
        pull_weight : float in [0, 1]
            The weight mu of LMNN's pull term.
        n_candidates : int, default=40
            Other-class points per anchor considered as impostors.

        Returns
        -------
        float
            The scale c (1 when no candidate gives a positive kink).

        See Also
        --------
        robustdml.LMNN : Starts from the rescaled L.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ActiveTriplets, LMNNLoss
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> active = ActiveTriplets(X, np.array([0, 0, 1, 1]), 1, 1, [LMNNLoss()], slack=0.1)
        >>> round(active.best_scale(np.eye(2), 0.5), 6)
        1.0
        """
        embedded = self.X @ L.T
        anchor, target = self.pull_pairs[:, 0], self.pull_pairs[:, 1]
        target_sq = rowwise_sq_dist(embedded, anchor, target)
        gaps = []
        for label in np.unique(self.y):
            members = np.flatnonzero((self.y == label) & (self.n_targets > 0))
            others = np.flatnonzero(self.y != label)
            if members.size == 0:
                continue
            impostor_sq = exact_kneighbors(embedded[others], embedded[members],
                                           min(n_candidates, others.size))[0] ** 2
            rows = np.repeat(np.arange(members.size), self.n_targets[members])
            pairs = np.flatnonzero(np.isin(anchor, members))  # sorted by anchor, as rows
            gaps.append((impostor_sq[rows] - target_sq[pairs, None]).ravel())
        gaps = np.sort(np.concatenate(gaps))
        mu = pull_weight
        slope = (mu * target_sq.mean()
                 - (1.0 - mu) / self.normalizer * np.cumsum(gaps))
        positive = gaps > 0
        flips = np.flatnonzero(positive & (slope <= 0))
        # no sign change within the candidates: stop where the last of them enters the margin
        kink = gaps[flips[0]] if flips.size else gaps[-1]
        if not kink > 0:
            return 1.0
        return float(np.sqrt(1.0 / kink))

    def reach(self, L, embedded=None):
        """Return, per anchor, the distance under L beyond which no impostor contributes.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.
        embedded : ndarray of shape (n_samples, n_components), default=None
            ``X L^T``, if already computed.

        Returns
        -------
        ndarray of shape (n_samples,)
            The largest ``impostor_reach`` of the losses; -inf for points that anchor nothing.

        See Also
        --------
        TripletLoss.impostor_reach : The bound of each term.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ActiveTriplets, LMNNLoss
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> active = ActiveTriplets(X, np.array([0, 0, 1, 1]), 1, 1, [LMNNLoss()], slack=0.1)
        >>> active.reach(np.eye(2))
        array([1.41421356, 1.41421356, 1.41421356, 1.41421356])
        """
        embedded = self.X @ L.T if embedded is None else embedded
        sq_dist = rowwise_sq_dist(embedded, self.pull_pairs[:, 0], self.pull_pairs[:, 1])
        anchored = self.n_targets > 0
        farthest = np.zeros(len(self.X))
        farthest[anchored] = np.maximum.reduceat(sq_dist, self.pull_start[:-1][anchored])
        reach = np.max([loss.impostor_reach(farthest, L) for loss in self.losses], axis=0)
        return np.where(anchored, reach, -np.inf)

    def covers(self, L, need):
        """Say whether the last search provably holds every impostor needed at L.

        The split of ``L_ref``'s row space into the directions bounded relatively (rho1) and
        the rest, bounded through the data's extent there (rho2), is tried at a few
        singular-value cut-offs: with all of an ill-conditioned ``L_ref``'s directions rho1
        would be useless, with none of them the data's whole diameter would count.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.
        need : ndarray of shape (n_samples,)
            Per anchor, the distance under L within which every impostor must be held
            (-inf or inf where none is needed).

        Returns
        -------
        bool
            True when the cached candidates provably hold them; False calls for a search.

        See Also
        --------
        at : Searches again when this is False.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ActiveTriplets, LMNNLoss
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> active = ActiveTriplets(X, np.array([0, 0, 1, 1]), 1, 1, [LMNNLoss()], slack=0.1)
        >>> triplets = active.at(np.eye(2))
        >>> active.covers(1.01 * np.eye(2), active.reach(1.01 * np.eye(2)))
        True
        >>> active.covers(2 * np.eye(2), active.reach(2 * np.eye(2)))
        False
        """
        if self._reference is None or L.shape != self._reference[0].shape:
            return False
        L_ref, left, singular, right, radius, extents = self._reference
        if np.array_equal(L, L_ref):
            return True
        change = L - L_ref
        anchored = np.isfinite(need)
        need, radius = need[anchored], radius[anchored]
        change_right = change @ right.T  # D V^T
        for rank, extent in extents:
            rho1 = np.linalg.norm((change_right[:, :rank] / singular[:rank]) @ left[:, :rank].T,
                                  2)
            if rho1 >= 1.0:
                continue
            bound = (1.0 - rho1) * radius
            if extent is not None:
                rho2 = np.linalg.norm(change - change_right[:, :rank] @ right[:rank], 2)
                bound = bound - rho2 * extent[anchored]
            if np.all(bound >= need):
                return True
        return False

    def at(self, L):
        """Return the triplet set holding every contributing triplet at ``M = L^T L``.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map.

        Returns
        -------
        TripletSet
            The triplets, normalized by ``v |B|``.

        See Also
        --------
        TripletSet.at : The same for fixed triplets.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import ActiveTriplets, LMNNLoss
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> active = ActiveTriplets(X, np.array([0, 0, 1, 1]), 1, 1, [LMNNLoss()], slack=0.1)
        >>> active.at(np.eye(2)).n_triplets
        8
        """
        if self._last is not None and np.array_equal(L, self._last[0]):
            return self._last[1]
        embedded = self.X @ L.T
        reach = self.reach(L, embedded)
        triplets = None
        if self.slack > 0 and self._reference is not None:
            candidates, distance = self._ranked(
                self._candidates,
                np.sqrt(rowwise_sq_dist(embedded, *self._candidates.T)))
            if self.covers(L, self._need(reach, candidates, distance)):
                triplets = self._selected(reach, candidates, distance)
        if triplets is None:
            triplets = self._selected(reach, *self._ranked(*self._search(L, reach, embedded)))
        self._last = (L.copy(), triplets)
        return triplets

    def _ranked(self, pairs, distance):
        """Pairs sorted by anchor (then, for the nearest impostors, by distance)."""
        order = (np.argsort(pairs[:, 0], kind="stable") if self.per_anchor is None
                 else np.lexsort((distance, pairs[:, 0])))
        return pairs[order], distance[order]

    def _rank(self, anchors):
        """Position of each pair among its anchor's pairs (pairs sorted by anchor)."""
        return np.arange(len(anchors)) - np.searchsorted(anchors, anchors)

    def _need(self, reach, candidates, distance):
        """Per anchor, how far the candidates must provably reach: the losses' reach, or, for
        the nearest impostors only, the v-th nearest candidate when it is closer."""
        if self.per_anchor is None:
            return reach
        need = reach.copy()
        last = self._rank(candidates[:, 0]) == self.per_anchor - 1
        anchors = candidates[last, 0]
        need[anchors] = np.minimum(need[anchors], distance[last])
        return need

    def _selected(self, reach, candidates, distance):
        """The triplets of the candidates that can contribute (all of them in the full
        objective; the v nearest of each anchor otherwise)."""
        if self.per_anchor is not None:
            keep = ((self._rank(candidates[:, 0]) < self.per_anchor)
                    & (distance < reach[candidates[:, 0]]))
            candidates = candidates[keep]
        return self._combine(candidates)

    def _search(self, L, reach, embedded):
        """Every other-class point within the search radius of each anchor: the pairs and
        their distances under L."""
        radius_sq = np.where(np.isfinite(reach), reach, 0.0) ** 2
        sq_norm = np.einsum("ij,ij->i", embedded, embedded)
        rate = self.sample_rate
        found, n_triplets = [], 0
        for label in np.unique(self.y):
            members = np.flatnonzero((self.y == label) & (self.n_targets > 0))
            others = np.flatnonzero(self.y != label)
            others_t, others_sq = embedded[others].T.copy(), sq_norm[others]  # once per class
            step = max(1, SEARCH_BLOCK // max(1, len(others)))
            for start in range(0, len(members), step):
                block = members[start:start + step]
                # -2 a.b as (-2 a).b: the same numbers (a power of two scales exactly)
                sq_dist = (-2.0 * embedded[block]) @ others_t
                sq_dist += sq_norm[block, None]
                sq_dist += others_sq
                grown = radius_sq[block] * (1.0 + self.slack) ** 2
                if self.per_anchor is not None and rate < 1.0:
                    # the v nearest among the pairs the sample keeps, for rows with more
                    inside = sq_dist <= radius_sq[block, None]
                    rows, cols = np.nonzero(inside)
                    dropped = ~self._kept(np.column_stack([block[rows], others[cols]]), rate)
                    inside[rows[dropped], cols[dropped]] = False
                    crowded = np.flatnonzero(inside.sum(axis=1) > self.per_anchor)
                    if crowded.size:
                        nearest, capped = self._order_statistics(
                            np.where(inside[crowded], sq_dist[crowded], np.inf))
                        grown[crowded] = np.minimum(nearest * (1.0 + self.slack) ** 2, capped)
                elif self.per_anchor is not None:
                    # the v-th nearest bounds the radius where more than v lie within reach
                    # (the v nearest are then the v nearest within reach), and not elsewhere
                    nearest, capped = self._order_statistics(sq_dist)
                    grown = np.minimum(np.minimum(radius_sq[block], nearest)
                                       * (1.0 + self.slack) ** 2, capped)
                radius_sq[block] = grown
                rows, cols = np.nonzero(sq_dist <= radius_sq[block, None])
                pairs = np.column_stack([block[rows], others[cols]])
                distance = sq_dist[rows, cols]
                if rate < 1.0:
                    kept = self._kept(pairs, rate)
                    pairs, distance = pairs[kept], distance[kept]
                found.append((pairs, distance))
                n_triplets += int(self.n_targets[pairs[:, 0]].sum())
                if n_triplets > self.max_triplets:  # keep a smaller subset of what we have
                    rate *= 0.8 * self.max_triplets / n_triplets
                    found = [(p[kept], d[kept]) for p, d in found
                             for kept in [self._kept(p, rate)]]
                    n_triplets = sum(int(self.n_targets[p[:, 0]].sum()) for p, _ in found)
        if rate < self.sample_rate:
            if self.n_searches:
                self.rate_changes += 1
            warnings.warn(
                f"About {n_triplets / rate:,.0f} triplets contribute to the LMNN objective, "
                f"more than max_triplets={self.max_triplets:,}: a fixed random {rate:.2%} of "
                "the (anchor, impostor) pairs stands for all. Raise max_triplets for the exact "
                "objective (more memory and time).", UserWarning, stacklevel=5)
            self.sample_rate = rate
        pairs = np.concatenate([p for p, _ in found]).astype(np.intp)
        distance = np.sqrt(np.maximum(np.concatenate([d for _, d in found]), 0.0))
        self._candidates = pairs
        if self.slack > 0:  # without slack a search is not reused
            self._reference = self._reference_of(L, np.sqrt(np.maximum(radius_sq, 0.0)))
        self.n_searches += 1
        return pairs, distance

    def _order_statistics(self, sq_dist):
        """Per row, the v-th smallest value and, for a reused search, the
        ``REUSE_CANDIDATES * v``-th (the cap on an anchor's candidates); inf where a row has
        fewer values."""
        ranks = [self.per_anchor] + ([REUSE_CANDIDATES * self.per_anchor] if self.slack > 0
                                     else [])
        values = [np.full(len(sq_dist), np.inf), np.full(len(sq_dist), np.inf)]
        # one selection at the largest rank, then the smaller among its leading columns (one
        # with several ranks costs several times more)
        for slot in reversed(range(len(ranks))):
            if ranks[slot] <= sq_dist.shape[1]:
                sq_dist = np.partition(sq_dist, ranks[slot] - 1, axis=1)[:, :ranks[slot]]
                values[slot] = sq_dist[:, -1]
        return values

    def _kept(self, pairs, rate):
        return _pair_hash(pairs[:, 0], pairs[:, 1], len(self.X), self.seed) < rate

    def _combine(self, push_pairs):
        """Every target of each (anchor, impostor) pair's anchor, as one triplet each.

        Triplets come anchor by anchor, every target x every impostor, with the anchors grouped
        by their numbers of targets and impostors: each group is a block of (targets,
        impostors) arrays, so per-triplet products gather k + v rows per anchor, not 2 k v.
        ``push_pairs`` are sorted by anchor."""
        n_samples = len(self.X)
        anchors = push_pairs[:, 0]
        n_impostors = np.bincount(anchors, minlength=n_samples)
        push_start = np.cumsum(n_impostors) - n_impostors
        involved = np.flatnonzero(n_impostors)
        shapes = np.column_stack([self.n_targets[involved], n_impostors[involved]])
        pull_index, push_index, blocks = [], [], []
        for k, v in np.unique(shapes, axis=0):
            group = involved[(shapes[:, 0] == k) & (shapes[:, 1] == v)]
            pulls = self.pull_start[group][:, None] + np.arange(k)  # (anchors, k)
            pushes = push_start[group][:, None] + np.arange(v)  # (anchors, v)
            pull_index.append(np.broadcast_to(pulls[:, :, None], (group.size, k, v)).ravel())
            push_index.append(np.broadcast_to(pushes[:, None, :], (group.size, k, v)).ravel())
            blocks.append((self.pull_pairs[pulls, 1], push_pairs[pushes, 1]))
        empty = np.zeros(0, dtype=np.intp)
        return TripletSet(self.pull_pairs, push_pairs.astype(np.intp),
                          np.concatenate(pull_index) if blocks else empty,
                          np.concatenate(push_index) if blocks else empty,
                          n_samples, normalizer=self.normalizer * self.sample_rate,
                          blocks=tuple(blocks) or None)

    def _reference_of(self, L, radius):
        """What the validity test needs of the search at L: L, its SVD, the radii and, per
        singular-value cut-off (rank r), a bound on ``||(I - P_r) (x_i - x_l)||`` for each
        anchor i over all l: ``e_r(i) + max_l e_r(l)`` with ``e_r(x) = ||(I - P_r)(x - c)||``
        (None where ``P_r`` is the identity)."""
        left, singular, right = np.linalg.svd(L, full_matrices=False)
        top = singular.max(initial=0.0)
        ranks = sorted({int(np.sum(singular > top * cut)) for cut in CUTOFFS}, reverse=True)
        centered_sq = np.sum(self.centered ** 2, axis=1)
        kept_sq = np.cumsum((self.centered @ right.T) ** 2, axis=1)
        extents = []
        for rank in ranks:
            if rank == L.shape[1]:
                extents.append((rank, None))
                continue
            rest = centered_sq - (kept_sq[:, rank - 1] if rank else 0.0)
            rest = np.sqrt(np.maximum(rest, 0.0))
            extents.append((rank, rest + rest.max()))
        return L.copy(), left, singular, right, radius, extents

"""The full LMNN objective's triplets: every impostor that contributes under the current metric.

Standard LMNN (Weinberger & Saul 2009) sums its hinge over every differently labelled point l
of every (anchor i, target j) pair, not over a fixed list of impostors. Only the l inside the
margin contribute, and which those are depends on the metric, so :class:`ActiveTriplets`
finds them again whenever the metric has moved far enough that its last search could have
missed one. Every evaluation of the objective is then exact (up to the optional sampling
below), and L-BFGS sees one consistent function.

**Which impostors can contribute.** Each loss term bounds, per anchor, the learned-space
distance beyond which an impostor adds nothing (``TripletLoss.impostor_reach``): for the LMNN
hinge ``sqrt(max_j d2_ij + 1)``, for the perturbation loss
``max_j d_ij + 2 tau ||L||_2 + sqrt(2 tau sqrt(eps))``. A search at ``L_ref`` keeps every
impostor closer than ``C_i = (1 + slack) * reach_i(L_ref)``.

**When a search is still valid.** For the metric L and any pair u = x_i - x_l, with
``D = L - L_ref`` and ``P`` the projector on the row space of ``L_ref``::

    ||L u|| >= ||L_ref u|| - ||D P u|| - ||D (I - P) u||
            >= (1 - rho1) ||L_ref u|| - rho2 ||u||,
    rho1 = ||D L_ref^+||_2,  rho2 = ||D (I - P)||_2,

where ``L_ref^+`` and ``P`` may keep only the leading singular directions of ``L_ref`` (a
smaller row space trades rho1 for rho2), and ``||u|| <= ||x_i - c|| + max_l ||x_l - c||``
for the data's centre c.
So an impostor left out by the search (``||L_ref u|| >= C_i``) lies at least
``(1 - rho1) C_i - rho2 ||u||`` away under L. While that is at least ``reach_i(L)`` for every anchor,
the cached candidates hold every contributing impostor; otherwise the search runs again at L.

**Normalisation.** The triplet sums are divided by ``v |B|`` (``v = n_impostors``, B the
(anchor, target) pairs), the number of the paper's fixed triplets, so the hinge weight
``1 - mu``, lambda and tau mean the same in both modes.

**Memory.** No n x n matrix: the search runs in blocks of anchors. When more than
``max_triplets`` candidate triplets exist (typically at the start, when the metric has not yet
separated the classes), a fixed pseudo-random subset of the (anchor, impostor) pairs is kept,
each standing for ``1 / rate`` pairs (an unbiased estimate), with a warning. The subset is a
function of the pair only, so the objective stays one function until the rate has to drop.
"""

import warnings

import numpy as np

from ._linalg import exact_neighbors, kneighbors, rowwise_sq_dist
from .triplets import TripletSet, check_two_classes, target_neighbors

#: Anchors per block of the search hold at most this many (anchor, candidate) distances.
SEARCH_BLOCK = 1 << 22

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
    the current metric (see the module docstring for the bound and the validity test).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    n_neighbors : int
        k, targets per point.
    n_impostors : int
        v: only the normaliser ``v |B|`` (the paper's triplet count), not a limit.
    losses : sequence of TripletLoss
        The terms whose impostors are sought; each must implement ``impostor_reach``.
    max_triplets : int
        Above this many candidate triplets, a pseudo-random subset of pairs is kept.
    slack : float
        A search keeps impostors up to ``(1 + slack)`` times the reach, so that the metric can
        move before the next search is needed.
    random_state : int
        Seeds the pair subset.

    Attributes
    ----------
    n_searches : int
        Searches run so far.
    sample_rate : float
        Fraction of the (anchor, impostor) pairs kept (1: all).
    rate_changes : int
        How often the rate dropped after the first search (each time, the objective changed).
    """

    def __init__(self, X, y, n_neighbors=3, n_impostors=10, losses=(), *,
                 max_triplets=2_000_000, slack=0.25, random_state=0):
        check_two_classes(y)
        self.X = X
        self.y = y
        self.losses = list(losses)
        self.max_triplets = max_triplets
        self.slack = slack
        self.seed = int(np.random.RandomState(random_state).randint(2 ** 31))
        blocks = target_neighbors(X, y, n_neighbors)
        if not blocks:
            raise ValueError("No triplet can be formed: a class needs at least two points.")
        anchors = np.concatenate([np.repeat(m, t.shape[1]) for m, t in blocks])
        targets = np.concatenate([t.ravel() for _, t in blocks])
        order = np.argsort(anchors, kind="stable")
        self.pull_pairs = np.column_stack([anchors[order], targets[order]])
        n_samples = len(X)
        #: pull pairs of anchor a are rows pull_start[a]:pull_start[a + 1]
        self.pull_start = np.searchsorted(self.pull_pairs[:, 0], np.arange(n_samples + 1))
        self.n_targets = np.diff(self.pull_start)
        self.normaliser = float(n_impostors * len(self.pull_pairs))
        # ||x_i - x_l|| <= ||x_i - centre|| + max_l ||x_l - centre||
        centred = np.sqrt(np.sum((X - X.mean(axis=0)) ** 2, axis=1))
        self.spread = centred + centred.max()
        self.sample_rate = 1.0
        self.rate_changes = 0
        self.n_searches = 0
        self._reference = None

    def best_scale(self, L, pull_weight, n_candidates=40):
        """The c > 0 minimising the LMNN objective along the ray ``c L`` (approximately).

        With ``s = c^2`` and ``e = d2_il - d2_ij`` under L, the LMNN part is
        ``mu s mean_B d2_ij + (1 - mu)/(v|B|) sum [1 - s e]_+``, convex and piecewise linear in
        s; the perturbation loss does not depend on s (the margin is invariant to scaling M).
        Its slope at s is ``mu mean_B d2_ij - (1 - mu)/(v|B|) sum_{e < 1/s} e``, decreasing
        in 1/s; the minimum is at the kink ``s = 1/e`` where the slope changes sign. The
        impostors of each anchor are its ``n_candidates`` nearest other-class points under L,
        so the slope is exact for ``1/s`` up to the last of them. At unit scale on unit-norm
        rows nearly every pair is inside the unit margin; rescaling first spares the solver
        (and the search) that start.
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
            index = exact_neighbors(min(n_candidates, others.size),
                                    embedded.shape[1]).fit(embedded[others])
            impostor_sq = kneighbors(index, embedded[members])[0] ** 2
            rows = np.repeat(np.arange(members.size), self.n_targets[members])
            pairs = np.flatnonzero(np.isin(anchor, members))  # sorted by anchor, as rows
            gaps.append((impostor_sq[rows] - target_sq[pairs, None]).ravel())
        gaps = np.sort(np.concatenate(gaps))
        mu = pull_weight
        slope = (mu * target_sq.mean()
                 - (1.0 - mu) / self.normaliser * np.cumsum(gaps))
        positive = gaps > 0
        flips = np.flatnonzero(positive & (slope <= 0))
        # no sign change within the candidates: stop where the last of them enters the margin
        kink = gaps[flips[0]] if flips.size else gaps[-1]
        if not kink > 0:
            return 1.0
        return float(np.sqrt(1.0 / kink))

    def reach(self, L):
        """Per anchor, the distance under L beyond which no impostor contributes (-inf for
        points that anchor nothing)."""
        embedded = self.X @ L.T
        sq_dist = rowwise_sq_dist(embedded, self.pull_pairs[:, 0], self.pull_pairs[:, 1])
        anchored = self.n_targets > 0
        farthest = np.zeros(len(self.X))
        farthest[anchored] = np.maximum.reduceat(sq_dist, self.pull_start[:-1][anchored])
        reach = np.max([loss.impostor_reach(farthest, L) for loss in self.losses], axis=0)
        return np.where(anchored, reach, -np.inf)

    def covers(self, L, reach):
        """Whether the last search provably holds every contributing impostor at L.

        The split of ``L_ref``'s row space into the directions bounded relatively (rho1) and
        those bounded by the diameter (rho2) is tried at a few singular-value cut-offs: an
        ill-conditioned ``L_ref`` would make rho1 useless with all of its directions.
        """
        if self._reference is None or L.shape != self._reference[0].shape:
            return False
        L_ref, left, singular, right, radius = self._reference
        change = L - L_ref
        anchored = np.isfinite(reach)
        need, radius = reach[anchored], radius[anchored]
        spread = self.spread[anchored]
        change_right = change @ right.T  # D V^T
        for rank in self._cutoff_ranks(singular):
            rho1 = np.linalg.norm((change_right[:, :rank] / singular[:rank]) @ left[:, :rank].T,
                                  2)
            if rho1 >= 1.0:
                continue
            rho2 = (np.linalg.norm(change - change_right[:, :rank] @ right[:rank], 2)
                    if rank < L.shape[1] else 0.0)
            if np.all((1.0 - rho1) * radius - rho2 * spread >= need):
                return True
        return False

    @staticmethod
    def _cutoff_ranks(singular):
        """Numbers of leading singular directions to try, most first."""
        top = singular.max(initial=0.0)
        if top == 0:
            return [0]
        return sorted({int(np.sum(singular > top * cut)) for cut in CUTOFFS}, reverse=True)

    def at(self, L):
        """The triplet set holding every contributing triplet at ``M = L^T L``."""
        reach = self.reach(L)
        if not self.covers(L, reach):
            self._search(L, reach)
        return self._triplets

    def _search(self, L, reach):
        radius = np.where(np.isfinite(reach), (1.0 + self.slack) * reach, 0.0)
        embedded = self.X @ L.T
        sq_norm = np.einsum("ij,ij->i", embedded, embedded)
        rate = self.sample_rate
        found, n_triplets = [], 0
        for label in np.unique(self.y):
            members = np.flatnonzero((self.y == label) & (self.n_targets > 0))
            others = np.flatnonzero(self.y != label)
            step = max(1, SEARCH_BLOCK // max(1, len(others)))
            for start in range(0, len(members), step):
                block = members[start:start + step]
                sq_dist = (sq_norm[block, None] + sq_norm[None, others]
                           - 2.0 * embedded[block] @ embedded[others].T)
                rows, cols = np.nonzero(sq_dist < radius[block, None] ** 2)
                pairs = np.column_stack([block[rows], others[cols]])
                if rate < 1.0:
                    pairs = pairs[self._kept(pairs, rate)]
                found.append(pairs)
                n_triplets += int(self.n_targets[pairs[:, 0]].sum())
                if n_triplets > self.max_triplets:  # keep a smaller subset of what we have
                    rate *= 0.8 * self.max_triplets / n_triplets
                    found = [p[self._kept(p, rate)] for p in found]
                    n_triplets = sum(int(self.n_targets[p[:, 0]].sum()) for p in found)
        if rate < self.sample_rate:
            if self.n_searches:
                self.rate_changes += 1
            warnings.warn(
                f"About {n_triplets / rate:,.0f} triplets contribute to the LMNN objective, "
                f"more than max_triplets={self.max_triplets:,}: a fixed random {rate:.2%} of "
                "the (anchor, impostor) pairs stands for all. Raise max_triplets for the exact "
                "objective (more memory and time).", UserWarning, stacklevel=5)
            self.sample_rate = rate
        push_pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.intp)
        push_pairs = push_pairs[np.argsort(push_pairs[:, 0], kind="stable")]
        self._triplets = self._combine(push_pairs)
        self._reference = self._reference_of(L, radius)
        self.n_searches += 1

    def _kept(self, pairs, rate):
        return _pair_hash(pairs[:, 0], pairs[:, 1], len(self.X), self.seed) < rate

    def _combine(self, push_pairs):
        """Every target of each (anchor, impostor) pair's anchor, as one triplet each."""
        counts = self.n_targets[push_pairs[:, 0]]
        push_index = np.repeat(np.arange(len(push_pairs)), counts)
        first = np.cumsum(counts) - counts
        pull_index = (self.pull_start[push_pairs[push_index, 0]]
                      + np.arange(push_index.size) - first[push_index])
        return TripletSet(self.pull_pairs, push_pairs.astype(np.intp), pull_index, push_index,
                          len(self.X), normaliser=self.normaliser * self.sample_rate)

    @staticmethod
    def _reference_of(L, radius):
        """What the validity test needs of the search at L: L, its SVD and the radii."""
        left, singular, right = np.linalg.svd(L, full_matrices=False)
        return L.copy(), left, singular, right, radius

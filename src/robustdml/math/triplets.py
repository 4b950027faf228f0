"""Fixed LMNN triplets (the paper's): k targets x v impostors per anchor, Euclidean.

A triplet set is stored as its two pair lists, (anchor, target) pulls and (anchor, impostor)
pushes, plus for every triplet the index of its pull pair and of its push pair. Distances are
then computed once per pair, not once per triplet, and gradients are assembled from pair weights
through sparsity patterns built once per triplet set.
"""

import warnings
from dataclasses import InitVar, dataclass
from functools import cached_property

import numpy as np
from sklearn.utils import check_X_y

from ._linalg import PairPattern, nearest_rows


@dataclass(frozen=True)
class TripletSet:
    """Triplets (anchor i, target j, impostor l) over the rows of one data matrix.

    A triplet set is stored as its two pair lists, so that distances are computed once per
    pair, not once per triplet.

    Parameters
    ----------
    pull_pairs : ndarray of shape (n_pull, 2)
        The (anchor, target) pairs ``B`` of the pull term.
    push_pairs : ndarray of shape (n_push, 2)
        The (anchor, impostor) pairs.
    pull_index : ndarray of shape (n_triplets,)
        For each triplet, the row of its (anchor, target) pair in ``pull_pairs``.
    push_index : ndarray of shape (n_triplets,)
        For each triplet, the row of its (anchor, impostor) pair in ``push_pairs``; both
        pairs share the anchor.
    n_samples : int
        Number of rows of the data matrix the indices refer to.
    normalizer : float or None, default=None
        What the triplet sums are divided by; None means ``n_triplets`` (the paper's
        ``1/|T|``). The full objective (:class:`ActiveTriplets`) holds only the triplets that
        contribute and divides by the fixed ``v |B|`` instead, so that a triplet weighs the same
        in both.
    blocks : tuple of (ndarray, ndarray) or None, default=None
        When the triplets are every target x every impostor of each anchor, in that order, block
        after block: per block, ``targets`` (n_anchors, k) and ``impostors`` (n_anchors, v).
        Lets per-triplet quantities be computed per anchor with batched products.
    normaliser : float or None, default=None
        Deprecated: the old name of ``normalizer``, used instead of it when given, with a
        FutureWarning; it is removed in the next release.

    Attributes
    ----------
    n_triplets : int
        Number of triplets.
    anchors : ndarray of shape (n_triplets,)
        The anchor of each triplet.
    targets : ndarray of shape (n_triplets,)
        The target of each triplet.
    impostors : ndarray of shape (n_triplets,)
        The impostor of each triplet.
    triplet_normalizer : float
        What the sums over triplets are divided by.

    Raises
    ------
    ValueError
        If a triplet's pull and push pairs do not share the anchor.

    See Also
    --------
    build_triplets : The reference's fixed triplets of labeled data.
    ActiveTriplets : Triplets that follow the metric.

    Examples
    --------
    >>> from robustdml.math import TripletSet
    >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
    >>> triplets.n_triplets, triplets.pull_pairs.tolist()
    (2, [[0, 1]])
    """

    pull_pairs: np.ndarray
    push_pairs: np.ndarray
    pull_index: np.ndarray
    push_index: np.ndarray
    n_samples: int
    normalizer: float = None
    blocks: tuple = None
    # the old name of ``normalizer``, accepted with a FutureWarning for one release
    normaliser: InitVar[float] = None

    def __post_init__(self, normaliser):
        if normaliser is not None:
            warnings.warn("TripletSet's normaliser is renamed normalizer; the old name is "
                          "removed in the next release.", FutureWarning, stacklevel=3)
            object.__setattr__(self, "normalizer", normaliser)
        if not np.array_equal(self.pull_pairs[self.pull_index, 0],
                              self.push_pairs[self.push_index, 0]):
            raise ValueError("Each triplet's pull and push pairs must share the anchor.")

    @classmethod
    def from_indices(cls, anchors, targets, impostors, n_samples=None):
        """Build a triplet set from explicit (anchor, target, impostor) index arrays.

        Parameters
        ----------
        anchors : array-like of int
            The anchor of each triplet.
        targets : array-like of int
            The target of each triplet.
        impostors : array-like of int
            The impostor of each triplet.
        n_samples : int, default=None
            Number of rows of the data matrix; None takes the largest index + 1.

        Returns
        -------
        TripletSet
            The triplets, each distinct pair stored once.

        Raises
        ------
        ValueError
            If the three index arrays differ in length.

        See Also
        --------
        build_triplets : Triplets from labeled data.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> TripletSet.from_indices([0], [1], [2]).n_samples
        3
        """
        anchors, targets, impostors = (np.asarray(a, dtype=np.intp).ravel()
                                       for a in (anchors, targets, impostors))
        if not anchors.shape == targets.shape == impostors.shape:
            raise ValueError("anchors, targets and impostors must have the same length.")
        pull_pairs, pull_index = np.unique(np.column_stack([anchors, targets]), axis=0,
                                           return_inverse=True)
        push_pairs, push_index = np.unique(np.column_stack([anchors, impostors]), axis=0,
                                           return_inverse=True)
        if n_samples is None:
            n_samples = int(max(anchors.max(), targets.max(), impostors.max())) + 1
        return cls(pull_pairs.reshape(-1, 2), push_pairs.reshape(-1, 2),
                   pull_index.ravel(), push_index.ravel(), n_samples)

    @property
    def n_triplets(self):
        """Number of triplets.

        See Also
        --------
        triplet_normalizer : What the sums over triplets are divided by.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> triplets.n_triplets
        2
        """
        return self.pull_index.shape[0]

    def at(self, L):
        """Return the triplets of the objective at ``M = L^T L``: fixed triplets, ``self``.

        The full objective's :class:`ActiveTriplets` change with L; fixed triplets do not.

        Parameters
        ----------
        L : ndarray of shape (n_components, n_features)
            The metric's linear map (unused).

        Returns
        -------
        TripletSet
            ``self``.

        See Also
        --------
        ActiveTriplets.at : The triplets that follow the metric.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0], [1], [2])
        >>> triplets.at(np.eye(2)) is triplets
        True
        """
        return self

    @property
    def triplet_normalizer(self):
        """The divisor of the sums over triplets: ``n_triplets`` unless ``normalizer`` is set.

        See Also
        --------
        n_triplets : Number of triplets.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> triplets.triplet_normalizer
        2
        """
        return self.n_triplets if self.normalizer is None else self.normalizer

    @property
    def triplet_normaliser(self):
        """Deprecated: the old name of ``triplet_normalizer``, removed in the next release.

        See Also
        --------
        triplet_normalizer : The new name.

        Examples
        --------
        >>> import warnings
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> with warnings.catch_warnings(record=True):
        ...     triplets.triplet_normaliser
        2
        """
        warnings.warn("TripletSet.triplet_normaliser is renamed triplet_normalizer; the old name "
                      "is removed in the next release.", FutureWarning, stacklevel=2)
        return self.triplet_normalizer

    @cached_property
    def pair_pattern(self):
        """The sparsity pattern of the pull pairs followed by the push pairs.

        Its ``scatter(X, weights)`` sums the weighted outer products of the pairs' differences,
        the gradient of weighted squared distances with respect to M.

        See Also
        --------
        spread_pattern : The pattern of the (target, impostor) pairs.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets.pair_pattern.scatter(X, np.array([1.0, 0.0, 0.0]))
        array([[0., 0.],
               [0., 1.]])
        """
        pairs = np.vstack([self.pull_pairs, self.push_pairs])
        return PairPattern(pairs[:, 0], pairs[:, 1], self.n_samples)

    @cached_property
    def spread_pattern(self):
        """The sparsity pattern of the (target, impostor) pair of every triplet.

        See Also
        --------
        pair_pattern : The pattern of the pull and push pairs.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> triplets.spread_pattern.scatter(X, np.array([1.0, 0.0]))
        array([[ 9., -3.],
               [-3.,  1.]])
        """
        return PairPattern(self.targets, self.impostors, self.n_samples)

    @property
    def anchors(self):
        """The anchor of each triplet, a row of the data matrix.

        See Also
        --------
        n_triplets : Number of triplets.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> triplets.anchors
        array([0, 0])
        """
        return self.pull_pairs[self.pull_index, 0]

    @property
    def targets(self):
        """The target of each triplet, a row of the data matrix.

        See Also
        --------
        n_triplets : Number of triplets.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> triplets.targets
        array([1, 1])
        """
        return self.pull_pairs[self.pull_index, 1]

    @property
    def impostors(self):
        """The impostor of each triplet, a row of the data matrix.

        See Also
        --------
        n_triplets : Number of triplets.

        Examples
        --------
        >>> from robustdml.math import TripletSet
        >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
        >>> triplets.impostors
        array([2, 3])
        """
        return self.push_pairs[self.push_index, 1]


def _old_normaliser(triplets):
    """Deprecated: the old name of ``normalizer``, removed in the next release.

    See Also
    --------
    TripletSet.triplet_normalizer : The divisor of the sums over triplets.

    Examples
    --------
    >>> import warnings
    >>> from robustdml.math import TripletSet
    >>> triplets = TripletSet.from_indices([0, 0], [1, 1], [2, 3])
    >>> with warnings.catch_warnings(record=True):
    ...     print(triplets.normaliser)
    None
    """
    warnings.warn("TripletSet.normaliser is renamed normalizer; the old name is removed in the "
                  "next release.", FutureWarning, stacklevel=2)
    return triplets.normalizer


# reading the old field: replaces the InitVar's class-level default, which __init__ does not
# read (it keeps its own copy)
TripletSet.normaliser = property(_old_normaliser)


def target_neighbors(X, y, n_neighbors, anchors=None, candidates=None):
    """Each anchor's ``n_neighbors`` nearest same-class candidates (itself excluded).

    Returns a list of ``(members, targets)`` blocks, one per class: ``members`` (n_anchors,)
    and ``targets`` (n_anchors, k'), nearest first, with ``k' = n_neighbors`` unless the class
    is too small, in which case its members use all the other members (with a warning) and a
    lone point of its class anchors nothing.
    """
    everyone = np.arange(len(X))
    anchors = everyone if anchors is None else np.asarray(anchors, dtype=np.intp)
    candidates = everyone if candidates is None else np.asarray(candidates, dtype=np.intp)
    blocks, small_classes = [], []
    for label in np.unique(y[anchors]):
        members = anchors[y[anchors] == label]
        same = candidates[y[candidates] == label]
        # one neighbor more than needed: the anchor itself, or the farthest when it is absent
        n_query = min(n_neighbors + 1, same.size)
        if n_query - 1 < n_neighbors:
            small_classes.append((label, same.size))
        if n_query < 2:
            continue
        nearest = same[nearest_rows(X[same], X[members], n_query)]
        keep = nearest != members[:, None]
        keep[keep.all(axis=1), -1] = False
        blocks.append((members, nearest[keep].reshape(len(members), n_query - 1)))
    if small_classes:
        warnings.warn(
            f"n_neighbors={n_neighbors} is not smaller than the size of class(es) "
            + ", ".join(f"{label} ({size} points)" for label, size in small_classes)
            + "; their points use all other points of their class as targets.",
            UserWarning, stacklevel=3)
    return blocks


def check_two_classes(y):
    if np.unique(y).size < 2:
        raise ValueError("No triplet can be formed: impostors need at least two classes, "
                         f"got only {np.unique(y)}.")


def build_triplets(X, y, n_neighbors=3, n_impostors=10, *, anchors=None, candidates=None):
    """The reference's fixed triplets: every target x every impostor of every anchor.

    Targets are an anchor's ``n_neighbors`` nearest same-class candidates (itself excluded),
    impostors its ``n_impostors`` nearest other-class candidates, both by Euclidean distance in
    the space of ``X``. A class with at most ``n_neighbors`` points gives its members all the
    other members as targets (with a warning); a lone point of its class anchors nothing.
    Neighbor search is exact and blockwise, so memory grows with n, not n^2.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points.
    y : array-like of shape (n_samples,)
        Their labels.
    n_neighbors : int, default=3
        The number k of targets per anchor.
    n_impostors : int, default=10
        The number v of impostors per anchor.
    anchors : array-like of int, default=None
        Rows that anchor triplets; None: all rows.
    candidates : array-like of int, default=None
        Rows that may serve as targets and impostors; None: all rows. Anchoring held-out
        rows on training candidates gives the triplets of test points.

    Returns
    -------
    TripletSet
        ``n_anchors * n_neighbors * n_impostors`` triplets when every class is large enough.

    Raises
    ------
    ValueError
        If no triplet can be formed (fewer than two classes, or no class with two points).

    Warns
    -----
    UserWarning
        When a class has at most ``n_neighbors`` points.

    See Also
    --------
    TripletSet.from_indices : Triplets from explicit indices.
    adversarial_margin : The margin of each triplet.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml import build_triplets
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> triplets = build_triplets(X, np.array([0, 0, 1, 1]), n_neighbors=1, n_impostors=2)
    >>> triplets.n_triplets
    8
    """
    X, y = check_X_y(X, y, dtype=float)
    everyone = np.arange(len(X))
    candidates = everyone if candidates is None else np.asarray(candidates, dtype=np.intp)
    check_two_classes(y[candidates])
    pull_blocks, push_blocks = [], []
    for members, targets in target_neighbors(X, y, n_neighbors, anchors, candidates):
        others = candidates[y[candidates] != y[members[0]]]
        n_push = min(n_impostors, others.size)
        if n_push == 0:
            continue
        pull_blocks.append((members, targets))
        push_blocks.append((members, others[nearest_rows(X[others], X[members], n_push)]))
    if not pull_blocks:
        raise ValueError("No triplet can be formed: a class needs at least two points and "
                         "there must be at least two classes.")
    return _combine_blocks(pull_blocks, push_blocks, len(X))


def _combine_blocks(pull_blocks, push_blocks, n_samples):
    """All target x impostor combinations of each anchor, block by block."""
    pull_pairs, push_pairs, pull_index, push_index = [], [], [], []
    n_pull = n_push = 0
    for (anchors, targets), (_, impostors) in zip(pull_blocks, push_blocks):
        n_anchor, k = targets.shape
        v = impostors.shape[1]
        pull_pairs.append(np.column_stack([np.repeat(anchors, k), targets.ravel()]))
        push_pairs.append(np.column_stack([np.repeat(anchors, v), impostors.ravel()]))
        # triplet (a, t, i) -> pull pair a*k + t, push pair a*v + i, ordered anchor-major
        pull_index.append(n_pull + np.repeat(np.arange(n_anchor * k), v))
        push_index.append(n_push + np.tile(np.arange(v), n_anchor * k)
                          + np.repeat(np.arange(n_anchor) * v, k * v))
        n_pull += n_anchor * k
        n_push += n_anchor * v
    return TripletSet(np.concatenate(pull_pairs), np.concatenate(push_pairs),
                      np.concatenate(pull_index), np.concatenate(push_index), n_samples,
                      blocks=tuple((targets, impostors) for (_, targets), (_, impostors)
                                   in zip(pull_blocks, push_blocks)))

"""Certified robustness of k-NN predictions under a Mahalanobis metric.

The certificate is derived in :doc:`/user_guide/method` (section 6). For a query z predicted as
class c, with s = (k + 1) // 2, every training pair (a in c, b not in c) has the closed-form
margin m(a, b) of section 2 of that page (the distance from z to
where b becomes as close as a). ``t(b)`` is the s-th largest m(a, b) over a, and the certified
radius is the s-th smallest t(b) over b: no perturbation shorter than it changes the prediction.

Behind affine preprocessing ``x -> A x + b`` (a pipeline's scalers, PCA, ...), the margins are
those of the composed metric ``L A``: the gaps are unchanged, the hyperplane normals become
``A^T L^T (L a - L b)``, and the radius is a length in x (:func:`certified_radius`).

The exact t of the nearest other-class points gives a first s-th smallest t; two cheap lower
bounds on t(b) (one from distances alone, one from the s nearest anchors only) then discard
almost every other candidate, and an anchor farther from z than b never counts for t(b). The
radii equal the brute-force definition; only the work shrinks.
"""

import copy
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..estimators import KNNClassifier
from ..estimators._affine import compose
from ..estimators._base import check_labels, validate_numeric
from ..math import DEGENERACY_RTOL, degeneracy_guard, margin_from_gap

#: Query points whose distances to all training points are held in memory at once.
QUERY_BLOCK = 64
#: The nearest other-class points whose exact t(b) sets the first bound of the pruned search.
FIRST_BLOCK = 16
#: Other-class points whose exact t(b) is computed per step of the pruned search.
CANDIDATE_BLOCK = 256
#: Where a radius can be measured: in a pipeline's input units, or where its classifier works.
SPACES = ("input", "classifier")
#: A radius is reported this much (relatively) below the computed one, so that rounding in
#: its computation (about 1e-14) can never certify a perturbation that flips the prediction.
ROUNDING_RTOL = 1e-9


def pairwise_sq_dist(A, B):
    """``||A_i - B_j||^2`` by the expansion, with near-cancelling entries recomputed directly."""
    sq = (np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
          - 2.0 * A @ B.T)
    scale = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
    inexact = np.nonzero(sq <= 1e-8 * scale)
    if inexact[0].size:
        diff = A[inexact[0]] - B[inexact[1]]
        sq[inexact] = np.einsum("ij,ij->i", diff, diff)
    return np.maximum(sq, 0.0)


class MetricGeometry:
    """What the certificate needs of a learned metric ``d(a, b) = ||L a - L b||``.

    Training points are kept embedded (``L x``, where distances are d_M) and mapped to the
    space where Euclidean distance is ``||M (a - b)||`` (the denominator of every margin).
    """

    def __init__(self, components, X_train):
        L = np.asarray(components, dtype=float)
        self.components = L
        self.embedded = X_train @ L.T
        self._measure(L)

    def _measure(self, composed):
        """Hyperplane normals and the Lipschitz constant for perturbations of the inputs of
        ``composed``: L, or L A when the inputs reach the metric through x -> A x + b."""
        # the normal in those inputs of the hyperplane where a and b tie is
        # A^T L^T (L a - L b) (A = I: M (a - b)), of norm ||(L A A^T L^T)^(1/2) (L a - L b)||:
        # work in the embedded space
        eigenvalues, vectors = np.linalg.eigh(composed @ composed.T)
        root = (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T
        self.normals = self.embedded @ root
        self.normal_sq = np.einsum("ij,ij->i", self.normals, self.normals)
        self.lipschitz = np.linalg.norm(composed, 2) if composed.size else 0.0

    def through(self, input_map):
        """Return this geometry for inputs x that reach the metric as ``A x + b``.

        Distances, and so the margins' gaps, are those of the metric on the mapped points;
        the hyperplane normals (the margins' denominators) and the Lipschitz constant
        become those of ``L A``: the radii are then lengths in x.
        """
        geometry = copy.copy(self)
        geometry._measure(self.components @ np.asarray(input_map, dtype=float))
        return geometry

    def margins(self, sq_dist, anchors, candidates):
        """m(a, b), shape (len(candidates), len(anchors)), given squared distances to z."""
        q = pairwise_sq_dist(self.normals[candidates], self.normals[anchors])
        to_candidate, to_anchor = sq_dist[candidates][:, None], sq_dist[anchors][None, :]
        guard = degeneracy_guard(self.lipschitz ** 2, to_anchor, to_candidate)
        return margin_from_gap(to_candidate - to_anchor, q, guard)

    def threshold_margins(self, sq_dist, anchors, candidates, s):
        """t(b): the s-th largest m(a, b) over ``anchors``, for each candidate b.

        An anchor at least as far from z as b gives m(a, b) = 0, so only the anchors nearer
        than the farthest candidate are evaluated.
        """
        anchors = anchors[sq_dist[anchors] < sq_dist[candidates].max()]
        if anchors.size < s:
            return np.zeros(candidates.size)
        m = self.margins(sq_dist, anchors, candidates)
        return m.max(axis=1) if s == 1 else -np.partition(-m, s - 1, axis=1)[:, s - 1]

    def radius(self, sq_dist, same, other, s, limit=np.inf):
        """Certified radius of one query with squared distances ``sq_dist`` to the training
        points, whose predicted class holds the training points ``same`` (the others:
        ``other``), k-NN majority size ``s``; ``limit`` where the radius is at least
        ``limit`` (the search then stops as soon as that is proven)."""
        if same.size < s:
            return 0.0
        if other.size < s:
            return limit  # fewer than s points can ever outvote the class (inf unlimited)
        # the search runs on t, reported times (1 - ROUNDING_RTOL): t at the limit is enough
        t_limit = limit / (1.0 - ROUNDING_RTOL)
        probes = same[np.argpartition(sq_dist[same], s - 1)[:s]]  # the s nearest anchors
        d_s = np.sqrt(sq_dist[probes].max())
        # t(b) over the nearest other-class points (at least s) gives a first s-th smallest
        n_first = max(FIRST_BLOCK, s)
        first = np.argpartition(sq_dist[other], n_first)[:n_first] \
            if other.size > n_first else np.arange(other.size)
        best = np.minimum(np.sort(self.threshold_margins(sq_dist, same, other[first], s))[:s],
                          t_limit)
        if best[-1] == 0.0:
            return 0.0
        # two lower bounds on t(b) prune the rest: from distances alone (gap = (d_b - d_a)
        # (d_b + d_a), ||M (a - b)|| <= ||L||_2 (d_a + d_b) and the guard's square root at most
        # sqrt(rtol) ||L||_2 (d_a + d_b); ||L||_2 > 0 as some margin is), then the exact
        # s-th largest margin over the s nearest anchors only (a subset of all anchors)
        rest = np.delete(other, first)
        d_rest = np.sqrt(sq_dist[rest])
        by_distance = (d_rest - d_s) / (2.0 * self.lipschitz * (1.0 + np.sqrt(DEGENERACY_RTOL)))
        rest = rest[by_distance < best[-1]]
        lower = self.margins(sq_dist, probes, rest).min(axis=1)
        # margins are recomputed over more anchors below: allow for rounding in the bound
        lower *= 1.0 - 1e-12
        keep = lower < best[-1]
        rest, lower = rest[keep], lower[keep]
        order = np.argsort(lower)
        for start in range(0, rest.size, CANDIDATE_BLOCK):
            block = order[start:start + CANDIDATE_BLOCK]
            block = block[lower[block] < best[-1]]
            if block.size == 0:
                break
            t = self.threshold_margins(sq_dist, same, rest[block], s)
            best = np.sort(np.concatenate([best, t]))[:s]
        if best[-1] >= t_limit:
            return limit
        return float(best[-1]) * (1.0 - ROUNDING_RTOL)


class CertifiedKNN(KNNClassifier):
    """The k-NN classifier under a learned metric, with certified radii of its predictions.

    A prediction's certified radius is a length no L2 perturbation of the input below which
    can change the prediction [1]_: the k-NN vote is decided by closed-form adversarial
    margins of (query, same-class point, other-class point) triplets, and the radius is exact
    for that vote, not a bound found by search. :doc:`/user_guide/certification` says what it
    promises and :doc:`/user_guide/method` (section 6) derives it.

    Parameters
    ----------
    n_neighbors : int, default=3
        The number k of neighbors that vote; odd, as certification needs a strict majority
        (``fit`` refuses an even k).
    metric_learner : estimator or None, default=None
        A linear metric learner with ``fit``, ``transform`` and ``components_`` (:class:`LMNN`,
        :class:`NCA`, ...), cloned and fitted on the training data; None means the Euclidean
        metric.
    memory : str, object with the ``joblib.Memory`` interface, or None, default=None
        Cache of fitted metric learners (see :class:`KNNClassifier`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    metric_learner_ : estimator or None
        The fitted clone of ``metric_learner`` (None for the Euclidean metric).
    embedding_ : ndarray of shape (n_samples, n_components)
        The transformed training points.
    y_ : ndarray of shape (n_samples,)
        Training labels encoded as indices into ``classes_``.
    X_fit_ : ndarray of shape (n_samples, n_features)
        The training inputs.
    geometry_ : MetricGeometry
        The training points in the spaces the certificate works in.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``; defined only when X has feature names
        that are all strings.

    See Also
    --------
    robustdml.knn_attack : Adversarial examples, an upper bound where the radius is a lower one.
    robustdml.metrics.make_certified_scorer : Certified accuracy as a ``scoring=`` for
        model selection.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN, LMNN
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3, LMNN(perturbation_weight=1.0)).fit(X, y)
    >>> radii = knn.certified_radius(X[:5], y[:5])
    >>> knn.certified_robust_error(X, y, radii=[0.0, 0.1]).shape
    (2,)
    """

    def fit(self, X, y):
        """Fit the metric learner, store the training set and its certificate geometry.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        CertifiedKNN
            The fitted classifier, ``self``.

        Raises
        ------
        TypeError
            If the fitted metric learner has no ``components_`` (it is not linear).
        ValueError
            If ``n_neighbors`` is even or exceeds the number of training points.

        Warns
        -----
        UserWarning
            When y has one class only: every radius is then infinite.

        See Also
        --------
        certified_radius : The certified radius of each prediction.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import CertifiedKNN
        >>> X, y = load_iris(return_X_y=True)
        >>> CertifiedKNN(3).fit(X, y).X_fit_.shape
        (150, 4)
        """
        if isinstance(self.n_neighbors, Integral) and self.n_neighbors % 2 == 0:
            # checked before the metric is learned; other bad values are the parameter
            # validation's to report
            raise ValueError(
                f"CertifiedKNN needs an odd n_neighbors, got {self.n_neighbors}: an even k "
                "lets the votes of two classes tie, and a tie of votes has no certificate. "
                f"Use an odd k ({self.n_neighbors - 1} or {self.n_neighbors + 1}), or "
                "KNNClassifier for an even k without certificates.")
        super().fit(X, y)
        self.X_fit_ = validate_numeric(self, X, reset=False, dtype=float)
        self.geometry_ = MetricGeometry(self._components(), self.X_fit_)
        if self.classes_.size == 1:
            warnings.warn(f"CertifiedKNN was fitted on one class ({self.classes_[0]!r}): it "
                          "predicts that class whatever the input, so every certified radius "
                          "is infinite. Fit it on data with at least two classes.",
                          UserWarning, stacklevel=2)
        return self

    _saved_attributes = (*KNNClassifier._saved_attributes, "X_fit_")

    def _components(self):
        """L of the fitted metric learner (the identity for the Euclidean metric)."""
        if self.metric_learner_ is None:
            return np.eye(self.n_features_in_)
        if hasattr(self.metric_learner_, "components_"):
            return self.metric_learner_.components_
        raise TypeError(f"{type(self.metric_learner_).__name__} has no components_; "
                        "certification needs a linear metric learner (M = L^T L).")

    def _restore_derived(self):
        """The index and the certificate's geometry are rebuilt after loading, not stored."""
        super()._restore_derived()
        self.geometry_ = MetricGeometry(self._components(), self.X_fit_)

    def certified_radius(self, X, y=None, *, max_radius=None):
        """Return the certified L2 radius of each prediction.

        The certificate is derived in :doc:`/user_guide/method` (section 6).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.
        y : array-like of shape (n_queries,), default=None
            True labels: a misclassified point gets radius 0 (and costs no search).
        max_radius : float >= 0, default=None
            Report ``min(radius, max_radius)`` (to rounding, 1e-14 relative): the search for
            a point stops once its radius is proven to reach ``max_radius``, which is all a
            certified accuracy at a given radius needs (the scorers use it) and is faster.

        Returns
        -------
        ndarray of shape (n_queries,)
            The radius of each query: no perturbation of L2 norm below it changes the
            prediction (and, with y, keeps it correct). 0 where the k neighbors give no strict
            majority.

        Raises
        ------
        ValueError
            If ``max_radius`` is negative, y has the wrong shape or labels not among
            ``classes_``, or the squared distances overflow at the scale of X.

        See Also
        --------
        certified_robust_error : The fraction of points not certified at given radii.
        robustdml.certified_radius : The radii of a pipeline ending in this classifier, in
            the units of the pipeline's input.
        robustdml.knn_attack : Adversarial examples, whose norms bound the radii from above.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import CertifiedKNN
        >>> X, y = load_iris(return_X_y=True)
        >>> knn = CertifiedKNN(3).fit(X, y)
        >>> knn.certified_radius(X[:3], y[:3]).round(3)
        array([1.355, 1.133, 1.292])
        """
        check_is_fitted(self)
        return self._certify(X, y, _radius_limit(max_radius), self.geometry_)

    def _certify(self, X, y, limit, geometry):
        """Radii of the queries X (as this classifier sees them) under ``geometry``: its
        own, or ``geometry_.through(A)`` for lengths in the inputs of a map to X."""
        # the vote sees X as given, so a DataFrame's feature names are checked against fit's
        _, predicted = self._vote(X)
        X = validate_numeric(self, X, reset=False, dtype=float)
        radii = np.zeros(len(X))
        searched = np.arange(len(X))
        if y is not None:
            y = check_labels(self.classes_, y, len(X))
            searched = searched[self.classes_[predicted] == y]
        s = (self.n_neighbors + 1) // 2
        members = [(np.flatnonzero(self.y_ == label), np.flatnonzero(self.y_ != label))
                   for label in range(len(self.classes_))]
        for start in range(0, searched.size, QUERY_BLOCK):
            block = searched[start:start + QUERY_BLOCK]
            sq_dist = pairwise_sq_dist(X[block] @ geometry.components.T, geometry.embedded)
            if not np.all(np.isfinite(sq_dist)):
                raise ValueError("Squared distances overflow at the scale of X; rescale X "
                                 "(e.g. StandardScaler) before fitting and certifying.")
            for row, index in enumerate(block):
                radii[index] = geometry.radius(sq_dist[row], *members[predicted[index]], s,
                                               limit)
        return radii

    def certified_robust_error(self, X, y, radii):
        """Return the fraction of points misclassified or certified at most each radius.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.
        y : array-like of shape (n_queries,)
            True labels.
        radii : float or array-like of shape (n_radii,)
            L2 radii, each >= 0.

        Returns
        -------
        ndarray of shape (n_radii,)
            The certified robust error at each radius: the fraction of points that are
            misclassified or whose certified radius is at most that radius.

        Raises
        ------
        ValueError
            If a radius is negative or not a number, or y has labels not among ``classes_``.

        See Also
        --------
        certified_radius : The radius of each point.
        robustdml.metrics.certified_accuracy_score : One minus this error, at one radius.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import CertifiedKNN
        >>> X, y = load_iris(return_X_y=True)
        >>> knn = CertifiedKNN(3).fit(X, y)
        >>> knn.certified_robust_error(X, y, radii=[0.0, 0.1]).round(3)
        array([0.04 , 0.053])
        """
        certified = self.certified_radius(X, y)
        radii = np.atleast_1d(np.asarray(radii, dtype=float))
        if radii.ndim != 1 or np.any(np.isnan(radii)) or np.any(radii < 0):
            raise ValueError(f"radii must be a list of numbers >= 0, got {radii}.")
        return (certified[None, :] <= radii[:, None]).mean(axis=1)


def _radius_limit(max_radius):
    limit = np.inf if max_radius is None else float(max_radius)
    if not limit >= 0:
        raise ValueError(f"max_radius must be a number >= 0, got {max_radius}.")
    return limit


def check_space(space):
    """Refuse a ``space`` that is not one of ``SPACES``, saying what each means."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {', '.join(map(repr, SPACES))}, got "
                         f"{space!r}: \"input\" measures radii in the units of the "
                         "pipeline's input, \"classifier\" in the space the CertifiedKNN "
                         "sees (after the pipeline's transforms).")


class _Space:
    """A fitted CertifiedKNN seen from the space a radius is measured in.

    ``classifier`` is the :class:`CertifiedKNN`, ``seen`` the queries as it sees them and
    ``input_map`` the ``(A, b)`` from the measuring space to its input (None: the same).
    """

    def __init__(self, estimator, X, space):
        check_space(space)
        steps = None
        if isinstance(estimator, Pipeline):
            steps, estimator = estimator[:-1], estimator.steps[-1][1]
        if not isinstance(estimator, CertifiedKNN):
            raise TypeError("Certified radii need a CertifiedKNN or a Pipeline ending in one; "
                            f"got {type(estimator).__name__}.")
        check_is_fitted(estimator)
        self.classifier, self.seen, self.input_map = estimator, X, None
        if steps is None or not steps.steps:
            return
        if space == "input" and sp.issparse(X):
            raise TypeError("Certified radii in input units need dense X; got a sparse "
                            "matrix. Pass X.toarray().")
        self.seen = steps.transform(X)
        if space == "input":
            X = np.asarray(X, dtype=float)
            self.input_map = compose(steps, X.shape[1], X=X)

    def geometry(self):
        """The classifier's certificate geometry for lengths in the measuring space."""
        geometry = self.classifier.geometry_
        return geometry if self.input_map is None else geometry.through(self.input_map[0])

    def training_points(self):
        """The classifier's training points in the measuring space: for a map that drops
        directions (PCA to fewer components), their projections onto the kept ones."""
        X_fit = self.classifier.X_fit_
        if self.input_map is None:
            return X_fit
        A, b = self.input_map
        return (X_fit - b) @ np.linalg.pinv(A).T


def certified_radius(estimator, X, y=None, *, space="input", max_radius=None):
    """Return the certified L2 radius of each prediction of a classifier or a pipeline.

    For a ``Pipeline`` of affine steps (scalers, PCA, LDA, linear metric learners) ending in
    a :class:`CertifiedKNN`, the radius is by default a length in the units of the
    pipeline's input: the steps compose to ``x -> A x + b`` and the metric to ``L A``, whose
    closed-form margins give the radius, exact for the composed map. A non-affine step
    (``Normalizer``, ``PolynomialFeatures``, ...) is refused; ``space="classifier"``
    measures in the space the classifier sees instead, after the pipeline's transforms.

    Parameters
    ----------
    estimator : CertifiedKNN or Pipeline
        A fitted :class:`CertifiedKNN`, or a fitted ``Pipeline`` ending in one.
    X : array-like of shape (n_queries, n_features)
        Query points, in the input space of ``estimator``.
    y : array-like of shape (n_queries,), default=None
        True labels: a misclassified point gets radius 0.
    space : {"input", "classifier"}, default="input"
        Where lengths are measured: in X's units, or after the pipeline's transforms (where
        the classifier works). The same for a bare :class:`CertifiedKNN`.
    max_radius : float >= 0, default=None
        Report ``min(radius, max_radius)``, faster (see
        :meth:`CertifiedKNN.certified_radius`).

    Returns
    -------
    ndarray of shape (n_queries,)
        The radius of each query: no perturbation of X's row of L2 norm below it (in the
        units of ``space``) changes the pipeline's prediction (and, with y, keeps it right).

    Raises
    ------
    ValueError
        If a step before the classifier is not affine with ``space="input"`` (the message
        names the step and says what to do), ``space`` is unknown, or y is invalid.
    TypeError
        If ``estimator`` is neither a :class:`CertifiedKNN` nor a ``Pipeline`` ending in
        one, or X is sparse with ``space="input"``.

    See Also
    --------
    robustdml.CertifiedKNN.certified_radius : The radius in the classifier's own input space.
    robustdml.knn_attack : Adversarial examples in the same units, bounding it from above.
    robustdml.metrics.certified_accuracy_score : The certified accuracy at a radius.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import CertifiedKNN, certified_radius
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), CertifiedKNN(3)).fit(X, y)
    >>> certified_radius(pipe, X[:3], y[:3]).round(3)  # in cm, X's units
    array([1.014, 0.599, 0.81 ])
    >>> certified_radius(pipe, X[:3], y[:3], space="classifier").round(3)  # in SDs
    array([1.388, 1.039, 1.305])
    """
    measured = _Space(estimator, X, space)
    knn = measured.classifier
    return knn._certify(measured.seen, y, _radius_limit(max_radius), measured.geometry())

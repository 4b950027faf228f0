"""Robust fine-tuning of any linear metric: the perturbation loss, kept near a given metric."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_array

from .._compat import HasMethods, Interval, StrOptions
from ..math import DriftPenalty, TripletObjective, build_triplets
from ._affine import affine_map
from ._learner import FitResult, MetricLearner, fill_shared_docs

#: Eigenvalues of a given M below this fraction of its largest are zero (rank deficiency);
#: below minus this fraction, M is not positive semi-definite.
PSD_RTOL = 1e-9


@fill_shared_docs
class RobustFineTuner(MetricLearner):
    r"""Make any linear metric robust: fine-tune it with the perturbation loss, near where it was.

    The base metric comes from another learner (scikit-learn's
    ``NeighborhoodComponentsAnalysis`` or ``LinearDiscriminantAnalysis``, ``PCA``,
    metric-learn's ITML or LSML, one of robustdml's learners, ...) or from a matrix. The
    fine-tuner then minimizes the perturbation loss of Yang et al. [1]_, which asks every
    triplet for an adversarial margin of at least tau, plus a penalty on M drifting from the
    base metric, over LMNN's triplets under the base metric. The result has ``transform``,
    ``components_``, the metric-learn surface, model files and
    :class:`~robustdml.CertifiedKNN` support like every robustdml learner.

    Parameters
    ----------
    base : estimator or array-like
        The metric to fine-tune. Either

        - an estimator exposing a linear map. ``fit`` fits a clone of it on the same X and
          y; to fine-tune an already fitted estimator as it is, wrap it in
          ``sklearn.frozen.FrozenEstimator`` (scikit-learn's convention for prefit
          estimators, which stays fitted when cloned, as in
          :class:`~robustdml.CertifiedKNN` or a grid search). Its map is its
          ``components_`` when it has ``get_mahalanobis_matrix()`` (metric-learn's and
          robustdml's learners; M itself, factorized, when it has no ``components_``);
          otherwise the linear part of its ``transform`` (PCA, LDA, scikit-learn's NCA,
          scalers, a pipeline of them; a non-linear transform is refused); otherwise its
          ``components_``;
        - an array, read as ``base_matrix`` says: a linear map L of shape
          (n_components, n_features), or a Mahalanobis matrix M of shape
          (n_features, n_features).

        Only the metric is kept: a translation in the base's ``transform`` (PCA's centering)
        does not change distances and is dropped.
    base_matrix : {"L", "M"}, default="L"
        How an array ``base`` is read: "L", a linear map L (the metric ``M = L^T L``, the
        learned space has its rows); "M", a symmetric positive semi-definite Mahalanobis
        matrix, factorized as ``M = L^T L`` with one row of L per positive eigenvalue (a
        rank-deficient M gives fewer rows than features). Only "L" applies to an estimator.
    n_neighbors : int, default=3
        The number k of targets of each point: its k nearest same-class points under the
        base metric.
    n_impostors : int, default=10
        The number v of impostors of each point: its v nearest other-class points under the
        base metric.
    {perturbation_weight}
    {perturbation_margin}
    drift_weight : float >= 0, default=0.1
        The weight w of the penalty on M drifting from the base metric ``M0``: moving M by
        ``||M0||_F`` costs ``w tau^2``. M then stays within
        ``sqrt(perturbation_weight / drift_weight) ||M0||_F`` of ``M0``; 0 leaves M free.
    {max_iter}
    {tol}
    {smoothing}
    {callback}
    {verbose}
    {random_state}

    Attributes
    ----------
    {components_}
    base_components_ : ndarray of shape (n_components, n_features)
        The base metric's linear map L0, where the fine-tuning started; ``M0 = L0^T L0``.
    {perturbation_margin_}
    {n_iter_}
    {objective_}
    n_triplets_ : int
        Number of triplets (0 when ``perturbation_weight`` is 0).
    initial_train_accuracy_ : float
        Leave-one-out k-NN accuracy (k: ``n_neighbors``) on the training data under the base
        metric.
    {train_accuracy_}
    {n_features_in_}
    {feature_names_in_}

    See Also
    --------
    LMNN : LMNN with the perturbation loss, which learns the metric and its robustness at once.
    robustdml.CertifiedKNN : The k-NN classifier under a learned metric, with certified radii.

    Notes
    -----
    With the base's linear map :math:`L_0` (:math:`M_0 = L_0^\top L_0`) and the triplets
    T (each point, its k nearest same-class and its v nearest other-class points under
    :math:`M_0`, chosen once), the fine-tuner minimizes over :math:`L` with the rows of
    :math:`L_0`, from :math:`L_0`,

    .. math::

        \frac{\lambda}{|T|} \sum_{(i, j, l) \in T} [\tau^2 - m_{ijl}(M)^2]_+
        + w \, \tau^2 \frac{\|M - M_0\|_F^2}{\|M_0\|_F^2}

    where :math:`m_{ijl}` is the adversarial margin (:doc:`/user_guide/method`). The margin
    does not change when M is scaled, so only the penalty sets M's size. Since the first term
    is at most :math:`\lambda \tau^2`, the minimizer has
    :math:`\|M - M_0\|_F \le \sqrt{\lambda / w} \, \|M_0\|_F`: ``drift_weight`` bounds how
    far the metric moves, whatever the data.

    The solver is L-BFGS from :math:`L_0`, whose rows set the learned dimension: unlike the
    other learners, the fine-tuner has no ``solver``, ``init`` or ``n_components`` parameter
    (its read-only ``solver`` is always "lbfgs").

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.neighbors import NeighborhoodComponentsAnalysis
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import RobustFineTuner
    >>> X, y = load_wine(return_X_y=True)
    >>> tuner = RobustFineTuner(NeighborhoodComponentsAnalysis(random_state=0),
    ...                         perturbation_margin=0.5)
    >>> model = make_pipeline(StandardScaler(), tuner).fit(X, y)
    >>> model.transform(X).shape
    (178, 13)
    """

    _parameter_constraints: dict = {
        **{name: constraint for name, constraint in MetricLearner._parameter_constraints.items()
           if name not in ("solver", "n_components", "init")},
        "base": [HasMethods(["fit"]), "array-like"],
        "base_matrix": [StrOptions({"L", "M"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "drift_weight": [Interval(Real, 0, None, closed="left")],
    }

    _saved_attributes = (*MetricLearner._saved_attributes, "base_components_")

    #: ``perturbation_margin="auto"``'s fraction of the data scale: the better of the two that
    #: ``benchmarks/finetune.py`` measured (0.2 and 0.3; :doc:`/user_guide/finetuning`).
    AUTO_MARGIN_FRACTION = 0.2

    _worse_advice = ("Raise drift_weight, lower perturbation_weight or perturbation_margin, or "
                     "keep the base metric.")

    def __init__(self, base, *, base_matrix="L", n_neighbors=3, n_impostors=10,
                 perturbation_weight=1.0, perturbation_margin="auto", drift_weight=0.1,
                 max_iter=1000, tol=None, smoothing=0.5, callback=None, verbose=0,
                 random_state=None):
        # stores exactly its own parameters: MetricLearner.__init__ would also store solver,
        # n_components and init, which are not the fine-tuner's (see the solver property)
        self.base = base
        self.base_matrix = base_matrix
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors
        self.perturbation_weight = perturbation_weight
        self.perturbation_margin = perturbation_margin
        self.drift_weight = drift_weight
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.callback = callback
        self.verbose = verbose
        self.random_state = random_state

    @property
    def solver(self):
        """The solver, always "lbfgs": L-BFGS on L, from the base's map (not a parameter).

        See Also
        --------
        LMNN : Takes ``solver="pgd"`` and an ``init`` array, such as a base's map.

        Examples
        --------
        >>> from robustdml import NCA, RobustFineTuner
        >>> RobustFineTuner(NCA()).solver
        'lbfgs'
        """
        return "lbfgs"

    @solver.setter
    def solver(self, value):
        # an instance attribute would silently change the fit and be lost by clone
        raise AttributeError(
            f"RobustFineTuner has no solver parameter (got {value!r}): it always runs L-BFGS "
            "from the base's map. For the pgd solver, fit LMNN(solver='pgd', "
            "perturbation_weight=..., init=base_components) instead.")

    @property
    def _accuracy_neighbors(self):
        return self.n_neighbors

    def _initial_components(self, X, y=None):
        """The base metric's L, from the array ``base`` or a fitted clone of the estimator."""
        n_features = X.shape[1]
        if hasattr(self.base, "fit"):
            if self.base_matrix != "L":
                raise ValueError(f"base_matrix={self.base_matrix!r} applies to an array base; "
                                 f"base is a {type(self.base).__name__}, whose linear map is "
                                 "read from the estimator. Leave base_matrix='L'.")
            L0 = _linear_map(clone(self.base).fit(X, y), X)
        else:
            matrix = check_array(self.base, dtype=float, ensure_min_samples=1,
                                 input_name="base")
            L0 = (_components_from_mahalanobis(matrix) if self.base_matrix == "M"
                  else matrix)
        if L0.ndim != 2 or L0.shape[1] != n_features:
            raise ValueError(f"The base metric's L has shape {np.shape(L0)}; X has {n_features} "
                             f"features, so L needs shape (n_components, {n_features}) (an M: "
                             f"({n_features}, {n_features})). Give a base for X's features.")
        if not np.any(L0):
            raise ValueError("The base metric is zero: every distance under it is 0, so it "
                             "has no triplets to fine-tune. Pass a non-zero metric.")
        return np.array(L0, dtype=float)

    def _fit_metric(self, X, y, initial_components):
        L0 = initial_components
        self.base_components_ = L0
        objective = self._objective(X, y, L0)
        if objective is None:  # nothing to gain: the base metric is the optimum
            return FitResult(L0.copy(), 0, True, [], "perturbation_weight=0 keeps the base",
                             0.0)
        return self._minimize(objective, L0, len(X))

    def _objective(self, X, y, L0):
        """The objective of the Notes for the base metric's L0 (None without a perturbation
        loss): the perturbation loss on triplets chosen under L0, and the drift penalty."""
        losses = self.perturbation_losses()
        if not losses:
            return None
        triplets = build_triplets(X @ L0.T, y, self.n_neighbors, self.n_impostors)
        objective = TripletObjective(X, triplets, losses, smoothing=self._solver_smoothing)
        if self.drift_weight > 0:
            # scale tau^2, the perturbation loss's per-triplet ceiling: the drift bound of the
            # Notes then holds on every data set
            objective.losses.append(DriftPenalty(self.drift_weight, L0.T @ L0,
                                                     scale=losses[0].margin ** 2))
        return objective


def _linear_map(estimator, X):
    """The linear map L of a fitted estimator's metric, shape (n_components, n_features).

    Parameters
    ----------
    estimator : estimator
        Fitted; exposes ``get_mahalanobis_matrix()`` (with or without ``components_``), a
        linear ``transform``, or ``components_``, tried in that order.
    X : ndarray of shape (n_samples, n_features)
        The training points, on which a ``transform`` is checked to be affine.

    Returns
    -------
    ndarray of shape (n_components, n_features)
        L, such that the estimator's distance is ``||L (a - b)||``.

    Raises
    ------
    ValueError
        If its ``transform`` is not affine.
    TypeError
        If the estimator exposes none of them.
    """
    name = type(estimator).__name__
    if hasattr(estimator, "get_mahalanobis_matrix"):
        components = getattr(estimator, "components_", None)
        if components is not None:
            return np.asarray(components, dtype=float)
        return _components_from_mahalanobis(np.asarray(estimator.get_mahalanobis_matrix(),
                                                      dtype=float))
    if hasattr(estimator, "transform"):
        try:
            return affine_map(estimator, X.shape[1], X=X)[0]
        except ValueError as error:
            raise ValueError(
                f"base ({name}) is not a linear metric: its transform is not affine "
                "(x -> A x + b), so there is no Mahalanobis matrix to fine-tune. Put the "
                "non-linear step before RobustFineTuner in a pipeline, with a linear base "
                f"after it. ({error})") from error
    if hasattr(estimator, "components_"):
        return np.asarray(estimator.components_, dtype=float)
    raise TypeError(f"base ({name}) exposes no linear map: give an estimator with "
                    "components_, get_mahalanobis_matrix() or a linear transform, or an "
                    "array L or M.")


def _components_from_mahalanobis(M):
    """Factorize a symmetric positive semi-definite M as ``L^T L``, one row per positive
    eigenvalue.

    Parameters
    ----------
    M : ndarray of shape (n_features, n_features)
        The Mahalanobis matrix.

    Returns
    -------
    ndarray of shape (rank, n_features)
        ``L = sqrt(D) V^T`` over the eigenvalues above ``PSD_RTOL`` times the largest,
        largest first.

    Raises
    ------
    ValueError
        If M is not square, not symmetric, or has an eigenvalue below ``-PSD_RTOL`` times
        its largest.
    """
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"A Mahalanobis matrix M is square, of shape (n_features, "
                         f"n_features); got shape {M.shape}. For a linear map L of shape "
                         "(n_components, n_features), pass base_matrix='L'.")
    size = np.max(np.abs(M))
    if not np.allclose(M, M.T, rtol=1e-8, atol=1e-12 * size):
        raise ValueError(f"M is not symmetric (largest |M - M^T| is "
                         f"{np.max(np.abs(M - M.T)):.3g}, with |M| up to {size:.3g}); a "
                         "Mahalanobis matrix is. Pass (M + M.T) / 2 if the asymmetry is "
                         "rounding.")
    eigenvalues, vectors = np.linalg.eigh(0.5 * (M + M.T))
    tolerance = PSD_RTOL * max(eigenvalues[-1], 0.0)
    if eigenvalues[0] < -tolerance:
        raise ValueError(f"M is not positive semi-definite: its smallest eigenvalue is "
                         f"{eigenvalues[0]:.3g} (largest {eigenvalues[-1]:.3g}), so it gives "
                         "some pairs a negative squared distance. Pass a PSD M, e.g. with the "
                         "negative eigenvalues set to 0 if they are numerical noise.")
    keep = eigenvalues > tolerance
    return (np.sqrt(eigenvalues[keep])[:, None] * vectors[:, keep].T)[::-1]

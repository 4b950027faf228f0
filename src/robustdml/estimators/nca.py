"""Neighborhood components analysis, optionally with the perturbation loss (NCA-PL)."""

from numbers import Integral

import numpy as np

from .._compat import Interval
from ..math import ActiveTriplets, TripletObjective, TripletSet
from ..math.nca import NCALoss
from ._learner import MetricLearner, fill_shared_docs


@fill_shared_docs
class NCA(MetricLearner):
    r"""Neighborhood components analysis, with the perturbation loss (NCA-PL).

    NCA [2]_ maximizes the expected leave-one-out accuracy of a stochastic nearest-neighbor
    rule; with ``perturbation_weight > 0`` the perturbation loss of Yang et al. [1]_ asks
    every triplet for an adversarial margin of at least tau. With ``perturbation_weight=0``
    this is scikit-learn's ``NeighborhoodComponentsAnalysis`` (same objective up to the factor
    1/n, same defaults ``max_iter=50`` and ``tol=1e-5``, same ``init="auto"`` rule,
    ``warm_start`` and callback), with memory bounded by blocks of rows instead of an n x n
    matrix. Its first positional parameter is ``n_neighbors``, scikit-learn's is
    ``n_components``: pass that one by name.

    Parameters
    ----------
    {n_components}
    n_neighbors : int, default=3
        The number k of targets of the perturbation loss's triplets (and the k of the training
        accuracy reported).
    n_impostors : int, default=10
        The number v of impostors per point of the perturbation loss's triplets.
    {perturbation_weight}
    {perturbation_margin}
    {solver}
    init : {"auto", "identity", "pca", "lda", "random"} or ndarray, default="auto"
        The initial L. "auto" chooses as scikit-learn's NCA does: "lda" when ``n_components <=
        min(n_features, n_classes - 1)``, otherwise "pca" when ``n_components < min(n_features,
        n_samples)``, otherwise "identity" (pgd: always the identity). "lda" takes the
        discriminant directions of scikit-learn's ``LinearDiscriminantAnalysis``, then PCA's;
        "random" a standard normal draw seeded by ``random_state``; an array of shape
        (n_components, n_features) is used as it is.
    warm_start : bool, default=False
        When True and the learner was fitted before, ``fit`` starts from the previous
        ``components_`` (``n_components`` and ``init`` are then ignored), as scikit-learn's NCA
        does; X must have as many features as before.
    {max_iter}
    {tol}
    {smoothing}
    callback : callable or None, default=None
        Called after every iteration as ``callback(L, n_iter)`` with the current L flattened
        row by row, as scikit-learn's NCA passes it (the other learners pass the matrix), and
        the number of iterations run.
    {verbose}
    {random_state}

    Attributes
    ----------
    {components_}
    {n_iter_}
    {objective_}
    n_triplets_ : int
        Triplets of the perturbation loss at the learned metric (0 without it).
    {initial_train_accuracy_}
    {train_accuracy_}
    {n_features_in_}
    {feature_names_in_}

    See Also
    --------
    LMNN : Large-margin nearest neighbors, with the perturbation loss.
    ARML : Adversarially robust metric learning.
    sklearn.neighbors.NeighborhoodComponentsAnalysis : Scikit-learn's NCA.

    Notes
    -----
    NCA-PL minimizes over :math:`M = L^\top L`

    .. math::

        -\frac{1}{n} \sum_i p_i
        + \frac{\lambda}{v |B|} \sum_{(i, j, l) \in T} [\tau^2 - m_{ijl}(M)^2]_+

    where :math:`p_i` is the probability that the stochastic neighbor rule (point i picks
    :math:`j \neq i` with probability :math:`\mathrm{softmax}_j(-d_M^2(x_i, x_j))`) gives i
    its own class, and the triplets T are those of ``LMNN()``: each point's ``n_neighbors``
    nearest same-class points, each with the point's ``n_impostors`` nearest other-class
    points under the current metric.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.
    .. [2] J. Goldberger, S. Roweis, G. Hinton and R. Salakhutdinov, "Neighbourhood Components
       Analysis", Advances in Neural Information Processing Systems 17, 2004.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import NCA
    >>> X, y = load_wine(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NCA(perturbation_weight=1.0)).fit(X, y)
    >>> model.transform(X).shape
    (178, 13)
    """

    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-5}

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
    }

    #: scikit-learn's NCA calls back with L flattened.
    _flat_callback = True

    # n_components first, as in scikit-learn's NeighborhoodComponentsAnalysis: NCA(2) means
    # the same in both
    def __init__(self, n_components=None, *, n_neighbors=3, n_impostors=10,
                 perturbation_weight=0.0, perturbation_margin=0.1, solver="lbfgs", init="auto",
                 warm_start=False, max_iter=50, tol=None, smoothing=0.5, callback=None,
                 verbose=0, random_state=None):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors
        self.warm_start = warm_start

    def _auto_init(self, X, y, n_components):
        """scikit-learn's NCA rule: the labels' discriminant directions when they are enough,
        else the leading principal ones when they reduce the dimension, else the identity (pgd
        keeps the reference's start, M = I)."""
        if self.solver == "pgd":
            return super()._auto_init(X, y, n_components)
        n_samples, n_features = X.shape
        if n_components <= min(n_features, np.unique(y).size - 1):
            return "lda"
        if n_components < min(n_features, n_samples):
            return "pca"
        return "identity"

    def _initial_components(self, X, y=None):
        """The previous ``components_`` when ``warm_start`` asks to continue, else ``init``'s."""
        if self.warm_start and hasattr(self, "components_"):
            if self.components_.shape[1] != X.shape[1]:
                raise ValueError(
                    f"warm_start=True continues from the previous fit, whose components_ take "
                    f"{self.components_.shape[1]} features; X has {X.shape[1]}. Fit on data "
                    f"with the same features or set warm_start=False.")
            return self.components_
        return super()._initial_components(X, y)

    @property
    def _accuracy_neighbors(self):
        return self.n_neighbors

    def _fit_metric(self, X, y, initial_components):
        perturbation = self.perturbation_losses()
        if perturbation:
            triplets = ActiveTriplets(X, y, self.n_neighbors, self.n_impostors, perturbation,
                                      nearest_only=True, random_state=self.random_state)
        else:  # the NCA term sums over all pairs itself
            triplets = TripletSet.from_indices([], [], [], len(X))
        labels = np.unique(y, return_inverse=True)[1]
        objective = TripletObjective(X, triplets, [NCALoss(labels), *perturbation],
                                     smoothing=self._solver_smoothing)
        return self._minimize(objective, initial_components, len(X))

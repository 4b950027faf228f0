"""Neighbourhood components analysis, optionally with the perturbation loss (NCA-PL)."""

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
    1/n, same defaults ``max_iter=50`` and ``tol=1e-5``), with memory bounded by blocks of
    rows instead of an n x n matrix.

    Parameters
    ----------
    n_neighbors : int, default=3
        The number k of targets of the perturbation loss's triplets (and the k of the training
        accuracy reported).
    n_impostors : int, default=10
        The number v of impostors per point of the perturbation loss's triplets.
    {perturbation_weight}
    {perturbation_margin}
    {solver}
    {n_components}
    {init}
    {max_iter}
    {tol}
    {smoothing}
    {callback}
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
    }

    def __init__(self, n_neighbors=3, *, n_impostors=10, perturbation_weight=0.0,
                 perturbation_margin=0.1, solver="lbfgs", n_components=None, init="auto",
                 max_iter=50, tol=None, smoothing=0.5, callback=None, verbose=0,
                 random_state=None):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors

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

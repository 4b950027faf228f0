"""Neighbourhood components analysis, optionally with the perturbation loss (NCA-PL)."""

from numbers import Integral

import numpy as np

from .._compat import Interval
from ..math import ActiveTriplets, TripletObjective, TripletSet
from ..math.nca import NCALoss
from ._learner import MetricLearner


class NCA(MetricLearner):
    """Neighbourhood components analysis (Goldberger et al., 2004), with the perturbation loss
    of Yang et al. ("Towards Certified Robustness of Distance Metric Learning") when
    ``perturbation_weight > 0``.

    Minimises over ``M = L^T L``::

        -(1/n) sum_i p_i  +  lambda/(v |B|) sum_T [tau^2 - m_ijl(M)^2]_+

    where ``p_i`` is the probability that the stochastic neighbour rule (point i picks j != i
    with probability ``softmax_j(-d2_M(x_i, x_j))``) gives i its own class, and the triplets T
    are those of ``LMNN()``: each point's ``n_neighbors`` nearest same-class points, each with
    the point's ``n_impostors`` nearest other-class points under the current metric.

    With ``perturbation_weight=0`` this is scikit-learn's ``NeighborhoodComponentsAnalysis``
    (same objective up to the factor 1/n, same defaults ``max_iter=50``, ``tol=1e-5``), with
    memory bounded by blocks of rows instead of an n x n matrix.

    Parameters
    ----------
    n_neighbors : int, default=3
        k, the targets of the perturbation loss's triplets (and the k of the training accuracy
        reported).
    n_impostors : int, default=10
        v, impostors per point of the perturbation loss's triplets.
    perturbation_weight : float >= 0, default=0.0
        lambda; 0 gives plain NCA.
    perturbation_margin : float > 0, default=0.1
        tau, in the units of the input features (a fraction of
        ``robustdml.metrics.data_scale(X, y)``, as for LMNN).
    solver : {"lbfgs", "pgd"}, default="lbfgs"
    n_components : int, default=None
    init : {"auto", "identity", "pca", "lda", "random"} or ndarray, default="auto"
        "auto" is the identity unless ``n_components`` reduces, then PCA.
    max_iter : int, default=50
    tol : float, default=1e-5
        L-BFGS-B stops when an iteration decreases the objective by less than
        ``tol * max(|f|, 1)``.
    smoothing : float >= 0, default=0.5
        lbfgs: width of the quadratic smoothing of the perturbation hinge (units of tau^2).
    callback, verbose, random_state
        As :class:`robustdml.LMNN`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    n_iter_ : int
    objective_ : ndarray
    n_triplets_ : int
        Triplets of the perturbation loss at the learned metric (0 without it).
    initial_train_accuracy_, train_accuracy_ : float
        Leave-one-out ``n_neighbors``-NN accuracy on the training data, before and after.

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

    def _fit_metric(self, X, y, L0):
        perturbation = self.perturbation_losses()
        if perturbation:
            triplets = ActiveTriplets(X, y, self.n_neighbors, self.n_impostors, perturbation,
                                      nearest_only=True, random_state=self.random_state)
        else:  # the NCA term sums over all pairs itself
            triplets = TripletSet.from_indices([], [], [], len(X))
        labels = np.unique(y, return_inverse=True)[1]
        objective = TripletObjective(X, triplets, [NCALoss(labels), *perturbation],
                                     smoothing=self._solver_smoothing)
        return self._minimise(objective, L0, len(X)), triplets, L0

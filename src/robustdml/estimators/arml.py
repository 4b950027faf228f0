"""ARML, the robust peer (Wang et al., "Provably Robust Metric Learning", NeurIPS 2020), on the
adversarial-margin primitive."""

import time
from numbers import Integral

from .._compat import Interval
from ..math import SignedMarginLoss, TripletObjective, build_triplets
from ._learner import FitResult, MetricLearner, fill_shared_docs


@fill_shared_docs
class ARML(MetricLearner):
    r"""Adversarially robust metric learning: maximize the mean signed adversarial margin.

    ARML [2]_ is the robust peer of LMNN-PL [1]_. For every training point z, with x one of
    its ``n_neighbors`` nearest same-class points and y one of its ``n_impostors`` nearest
    other-class points under the current metric, the signed margin
    :math:`(d_M^2(z, y) - d_M^2(z, x)) / (2 \|M (x - y)\|)` is the distance from z to where y
    becomes as close as x (negative when y already is); ARML maximizes its mean. Unlike
    LMNN-PL it has no pull, no hinge and no target margin: every triplet's margin keeps being
    pushed up, violated ones the hardest, so there is no tau to choose.
    ``perturbation_weight > 0`` adds the perturbation loss to it.

    Parameters
    ----------
    n_neighbors : int, default=10
        Same-class neighbors x per point.
    n_impostors : int, default=10
        Other-class neighbors y per point.
    max_rounds : int, default=3
        The most neighbor searches, each followed by an L-BFGS run; fewer when the
        neighbors stop changing or return to an earlier set. ``max_iter`` bounds the
        iterations of all rounds together.
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
    n_rounds_ : int
        Neighbor searches run.
    objective_ : ndarray of shape (n_values,)
        The objective after each iteration (each round's on its own triplets).
    n_triplets_ : int
        Triplets of the last round.
    {initial_train_accuracy_}
    {train_accuracy_}
    {n_features_in_}
    {feature_names_in_}

    See Also
    --------
    LMNN : LMNN with the perturbation loss, which asks each margin for tau only.
    robustdml.math.SignedMarginLoss : The objective's term.

    Notes
    -----
    The reference draws one (x, y) per point at random in each of 1,000 full-batch Adam
    epochs from the identity, recomputing all pairwise distances every epoch. This
    implementation minimizes the expectation of that draw, the mean over all k x v triplets
    of each point, with L-BFGS on fixed neighbors, and searches the neighbors again only
    when a run has converged: the same fit without a distance matrix per epoch. The
    training accuracies are leave-one-out 3-NN.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.
    .. [2] L. Wang, X. Liu, J. Yi, Y. Jiang and C.-J. Hsieh, "Provably Robust Metric
       Learning", Advances in Neural Information Processing Systems 33, 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import ARML, CertifiedKNN
    >>> X, y = load_wine(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> knn = CertifiedKNN(3, ARML()).fit(X, y)
    >>> bool(knn.score(X, y) > 0.9)
    True
    """

    #: lbfgs: the signed margin does not change along the ray c L, so the objective is flat
    #: near its optimum and a tighter tolerance costs iterations without changing the fit
    #: (docs/user_guide/hyperparameters.md).
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-4}

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, n_neighbors=10, *, n_impostors=10, max_rounds=3, perturbation_weight=0.0,
                 perturbation_margin=0.1, solver="lbfgs", n_components=None, init="auto",
                 max_iter=1000, tol=None, smoothing=0.5, callback=None, verbose=0,
                 random_state=None):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors
        self.max_rounds = max_rounds

    _saved_attributes = (*MetricLearner._saved_attributes, "n_rounds_")

    def _fit_metric(self, X, y, initial_components):
        losses = [SignedMarginLoss(), *self.perturbation_losses()]
        smoothing = self._solver_smoothing
        report = self._progress_reporter(time.perf_counter())
        L, n_iter, values, seen, seconds = initial_components, 0, [], set(), 0.0
        for round_ in range(1, self.max_rounds + 1):
            # neighbors under the current metric: Euclidean in the embedded space
            triplets = build_triplets(X @ L.T, y, self.n_neighbors, self.n_impostors)
            key = hash((triplets.pull_pairs.tobytes(), triplets.push_pairs.tobytes()))
            # stop at a fixed point, or when the neighbors come back to an earlier set (they
            # can alternate between two: the fits then alternate too)
            if key in seen or n_iter >= self.max_iter:
                break
            seen.add(key)
            result = self._minimize(TripletObjective(X, triplets, losses, smoothing), L, len(X),
                                    report=report, max_iter=self.max_iter - n_iter)
            L, n_iter, seconds = result.components, n_iter + result.n_iter, seconds + result.seconds
            values += result.objective
        self.n_rounds_ = round_
        # the last run's convergence, over every round's iterations
        return FitResult(L, n_iter, result.converged, values, result.message, seconds,
                         triplets.n_triplets)

    def _summary(self):
        return f"; {self.n_triplets_} triplets, {self.n_rounds_} neighbor searches"

"""Large-margin nearest neighbours, optionally with the perturbation loss (LMNN-PL)."""

from numbers import Integral, Real

import time

import numpy as np

from .._compat import Interval, StrOptions
from ..math import ActiveTriplets, LMNNLoss, TripletObjective, build_triplets
from ._learner import FitResult, MetricLearner, fill_shared_docs


@fill_shared_docs
class LMNN(MetricLearner):
    r"""Large-margin nearest neighbor metric learning, with the perturbation loss (LMNN-PL).

    With ``perturbation_weight=0`` this is LMNN [2]_; with ``perturbation_weight > 0`` it adds
    the perturbation loss of Yang et al. [1]_, which asks every triplet for an adversarial
    margin of at least tau, so that the k-NN classifier under the learned metric has larger
    certified radii. The objective is in the Notes; :doc:`/user_guide/method` derives it and
    :doc:`/user_guide/hyperparameters` says how to choose the parameters.

    Parameters
    ----------
    n_neighbors : int, default=3
        The number k of targets of each point: its k nearest same-class points by Euclidean
        distance.
        A class with at most k points uses all its other points.
    n_impostors : int, default=10
        The number v of impostors per point ("nearest", "fixed"); with "active", the normaliser
        ``v |B|`` of the sums over triplets.
    {pull_weight}
    {perturbation_weight}
    {perturbation_margin}
    impostors : {"nearest", "fixed", "active"}, default="nearest"
        Which triplets the objective sums over. "nearest": each point's v nearest
        other-class points under the current metric, chosen again as the solver moves (no
        point can be pulled in unpenalised, and each weighs at most k v triplets). "fixed"
        (the paper's): its v nearest other-class points in the input space, chosen once.
        "active" (standard LMNN's full objective): every other-class point inside a target's
        margin, or with an adversarial margin below tau, under the current metric. See
        :doc:`/user_guide/active_impostors`. The "followed impostors" entry of ``DEFAULT_TOL``
        applies to "nearest" and "active".
    max_triplets : int, default=2_000_000
        "nearest" and "active": above this many candidate triplets, a fixed pseudo-random
        subset of the (anchor, impostor) pairs stands for all of them, with a warning (about
        150 bytes per triplet).
    {regularisation}
    {solver}
    {n_components}
    {init}
    {max_iter}
    {tol}
    {smoothing}
    {callback}
    {verbose}
    {random_state}
    n_passes : int, default=1
        Passes of Weinberger and Saul's multi-pass LMNN: each pass after the first chooses
        the targets (and, with "fixed", the impostors) again under the metric learned so far
        and minimizes again from it, with the drift penalty towards that metric. Passes stop
        early when the triplets no longer change. Each pass may run ``max_iter`` iterations;
        a later pass stops at the same absolute decrease of the objective per iteration as
        the first (L-BFGS's ``tol`` is relative to the value where a run starts, which a
        fitted metric has lowered).

    Attributes
    ----------
    {components_}
    n_iter_ : int
        Iterations run, summed over the passes.
    objective_ : ndarray of shape (n_values,)
        The objective after each iteration, pass after pass (each pass has its own triplets).
    n_triplets_ : int
        Number of triplets at the learned metric.
    n_passes_ : int
        Passes run (fewer than ``n_passes`` when the triplets stopped changing).
    n_iter_per_pass_ : ndarray of shape (n_passes_,)
        Iterations of each pass.
    seconds_per_pass_ : ndarray of shape (n_passes_,)
        Wall-clock time of each pass: choosing its triplets and minimizing.
    targets_changed_per_pass_ : ndarray of shape (n_passes_,)
        Fraction of the (point, target) pairs that each pass chose anew under the metric of
        the pass before (NaN for the first pass).
    {initial_train_accuracy_}
    {train_accuracy_}
    {n_features_in_}
    {feature_names_in_}

    See Also
    --------
    NCA : Neighborhood components analysis, with the perturbation loss.
    ARML : Adversarially robust metric learning, the robust peer.
    TripletLMNN : The same objective on triplet constraints instead of labels.
    robustdml.CertifiedKNN : The k-NN classifier under a learned metric, with certified radii.

    Notes
    -----
    LMNN-PL minimizes over positive semi-definite :math:`M = L^\top L`

    .. math::

        \frac{\mu}{|B|} \sum_{(i, j) \in B} d_M^2(x_i, x_j)
        + \frac{1 - \mu}{|T|} \sum_{(i, j, l) \in T} [1 + d_M^2(x_i, x_j) - d_M^2(x_i, x_l)]_+
        + \frac{\lambda}{|T|} \sum_{(i, j, l) \in T} [\tau^2 - m_{ijl}(M)^2]_+
        + r \, g(M_0) \frac{\|M - M_0\|_F^2}{\|M_0\|_F^2}

    where B are the (point, target) pairs, T the triplets (point, target, impostor),
    :math:`m_{ijl}` the adversarial margin (the L2 distance from :math:`x_i` to its closest
    input that is as close to :math:`x_l` as to :math:`x_j`), :math:`M_0` the starting
    metric and :math:`g(M_0)` the LMNN terms at the start. The sums over T are divided by
    ``v |B|`` in every impostor mode (``|T|`` for "fixed", equal when every class is large
    enough), so mu, lambda and tau mean the same in each. With "nearest" and "active" the
    solver starts from the initial L rescaled to minimize the LMNN terms along its ray.

    References
    ----------
    .. [1] X. Yang, Y. Guo, M. Dong and J.-H. Xue, "Towards Certified Robustness of Distance
       Metric Learning", arXiv:2006.05945, 2020.
    .. [2] K. Q. Weinberger and L. K. Saul, "Distance Metric Learning for Large Margin Nearest
       Neighbor Classification", Journal of Machine Learning Research, 10:207-244, 2009.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import LMNN
    >>> X, y = load_wine(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LMNN(perturbation_weight=1.0)).fit(X, y)
    >>> model.transform(X).shape
    (178, 13)
    """

    #: Tolerance of each solver when ``tol=None``. With followed impostors a tighter one costs
    #: iterations for no accuracy (docs/user_guide/hyperparameters.md).
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6, "lbfgs, followed impostors": 1e-5}

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "pull_weight": [Interval(Real, 0, 1, closed="both")],
        "impostors": [StrOptions({"fixed", "nearest", "active"})],
        "max_triplets": [Interval(Integral, 1, None, closed="left")],
        "regularisation": [Interval(Real, 0, None, closed="left")],
        "n_passes": [Interval(Integral, 1, None, closed="left")],
    }

    _saved_attributes = (*MetricLearner._saved_attributes, "n_passes_", "n_iter_per_pass_",
                         "seconds_per_pass_", "targets_changed_per_pass_")

    _metric_learn_arguments: dict = {
        **MetricLearner._metric_learn_arguments,
        "k": lambda value, arguments: f"pass n_neighbors={value!r}",
        "regularization": lambda value, arguments: _pull_weight_advice(value, arguments),
        "convergence_tol": lambda value, arguments: (
            f"pass tol={value!r} (L-BFGS's relative decrease of the objective)"),
        "learn_rate": lambda value, arguments: "drop it: L-BFGS needs no step size",
        "min_iter": lambda value, arguments: (
            "drop it: L-BFGS needs no minimum number of iterations"),
    }

    def __init__(self, n_neighbors=3, *, n_impostors=10, pull_weight=0.25,
                 perturbation_weight=0.0, perturbation_margin=0.1, impostors="nearest",
                 max_triplets=2_000_000, regularisation=0.1, solver="lbfgs",
                 n_components=None, init="auto", max_iter=1000, tol=None, smoothing=0.5,
                 callback=None, verbose=0, random_state=None, n_passes=1):
        super().__init__(perturbation_weight=perturbation_weight,
                         perturbation_margin=perturbation_margin, solver=solver,
                         n_components=n_components, init=init, max_iter=max_iter, tol=tol,
                         smoothing=smoothing, callback=callback, verbose=verbose,
                         random_state=random_state)
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors
        self.pull_weight = pull_weight
        self.impostors = impostors
        self.max_triplets = max_triplets
        self.regularisation = regularisation
        self.n_passes = n_passes

    def losses(self):
        """Return the terms of the objective: LMNN's, then the perturbation loss if weighted.

        Returns
        -------
        list of TripletLoss
            ``LMNNLoss(pull_weight)``, followed by :meth:`perturbation_losses`.

        See Also
        --------
        robustdml.LMNNLoss : LMNN's pull and push terms.
        robustdml.PerturbationLoss : The perturbation loss.

        Examples
        --------
        >>> from robustdml import LMNN
        >>> [type(loss).__name__ for loss in LMNN(perturbation_weight=1.0).losses()]
        ['LMNNLoss', 'PerturbationLoss']
        """
        return [LMNNLoss(self.pull_weight), *self.perturbation_losses()]

    _worse_advice = ("Lower pull_weight, raise regularisation, use impostors='nearest' (the "
                     "default), or keep the starting metric.")

    @property
    def _accuracy_neighbors(self):
        return self.n_neighbors

    def _fit_metric(self, X, y, initial_components):
        n_passes = self.n_passes
        started = time.perf_counter()
        report = self._progress_reporter(started) if n_passes > 1 else None
        objective, L0 = self._objective(X, y, initial_components)
        # later passes stop at the first pass's absolute decrease per iteration (_pass_tol)
        first_value = objective.value_and_gradient_M(L0)[0] if n_passes > 1 else None
        result = self._minimize(objective, L0, len(X), report=report)
        passes = [(result.n_iter, time.perf_counter() - started, np.nan)]
        values = list(result.objective)
        for _ in range(1, n_passes):
            started = time.perf_counter()
            L, previous = result.components, objective.triplets
            objective, _ = self._objective(X, y, L, learned=True)
            changed = _changed_fraction(previous.pull_pairs, objective.triplets.pull_pairs)
            if changed == 0 and (self.impostors != "fixed" or _changed_fraction(
                    previous.push_pairs, objective.triplets.push_pairs) == 0):
                break  # the same triplets: the next pass would start at its optimum
            tol = self._pass_tol(first_value, objective.value_and_gradient_M(L)[0])
            result = self._minimize(objective, L, len(X), report=report, tol=tol)
            passes.append((result.n_iter, time.perf_counter() - started, changed))
            values += result.objective
            if self.verbose:
                print(f"[LMNN] pass {len(passes)}: {changed:.1%} of the targets chosen anew, "
                      f"{result.n_iter} iterations, {passes[-1][1]:.2f} s")
        self.n_iter_per_pass_, self.seconds_per_pass_, self.targets_changed_per_pass_ = (
            np.array(column) for column in zip(*passes))
        self.n_passes_ = len(passes)
        return FitResult(result.components, int(self.n_iter_per_pass_.sum()),
                         result.converged, values, result.message,
                         float(self.seconds_per_pass_.sum()), result.n_triplets)

    def _objective(self, X, y, L, learned=False):
        """The objective of one pass and its starting L: triplets whose targets (and fixed
        impostors) are chosen under ``L`` when ``learned``, by Euclidean distance in X (the
        first pass) otherwise."""
        losses = self.losses()
        space = X @ L.T if learned else X
        if self.impostors == "fixed":
            triplets = build_triplets(space, y, self.n_neighbors, self.n_impostors)
        else:
            nearest = self.impostors == "nearest"
            triplets = ActiveTriplets(X, y, self.n_neighbors, self.n_impostors, losses,
                                      nearest_only=nearest, max_triplets=self.max_triplets,
                                      random_state=self.random_state,
                                      target_space=space if learned else None)
            if not learned and not isinstance(self.init, np.ndarray):
                L = L * triplets.best_scale(
                    L, self.pull_weight,
                    self.n_impostors if nearest else max(self.n_impostors, 40))
        self._check_scale(X, triplets.pull_pairs)
        objective = TripletObjective(X, triplets, losses, smoothing=self._solver_smoothing)
        if self.regularisation > 0:
            objective.add_start_regulariser(self.regularisation, L)
        return objective, L

    def _pass_tol(self, first_value, value):
        """The tolerance of a later pass. L-BFGS stops when an iteration decreases the objective
        by less than ``tol`` times its value at the start of the run; a later pass starts from
        a metric already fitted, at a value often ten times smaller than the first pass's, so
        the same ``tol`` would ask for a ten times smaller decrease and cost hundreds of
        iterations for no accuracy. Each pass stops at the first pass's absolute decrease
        instead (pgd's test is relative to the current value: it keeps ``tol``)."""
        tol = self._default_tol() if self.tol is None else self.tol
        if self.solver != "lbfgs" or not value > 0:
            return tol
        return tol * first_value / value

    def _default_tol(self):
        followed = self.solver == "lbfgs" and self.impostors != "fixed"
        return self.DEFAULT_TOL["lbfgs, followed impostors" if followed else self.solver]

    @staticmethod
    def _check_scale(X, pairs):
        """Refuse data whose scale makes the unit hinge margin meaningless or overflows."""
        typical = np.median(np.sum((X[pairs[:, 0]] - X[pairs[:, 1]]) ** 2, axis=1))
        if not np.isfinite(typical) or typical > 1e100 or 0 < typical < 1e-100:
            raise ValueError(
                f"The squared distances between neighbours are about {typical:.1e}: LMNN's "
                "margin of 1 is meaningless at that scale and the solver would over- or "
                "underflow. Standardise X first (sklearn.preprocessing.StandardScaler, or "
                "robustdml.preprocessing.paper_preprocessing()).")


def _pull_weight_advice(regularization, arguments):
    """What metric-learn's ``regularization`` (c, the weight of the summed push term) is in
    LMNN's terms, whose push and pull are means: ``pull_weight = (1 - c) / (1 - c + c v)``."""
    n_impostors = arguments.get("n_impostors", LMNN.__init__.__kwdefaults__["n_impostors"])
    formula = "pull_weight=(1 - c) / (1 - c + c * n_impostors)"
    if isinstance(regularization, Real) and 0 <= regularization <= 1 and n_impostors:
        c = float(regularization)
        formula += f", here {(1 - c) / (1 - c + c * n_impostors):.4g} (n_impostors={n_impostors})"
    return (f"pass {formula}, and impostors='active' for metric-learn's full objective "
            "(LMNN's regularisation is another term: the pull towards the starting metric)")


def _changed_fraction(before, after):
    """The fraction of the (anchor, target) pairs of ``after`` that are not in ``before``."""
    if len(after) == 0:
        return 0.0
    n = int(max(before.max(initial=0), after.max(initial=0))) + 1
    return float(np.mean(~np.isin(after[:, 0] * n + after[:, 1], before[:, 0] * n + before[:, 1])))

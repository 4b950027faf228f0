"""Large-margin nearest neighbors, optionally with the perturbation loss (LMNN-PL)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np

from .._compat import Hidden, Interval, StrOptions
from ..math import (ActiveTriplets, LMNNLoss, TripletObjective, build_triplets,
                    leave_one_out_accuracy)
from ..math._linalg import knn_vote
from ..math.neighbors import approximate_kneighbors, neighbor_recall, resolve_neighbor_search
from ..math.triplets import _combine_blocks
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
        The number v of impostors per point ("nearest", "fixed"); with "active", the normalizer
        ``v |B|`` of the sums over triplets.
    pull_weight : float in [0, 1] or "auto", default="auto"
        The weight mu of the pull term, which draws each point's targets closer; the push
        term, LMNN's hinge, gets ``1 - mu``. "auto": 0.25 below ``LARGE_DATA`` (2,000)
        training points, 0.1 from it on (see ``AUTO``).
    {perturbation_weight}
    {perturbation_margin}
    impostors : {"auto", "nearest", "fixed", "active"}, default="auto"
        Which triplets the objective sums over. "nearest": each point's v nearest
        other-class points under the current metric, chosen again as the solver moves (no
        point can be pulled in unpenalized, and each weighs at most k v triplets). "fixed"
        (the paper's): its v nearest other-class points in the input space, chosen once.
        "active" (standard LMNN's full objective): every other-class point inside a target's
        margin, or with an adversarial margin below tau, under the current metric. See
        :doc:`/user_guide/active_impostors`. The "followed impostors" entry of ``DEFAULT_TOL``
        applies to "nearest" and "active". "auto": "nearest" below ``LARGE_DATA`` (2,000)
        training points; "fixed" from it on, where, with two passes, it was more accurate than
        "nearest" (or within 0.001) on every data set measured from 2,500 to 60,000 points,
        at 0.15 to 0.6 times its cost (:doc:`/user_guide/hyperparameters`).
    max_triplets : int, default=2_000_000
        "nearest" and "active": above this many candidate triplets, a fixed pseudo-random
        subset of the (anchor, impostor) pairs stands for all of them, with a warning (about
        150 bytes per triplet).
    drift_weight : float >= 0 or "auto", default="auto"
        The weight r of the penalty on M drifting from its starting metric
        (in a later pass, the metric of the pass before), relative to the LMNN terms' value
        there: moving M by its own size costs r times their starting value. It keeps a
        full-rank metric from fitting the training set along directions only it supports,
        which matters with few points per feature. "auto": 0.1 below ``LARGE_DATA`` (2,000)
        training points, 0 from it on. Not metric-learn's ``regularization``, which weighs
        the push term.
    {solver}
    {n_components}
    {init}
    {max_iter}
    {tol}
    {smoothing}
    {callback}
    {verbose}
    {random_state}
    n_passes : int or "auto", default="auto"
        Passes of Weinberger and Saul's multi-pass LMNN: each pass after the first chooses
        the targets (and, with "fixed", the impostors) again under the metric learned so far
        and minimizes again from it, with the drift penalty towards that metric. Passes stop
        early when the triplets no longer change. Each pass may run ``max_iter`` iterations;
        with more than one pass, the metric kept is the one with the best leave-one-out
        accuracy on the training points (``train_accuracy_``'s sample) among the start and the
        passes (``best_pass_``). A later pass stops at the same absolute decrease of the objective
        per iteration as the first (L-BFGS's ``tol`` is relative to the value where a run
        starts, which a fitted metric has lowered). "auto": 1 below ``LARGE_DATA`` (2,000)
        training points, 2 from it on.
    neighbor_search : {"auto", "exact", "approximate"}, default="auto"
        How ``impostors="fixed"`` finds each pass's targets and impostors. "approximate": an
        approximate index (:func:`robustdml.math.approximate_kneighbors`; exact search when
        no index library is installed), its recall against exact search measured on a
        sample of points and reported (``neighbor_recall_``, and by ``verbose``); the
        objective is exact on the triplets found. "auto": approximate from
        ``robustdml.math.neighbors.APPROXIMATE_MIN_SAMPLES`` training points on, exact below.
        The impostors that follow the metric ("nearest", "active") are always searched
        exactly.
    {regularisation}

    Attributes
    ----------
    {components_}
    {perturbation_margin_}
    n_iter_ : int
        Iterations run, summed over the passes.
    objective_ : ndarray of shape (n_values,)
        The objective after each iteration, pass after pass (each pass has its own triplets).
    n_triplets_ : int
        Number of triplets at the learned metric.
    impostors_ : str
        The impostor mode used (what "auto" stood for).
    pull_weight_ : float
        The pull weight used.
    drift_weight_ : float
        The drift weight used (what "auto" stood for).
    n_passes_ : int
        Passes run (fewer than ``n_passes`` when the triplets stopped changing).
    n_iter_per_pass_ : ndarray, one entry per pass
        Iterations of each pass.
    seconds_per_pass_ : ndarray, one entry per pass
        Wall-clock time of each pass: choosing its triplets and minimizing.
    targets_changed_per_pass_ : ndarray, one entry per pass
        Fraction of the (point, target) pairs that each pass chose anew under the metric of
        the pass before (NaN for the first pass).
    train_accuracy_per_pass_ : ndarray (the start, then one entry per pass) or None
        With more than one pass: the leave-one-out k-NN accuracy (k = ``n_neighbors``) of
        the training points (above ``TRAINING_ACCURACY_SAMPLE``, the fixed sample of
        ``train_accuracy_``) under the starting metric and after each pass; None with one
        pass. With exact fixed triplets, a pass's neighbor search gives the accuracy of the
        metric it searched under (points at exactly equal distances may rank otherwise than
        in a search of all points).
    best_pass_ : int
        The pass whose metric was kept: the last of those with the best
        ``train_accuracy_per_pass_`` (0: the starting metric, when every pass lost accuracy
        on the sample); the last pass with one pass.
    neighbor_search_ : str
        The search used for the fixed triplets, "exact" or "approximate".
    neighbor_recall_ : float
        With ``neighbor_search_ == "approximate"``: the fraction of the true targets and
        impostors that the index found, on a sample of points, the lowest over the passes;
        1.0 with exact search.
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
    #: iterations for no accuracy (docs/user_guide/hyperparameters.md). With fixed impostors
    #: from ``LOOSE_TOL_SAMPLES`` points on, the last half of the iterations at 1e-6 changed
    #: the test accuracy by less than its noise (Fashion-MNIST 20k, two generators of 20,000 points:
    #: 59 -> 30, 25 -> 18, 30 -> 18 iterations over two passes, accuracy equal or higher;
    #: benchmarks/defaults_at_scale.md).
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6, "lbfgs, followed impostors": 1e-5,
                   "lbfgs, fixed impostors, large data": 3e-5}

    #: From this many training points on, ``tol=None`` with fixed impostors is the "large
    #: data" entry of ``DEFAULT_TOL`` (measured at 20,000 points; the fits of 2,000 to 10,000
    #: points that chose ``LARGE_DATA``, benchmarks/midsize.md, ran at 1e-6).
    LOOSE_TOL_SAMPLES = 10_000

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "pull_weight": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "impostors": [StrOptions({"auto", "fixed", "nearest", "active"})],
        "max_triplets": [Interval(Integral, 1, None, closed="left")],
        "drift_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "regularisation": [Interval(Real, 0, None, closed="left"),
                           Hidden(StrOptions({"deprecated"}))],
        "n_passes": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "neighbor_search": [StrOptions({"auto", "exact", "approximate"})],
    }

    #: From this many training points on, the parameters left at "auto" take the values chosen
    #: on data of 2,500 to 60,000 points (benchmarks/midsize.md, defaults_at_scale.md); below
    #: it, those chosen on small data (benchmarks/defaults.md).
    LARGE_DATA = 2_000

    # What "auto" stands for, per parameter: (below LARGE_DATA points, from it on); the
    # parameters' descriptions state it
    AUTO = {"impostors": ("nearest", "fixed"), "pull_weight": (0.25, 0.1),
            "drift_weight": (0.1, 0.0), "n_passes": (1, 2)}

    #: Deprecated parameter names, each with the one that replaced it (model files written
    #: before the rename load with the new name).
    _renamed_parameters = {"regularisation": "drift_weight"}

    _saved_attributes = (*MetricLearner._saved_attributes, "n_passes_", "n_iter_per_pass_",
                         "seconds_per_pass_", "targets_changed_per_pass_", "impostors_",
                         "pull_weight_", "drift_weight_", "train_accuracy_per_pass_",
                         "best_pass_", "neighbor_search_", "neighbor_recall_")

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

    def __init__(self, n_neighbors=3, *, n_impostors=10, pull_weight="auto",
                 perturbation_weight=0.0, perturbation_margin="auto", impostors="auto",
                 max_triplets=2_000_000, drift_weight="auto", solver="lbfgs",
                 n_components=None, init="auto", max_iter=1000, tol=None, smoothing=0.5,
                 callback=None, verbose=0, random_state=None, n_passes="auto",
                 neighbor_search="auto", regularisation="deprecated"):
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
        self.drift_weight = drift_weight
        self.n_passes = n_passes
        self.neighbor_search = neighbor_search
        self.regularisation = regularisation

    def losses(self):
        """Return the terms of the objective: LMNN's, then the perturbation loss if weighted.

        Returns
        -------
        list of TripletLoss
            ``LMNNLoss(pull_weight)``, followed by :meth:`perturbation_losses`. With
            ``pull_weight="auto"``: the weight the last fit used, before any fit the one for
            small data.

        See Also
        --------
        robustdml.LMNNLoss : LMNN's pull and push terms.
        robustdml.PerturbationLoss : The perturbation loss.

        Examples
        --------
        >>> from robustdml import LMNN
        >>> learner = LMNN(perturbation_weight=1.0, perturbation_margin=0.2)
        >>> [type(loss).__name__ for loss in learner.losses()]
        ['LMNNLoss', 'PerturbationLoss']
        """
        pull_weight = self.pull_weight
        if isinstance(pull_weight, str):  # "auto": what the last fit used, else small data's
            pull_weight = getattr(self, "pull_weight_", self.AUTO["pull_weight"][0])
        return [LMNNLoss(pull_weight), *self.perturbation_losses()]

    _worse_advice = ("Lower pull_weight, raise drift_weight, use impostors='nearest' (the "
                     "default below LARGE_DATA points), or keep the starting metric.")

    @property
    def _accuracy_neighbors(self):
        return self.n_neighbors

    def _fit_metric(self, X, y, initial_components):
        n_passes = self._resolve_auto(len(X))
        if self.neighbor_search == "approximate" and self.impostors_ != "fixed":
            raise ValueError(f"neighbor_search='approximate' finds fixed triplets; with "
                             f"impostors={self.impostors_!r}, which follow the metric, the "
                             "search is exact. Use impostors='fixed', or neighbor_search="
                             "'auto' or 'exact'.")
        self.neighbor_search_ = (resolve_neighbor_search(self.neighbor_search, len(X))
                                 if self.impostors_ == "fixed" else "exact")
        self.neighbor_recall_ = 1.0
        started = time.perf_counter()
        report = self._progress_reporter(started) if n_passes > 1 else None
        objective, L0 = self._objective(X, y, initial_components)
        # later passes stop at the first pass's absolute decrease per iteration (_pass_tol)
        first_value = objective.value_and_gradient_M(L0)[0] if n_passes > 1 else None
        rows = self._training_rows(len(X))
        # the passes are scored on the rows fit reports; a pass's triplet search under a
        # metric gives that metric's score (the start's: the first search, in X itself)
        score = (_TrainingScore(X, y, self.n_neighbors, rows)
                 if n_passes > 1 or rows is not None else None)
        exact = self.impostors_ == "fixed" and self.neighbor_search_ == "exact"

        def searched(triplets, L):  # the triplets when they were searched exactly under L
            return triplets if exact and L is not None else None

        metrics = [L0]
        start = L0 if np.array_equal(L0, np.eye(*L0.shape)) else None  # first search: in X
        scores = [score(L0, searched(objective.triplets, start))] if score else []
        tol = self._fit_tol(len(X))
        result = self._minimize(objective, L0, len(X), report=report, tol=tol)
        passes = [(result.n_iter, time.perf_counter() - started, np.nan)]
        values = list(result.objective)
        metrics.append(result.components)
        for _ in range(1, n_passes):
            started = time.perf_counter()
            L, previous = result.components, objective.triplets
            objective, _ = self._objective(X, y, L, learned=True)
            if score:
                scores.append(score(L, searched(objective.triplets, L)))
            changed = _changed_fraction(previous.pull_pairs, objective.triplets.pull_pairs)
            if changed == 0 and (self.impostors_ != "fixed" or _changed_fraction(
                    previous.push_pairs, objective.triplets.push_pairs) == 0):
                break  # the same triplets: the next pass would start at its optimum
            result = self._minimize(objective, L, len(X), report=report, tol=self._pass_tol(
                first_value, objective.value_and_gradient_M(L)[0], tol))
            metrics.append(result.components)
            passes.append((result.n_iter, time.perf_counter() - started, changed))
            values += result.objective
            if self.verbose:
                print(f"[LMNN] pass {len(passes)}: {changed:.1%} of the targets chosen anew, "
                      f"{result.n_iter} iterations, {passes[-1][1]:.2f} s, leave-one-out "
                      f"accuracy of pass {len(passes) - 1} {scores[-1]:.4f}")
        if score and len(scores) < len(metrics):  # the last metric, which no search scored
            scores.append(score(metrics[-1]))
        self.n_iter_per_pass_, self.seconds_per_pass_, self.targets_changed_per_pass_ = (
            np.array(column) for column in zip(*passes))
        self.n_passes_ = len(passes)
        multi = n_passes > 1
        # the last of the best: a pass that lost accuracy is undone (the start included)
        self.best_pass_ = len(scores) - 1 - int(np.argmax(scores[::-1])) if multi else 1
        self.train_accuracy_per_pass_ = np.array(scores) if multi else None
        return FitResult(metrics[self.best_pass_], int(self.n_iter_per_pass_.sum()),
                         result.converged, values, result.message,
                         float(self.seconds_per_pass_.sum()), result.n_triplets,
                         (scores[0], scores[self.best_pass_]) if score else None)

    def _resolve_auto(self, n_samples):
        """Set ``impostors_``, ``pull_weight_`` and ``drift_weight_`` to the values used, those
        of ``AUTO`` for the parameters left at "auto", and return the number of passes."""
        large = int(n_samples >= self.LARGE_DATA)

        def value(name):
            given = getattr(self, name)
            return self.AUTO[name][large] if isinstance(given, str) and given == "auto" \
                else given

        self.impostors_ = value("impostors")
        self.pull_weight_ = value("pull_weight")
        self.drift_weight_ = _drift_weight(self, value("drift_weight"), stacklevel=5)
        return value("n_passes")

    def _objective(self, X, y, L, learned=False):
        """The objective of one pass and its starting L: triplets whose targets (and fixed
        impostors) are chosen under ``L`` when ``learned``, by Euclidean distance in X (the
        first pass) otherwise."""
        losses = self.losses()
        space = X @ L.T if learned else X
        if self.impostors_ == "fixed" and self.neighbor_search_ == "approximate":
            triplets, recall = _approximate_triplets(space, y, self.n_neighbors,
                                                     self.n_impostors, self.random_state)
            self.neighbor_recall_ = min(self.neighbor_recall_, recall)
            if self.verbose:
                print(f"[LMNN] approximate search: recall {recall:.4f} of the targets and "
                      "impostors, on a sample of points")
        elif self.impostors_ == "fixed":
            triplets = build_triplets(space, y, self.n_neighbors, self.n_impostors)
        else:
            nearest = self.impostors_ == "nearest"
            triplets = ActiveTriplets(X, y, self.n_neighbors, self.n_impostors, losses,
                                      nearest_only=nearest, max_triplets=self.max_triplets,
                                      random_state=self.random_state,
                                      target_space=space if learned else None)
            if not learned and not isinstance(self.init, np.ndarray):
                L = L * triplets.best_scale(
                    L, self.pull_weight_,
                    self.n_impostors if nearest else max(self.n_impostors, 40))
        self._check_scale(X, triplets.pull_pairs)
        objective = TripletObjective(X, triplets, losses, smoothing=self._solver_smoothing)
        if self.drift_weight_ > 0:
            objective.add_drift_penalty(self.drift_weight_, L)
        return objective, L

    def _fit_tol(self, n_samples):
        """``tol``, or when None the ``DEFAULT_TOL`` entry for the solver, the impostor mode
        and the size of the data."""
        if self.tol is not None:
            return self.tol
        if (self.solver == "lbfgs" and self.impostors_ == "fixed"
                and n_samples >= self.LOOSE_TOL_SAMPLES):
            return self.DEFAULT_TOL["lbfgs, fixed impostors, large data"]
        return self._default_tol()

    def _pass_tol(self, first_value, value, tol=None):
        """The tolerance of a later pass. L-BFGS stops when an iteration decreases the objective
        by less than ``tol`` times its value at the start of the run; a later pass starts from
        a metric already fitted, at a value often ten times smaller than the first pass's, so
        the same ``tol`` would ask for a ten times smaller decrease and cost hundreds of
        iterations for no accuracy. Each pass stops at the first pass's absolute decrease
        instead (pgd's test is relative to the current value: it keeps ``tol``). ``tol``: the
        first pass's (None: ``tol``, or the solver's default)."""
        if tol is None:
            tol = self._default_tol() if self.tol is None else self.tol
        if self.solver != "lbfgs" or not value > 0:
            return tol
        return tol * first_value / value

    def _default_tol(self):
        impostors = getattr(self, "impostors_", self.impostors)
        if impostors == "auto":  # before a fit: the tolerance for small data
            impostors = self.AUTO["impostors"][0]
        followed = self.solver == "lbfgs" and impostors != "fixed"
        return self.DEFAULT_TOL["lbfgs, followed impostors" if followed else self.solver]

    @staticmethod
    def _check_scale(X, pairs):
        """Refuse data whose scale makes the unit hinge margin meaningless or overflows."""
        typical = np.median(np.sum((X[pairs[:, 0]] - X[pairs[:, 1]]) ** 2, axis=1))
        if not np.isfinite(typical) or typical > 1e100 or 0 < typical < 1e-100:
            raise ValueError(
                f"The squared distances between neighbors are about {typical:.1e}: LMNN's "
                "margin of 1 is meaningless at that scale and the solver would over- or "
                "underflow. Standardize X first (sklearn.preprocessing.StandardScaler, or "
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
            "(LMNN's drift_weight is another term: the penalty on M drifting from its start)")


def _drift_weight(learner, drift_weight=None, stacklevel=3):
    """The learner's ``drift_weight`` (or the value given, such as what "auto" stands for), or
    its deprecated ``regularisation`` when that is given."""
    if isinstance(learner.regularisation, str) and learner.regularisation == "deprecated":
        return learner.drift_weight if drift_weight is None else drift_weight
    warnings.warn(f"{type(learner).__name__}'s parameter regularisation is renamed drift_weight "
                  f"(the penalty on M drifting from its start): pass "
                  f"drift_weight={learner.regularisation!r}. regularisation is removed in the "
                  "next release.", FutureWarning, stacklevel=stacklevel)
    return learner.regularisation


def _changed_fraction(before, after):
    """The fraction of the (anchor, target) pairs of ``after`` that are not in ``before``."""
    if len(after) == 0:
        return 0.0
    n = int(max(before.max(initial=0), after.max(initial=0))) + 1
    return float(np.mean(~np.isin(after[:, 0] * n + after[:, 1],
                                  before[:, 0] * n + before[:, 1])))


#: Anchors per class on which ``neighbor_recall`` checks the approximate search.
RECALL_SAMPLE = 500


def _approximate_triplets(space, y, n_neighbors, n_impostors, random_state):
    """The fixed triplets of :func:`~robustdml.math.build_triplets`, each anchor's nearest
    same-class and other-class points found by an approximate index; and the recall of those
    searches against exact search on ``RECALL_SAMPLE`` anchors per class."""
    pull_blocks, push_blocks, found, asked = [], [], 0.0, 0
    for label in np.unique(y):
        members, others = np.flatnonzero(y == label), np.flatnonzero(y != label)
        n_targets, n_push = min(n_neighbors + 1, members.size), min(n_impostors, others.size)
        if n_targets < 2 or n_push == 0:
            continue
        nearest = approximate_kneighbors(space[members], space[members], n_targets,
                                         random_state=random_state)[1]
        impostors = approximate_kneighbors(space[others], space[members], n_push,
                                           random_state=random_state)[1]
        for reference, indices in ((space[members], nearest), (space[others], impostors)):
            sample = min(RECALL_SAMPLE, len(members))
            found += neighbor_recall(reference, space[members], indices, n_samples=sample,
                                     random_state=random_state) * sample * indices.shape[1]
            asked += sample * indices.shape[1]
        # the anchor itself is among its nearest: drop it (or the farthest when it was missed)
        targets = members[nearest]
        keep = targets != members[:, None]
        keep[keep.all(axis=1), -1] = False
        pull_blocks.append((members, targets[keep].reshape(len(members), n_targets - 1)))
        push_blocks.append((members, others[impostors]))
    if not pull_blocks:
        raise ValueError("No triplet can be formed: a class needs at least two points and "
                         "there must be at least two classes.")
    return _combine_blocks(pull_blocks, push_blocks, len(space)), found / asked


class _TrainingScore:
    """Leave-one-out k-NN accuracy of the training rows ``rows`` (None: all) under a metric.

    Called with the exact fixed triplets chosen under that metric, it reads each row's k
    nearest neighbors from them, with no search: the k nearest of all points are among its
    k targets (its nearest same-class points, itself left out) and its k nearest impostors
    (other-class points). Otherwise, or when the triplets lack that form, it searches."""

    def __init__(self, X, y, n_neighbors, rows):
        self.X = X
        self.codes = np.unique(y, return_inverse=True)[1]
        self.n_neighbors = n_neighbors
        self.rows = np.arange(len(X)) if rows is None else rows

    def __call__(self, L, triplets=None):
        Z = self.X @ L.T
        neighbors = None if triplets is None else self._from_triplets(Z, triplets)
        if neighbors is None:
            return leave_one_out_accuracy(Z, self.codes, self.n_neighbors, rows=self.rows)
        _, predicted = knn_vote(self.codes[neighbors], int(self.codes.max()) + 1)
        return float(np.mean(predicted == self.codes[self.rows]))

    def _from_triplets(self, Z, triplets):
        """The k nearest other points of each row (nearest first) from a fixed triplet set
        of k targets and at least k impostors per point, both nearest first; None when the
        triplets have another form (small classes, approximate search, another k)."""
        k, n = self.n_neighbors, len(Z)
        pull, push = triplets.pull_pairs, triplets.push_pairs
        if len(pull) != n * k or len(push) % n or len(push) // n < k:
            return None
        v = len(push) // n
        anchors = pull[:, 0].reshape(n, k)
        if not (np.all(anchors == anchors[:, :1])
                and np.array_equal(push[:, 0].reshape(n, v), np.repeat(anchors[:, :1], v, 1))):
            return None
        position = np.full(n, -1)
        position[anchors[:, 0]] = np.arange(n)
        at = position[self.rows]
        if np.any(at < 0):
            return None
        candidates = np.hstack([pull[:, 1].reshape(n, k)[at], push[:, 1].reshape(n, v)[at, :k]])
        difference = Z[candidates] - Z[self.rows][:, None, :]
        order = np.argsort(np.einsum("ijk,ijk->ij", difference, difference), axis=1,
                           kind="stable")
        return np.take_along_axis(candidates, order[:, :k], axis=1)

"""Large-margin nearest neighbours, optionally with the perturbation loss (LMNN-PL)."""

from numbers import Integral, Real

import numpy as np

from .._compat import Interval, StrOptions
from ..math import ActiveTriplets, LMNNLoss, TripletObjective, build_triplets
from ._learner import MetricLearner


class LMNN(MetricLearner):
    """Large-margin nearest neighbour metric learning, with the perturbation loss when
    ``perturbation_weight > 0`` (LMNN-PL of Yang et al., "Towards Certified Robustness of
    Distance Metric Learning").

    Minimises over PSD ``M = L^T L``::

        mu/|B| sum_B d2_M(x_i, x_j)                                  (pull)
        + (1 - mu)/|T| sum_T [1 + d2_M(x_i, x_j) - d2_M(x_i, x_l)]_+  (push)
        + lambda/|T| sum_T [tau^2 - m_ijl(M)^2]_+                     (perturbation loss)
        + r g(M0) ||M - M0||_F^2 / ||M0||_F^2                          (regularisation)

    where the targets (pairs B) are each point's ``n_neighbors`` nearest same-class points by
    Euclidean distance, ``m_ijl`` is the adversarial margin (the L2 distance from x_i to its
    closest input that is as close to x_l as to x_j), M0 the starting metric and g(M0) the
    LMNN terms (pull and push) at the start. The triplets T pair every target of an anchor with

    - ``impostors="nearest"`` (default): the anchor's ``n_impostors`` nearest other-class
      points *under the current metric*, chosen again as the solver moves (so no point can be
      pulled in unpenalised, and each point weighs at most ``k v`` triplets);
    - ``impostors="fixed"`` (the paper's): its ``n_impostors`` nearest other-class points in
      the input space, chosen once;
    - ``impostors="active"`` (the full objective of standard LMNN, Weinberger & Saul): every
      other-class point; only those inside a target's margin (or with an adversarial margin
      below tau) contribute, and they are found under the current metric.

    In all three the sums over T are divided by ``v |B|`` (``|T|`` for "fixed", equal when
    every class is large enough), so mu, lambda and tau mean the same in each. "nearest" and
    "active" find their impostors with :class:`robustdml.math.ActiveTriplets` and start from
    the initial L rescaled to minimise the LMNN terms along its ray (the perturbation loss
    does not change along it).

    **Why the defaults.** ``benchmarks/defaults.md`` (``python benchmarks/defaults.py``): 3-NN
    test accuracy over 3 stratified 70/30 splits of standardised iris, wine, breast_cancer,
    balance_scale, waveform, digits, sonar and of small many-feature sets (300 digits, 400
    optdigits, 600 Fashion-MNIST images with PCA 100, movement_libras: 252 training points, 90
    features, 15 classes). ``LMNN()`` and ``LMNN(perturbation_weight=1)`` beat the Euclidean
    metric on all 11 (e.g. sonar 0.894 vs 0.868, optdigits 0.947 vs 0.903; scikit-learn's
    NCA is more accurate on iris, balance_scale and sonar, less on the other eight). "fixed" loses to
    it on the small many-feature sets (it overfits: 300 digits 0.837 vs 0.930), "active" lets
    points deep inside other classes dominate where classes overlap (waveform 0.807, nearest
    0.825), ``regularisation=0`` overfits movement_libras (0.716 vs 0.790), and
    ``pull_weight=0.5`` loses to it on breast_cancer.

    Parameters
    ----------
    n_neighbors : int, default=3
        k, targets per point. A class with at most k points uses all its other points.
    n_impostors : int, default=10
        v, impostors per point ("nearest", "fixed"); the normaliser ``v |B|`` ("active").
    pull_weight : float in [0, 1], default=0.25
        mu, the weight of the pull term; the push term gets ``1 - mu``. (In these normalised
        terms standard LMNN's equal weights are ``mu = 1 / (1 + v)``, about 0.09.)
    perturbation_weight : float >= 0, default=0.0
        lambda, the weight of the perturbation loss. 0 gives plain LMNN.
    perturbation_margin : float > 0, default=0.1
        tau, the adversarial margin the perturbation loss asks of every triplet, in the units of
        the input features; ``robustdml.metrics.data_scale(X, y)`` gives the scale to take a
        fraction of (the study searches 0.02 to 1 times it). Near the scale itself the loss
        can pull M to a multiple of the identity, the Euclidean metric (splice, tau = 0.87 x
        the scale: every singular value of L equal, accuracy 0.82 against 0.95 at 0.2 x).
    impostors : {"nearest", "fixed", "active"}, default="nearest"
        Which triplets the objective sums over (see above). "nearest" and "active" follow the
        metric, at the price of a neighbour search whenever the metric has moved too far for
        the last one to be provably complete.
    max_triplets : int, default=2_000_000
        "nearest" and "active": above this many candidate triplets, a fixed pseudo-random
        subset of the (anchor, impostor) pairs stands for all of them, with a warning (memory
        and time grow with it: about 150 bytes per triplet).
    regularisation : float >= 0, default=0.1
        r, the weight of the pull towards the starting metric, relative to the LMNN terms'
        value there: moving M by its own size costs r times their starting value.
    solver : {"lbfgs", "pgd"}, default="lbfgs"
        ``"pgd"`` is the authors' projected sub-gradient descent on M, step for step (as
        their code runs it): what the paper reports, with
        ``impostors="fixed", regularisation=0``. ``"lbfgs"`` runs L-BFGS-B on L with hinges
        smoothed by ``smoothing``: much faster, and it supports ``n_components``.
    n_components : int, default=None
        Rows of L (output dimension). None keeps ``n_features``. lbfgs optimises a
        rectangular L; pgd learns the full M and keeps its ``n_components`` leading
        eigen-directions.
    init : {"auto", "identity", "pca", "lda", "random"} or ndarray of shape \
            (n_components, n_features), default="auto"
        Initial L. "auto" is the identity when no reduction is asked, PCA otherwise; "lda" the
        discriminant directions of scikit-learn's LinearDiscriminantAnalysis (then PCA's),
        "random" a standard normal draw (``random_state``). The pgd solver starts from
        ``M = init^T init`` (the identity for "auto", as the reference).
    max_iter : int, default=1000
        Maximum number of steps (pgd) or L-BFGS iterations.
    tol : float, default=None
        pgd: stop when the last 5 objective changes are below ``tol * f`` (after 50 values);
        None is the reference's 1e-7. lbfgs: L-BFGS-B stops when an iteration decreases the
        objective by less than ``tol * max(|f|, 1)``; None is 1e-6 with fixed triplets (1e-7
        triples the iterations for no accuracy on Australian) and 1e-5 otherwise (half the
        iterations of 1e-6 on digits, same accuracy).
    smoothing : float >= 0, default=0.5
        lbfgs only: width of the quadratic smoothing of the hinge (in units of the hinge margin
        1) and of the perturbation hinge (in units of tau^2). 0 minimises the exact objective.
    callback : callable, default=None
        Called after every iteration as ``callback(L, n_iter)`` (same as scikit-learn's NCA,
        with the current L instead of a flat vector).
    verbose : int, default=0
        1 prints progress at least every 2 seconds and a summary (iterations, time, triplets,
        training accuracy before and after); 2 prints every iteration.
    random_state : int, RandomState instance or None, default=None
        Seeds ``init="pca"`` and ``init="random"``, and the pair subset above
        ``max_triplets``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned L; the metric is ``M = L^T L``.
    n_iter_ : int
        Iterations run.
    objective_ : ndarray
        Objective value after each iteration (first entry: at the initial metric for pgd).
    n_triplets_ : int
        Number of triplets used (with "active": those in the last search at the learned L).
    initial_train_accuracy_, train_accuracy_ : float
        Leave-one-out ``n_neighbors``-NN accuracy on the training data under the starting and
        the learned metric: whether the fit helped, at a glance. A warning is given when the
        learned metric is worse by more than ``WORSE_THAN_START``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when X has string feature names.

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

    #: Tolerance of each solver when ``tol=None``.
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6, "lbfgs, followed impostors": 1e-5}

    _parameter_constraints: dict = {
        **MetricLearner._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "pull_weight": [Interval(Real, 0, 1, closed="both")],
        "impostors": [StrOptions({"fixed", "nearest", "active"})],
        "max_triplets": [Interval(Integral, 1, None, closed="left")],
        "regularisation": [Interval(Real, 0, None, closed="left")],
    }

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
                 callback=None, verbose=0, random_state=None):
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

    def losses(self):
        """The terms of the objective, in order: LMNN, then the perturbation loss if weighted."""
        return [LMNNLoss(self.pull_weight), *self.perturbation_losses()]

    _worse_advice = ("Lower pull_weight, raise regularisation, use impostors='nearest' (the "
                     "default), or keep the starting metric.")

    def _fit_metric(self, X, y, L0):
        losses = self.losses()
        if self.impostors == "fixed":
            triplets = build_triplets(X, y, self.n_neighbors, self.n_impostors)
        else:
            nearest = self.impostors == "nearest"
            triplets = ActiveTriplets(X, y, self.n_neighbors, self.n_impostors, losses,
                                      nearest_only=nearest, max_triplets=self.max_triplets,
                                      random_state=self.random_state)
            if not isinstance(self.init, np.ndarray):
                L0 = L0 * triplets.best_scale(
                    L0, self.pull_weight,
                    self.n_impostors if nearest else max(self.n_impostors, 40))
        self._check_scale(X, triplets.pull_pairs)
        smoothing = self._solver_smoothing
        objective = TripletObjective(X, triplets, losses, smoothing=smoothing)
        if self.regularisation > 0:
            objective.add_start_regulariser(self.regularisation, L0)
        return self._minimise(objective, L0, len(X)), triplets, L0

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

"""Large-margin nearest neighbours, optionally with the perturbation loss (LMNN-PL)."""

import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from .._compat import Interval, StrOptions, _fit_context
from ..math import (ActiveTriplets, LMNNLoss, PerturbationLoss, StartRegulariser,
                    TripletObjective, build_triplets, leave_one_out_accuracy)
from ..math._linalg import serial_blas
from ..math.optimize import lbfgs, projected_subgradient
from ._base import MahalanobisMixin, validate_numeric


class LMNN(MahalanobisMixin, BaseEstimator):
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
        the input features (for unit-norm rows, a fraction of the data's scale).
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

    #: Leave-one-out training accuracy lost to the fit beyond which a warning is given.
    WORSE_THAN_START = 0.01

    #: Tolerance of each solver when ``tol=None``.
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6, "lbfgs, followed impostors": 1e-5}

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_impostors": [Interval(Integral, 1, None, closed="left")],
        "pull_weight": [Interval(Real, 0, 1, closed="both")],
        "perturbation_weight": [Interval(Real, 0, None, closed="left")],
        "perturbation_margin": [Interval(Real, 0, None, closed="neither")],
        "impostors": [StrOptions({"fixed", "nearest", "active"})],
        "max_triplets": [Interval(Integral, 1, None, closed="left")],
        "regularisation": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"lbfgs", "pgd"})],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "init": [StrOptions({"auto", "identity", "pca", "lda", "random"}), np.ndarray],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "callback": [callable, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_neighbors=3, *, n_impostors=10, pull_weight=0.25,
                 perturbation_weight=0.0, perturbation_margin=0.1, impostors="nearest",
                 max_triplets=2_000_000, regularisation=0.1, solver="lbfgs",
                 n_components=None, init="auto", max_iter=1000, tol=None, smoothing=0.5,
                 callback=None, verbose=0, random_state=None):
        self.n_neighbors = n_neighbors
        self.n_impostors = n_impostors
        self.pull_weight = pull_weight
        self.perturbation_weight = perturbation_weight
        self.perturbation_margin = perturbation_margin
        self.impostors = impostors
        self.max_triplets = max_triplets
        self.regularisation = regularisation
        self.solver = solver
        self.n_components = n_components
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.callback = callback
        self.verbose = verbose
        self.random_state = random_state

    def losses(self):
        """The terms of the objective, in order: LMNN, then the perturbation loss if weighted."""
        losses = [LMNNLoss(self.pull_weight)]
        if self.perturbation_weight > 0:
            losses.append(PerturbationLoss(self.perturbation_weight, self.perturbation_margin))
        return losses

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the metric from labelled data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels; at least two classes.

        Returns
        -------
        self : LMNN
        """
        X, y = validate_numeric(self, X, y, ensure_min_samples=2, dtype=float)
        check_classification_targets(y)
        if np.unique(y).size < 2:
            raise ValueError(f"LMNN needs at least two classes in y; got only {np.unique(y)[0]}."
                             " Metric learning separates classes.")
        L0 = self._initial_components(X, y)
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
        smoothing = self.smoothing if self.solver == "lbfgs" else 0.0
        objective = TripletObjective(X, triplets, losses, smoothing=smoothing)
        if self.regularisation > 0:
            # relative to the LMNN terms alone, so that lambda keeps its weight against them
            lmnn_part = TripletObjective(X, triplets, losses[:1], smoothing=smoothing)
            objective.losses.append(StartRegulariser(
                self.regularisation, L0.T @ L0, lmnn_part.value_and_gradient_M(L0)[0]))

        labels = np.unique(y, return_inverse=True)[1]
        self.initial_train_accuracy_ = leave_one_out_accuracy(X @ L0.T, labels,
                                                              self.n_neighbors)
        start = time.perf_counter()
        with serial_blas(len(X)):
            L, n_iter, converged, values, message = self._minimise(
                objective, L0, self._progress_reporter(start))
        # pgd learns a full M; a reduction keeps its leading eigen-directions (rows of L are
        # sorted by eigenvalue)
        self.components_ = L[:self.n_components] if self.solver == "pgd" else L
        self.n_triplets_ = triplets.at(L).n_triplets
        self.n_iter_ = n_iter
        self.objective_ = np.asarray(values)
        self.train_accuracy_ = leave_one_out_accuracy(self.transform(X), labels,
                                                      self.n_neighbors)
        name = type(self).__name__
        if self.verbose:
            print(f"[{name}] {self.solver}: {n_iter} iterations, objective {values[-1]:.6g}, "
                  f"{time.perf_counter() - start:.2f} s, "
                  f"{'converged' if converged else 'not converged'}; {self.n_triplets_} "
                  f"triplets; training leave-one-out {self.n_neighbors}-NN accuracy "
                  f"{self.initial_train_accuracy_:.4f} -> {self.train_accuracy_:.4f}")
        if not converged:
            warnings.warn(f"[{name}] {self.solver} did not converge after {n_iter} iterations "
                          f"({message}); raise max_iter or tol.", ConvergenceWarning,
                          stacklevel=2)
        if self.train_accuracy_ < self.initial_train_accuracy_ - self.WORSE_THAN_START:
            warnings.warn(
                f"[{name}] The learned metric classifies the training data worse than the "
                f"starting one (leave-one-out {self.n_neighbors}-NN accuracy "
                f"{self.initial_train_accuracy_:.4f} -> {self.train_accuracy_:.4f}): the "
                "objective's optimum does not separate the classes here. Lower pull_weight, "
                "raise regularisation, use impostors='nearest' (the default), or keep the "
                "starting metric.", UserWarning,
                stacklevel=2)
        return self

    def _minimise(self, objective, L0, report):
        """Run the solver; restart it (with the iterations left) while the active triplets'
        sample rate changed during a run, since the objective changed with it."""
        tol = self.tol
        if tol is None:
            followed = self.solver == "lbfgs" and self.impostors != "fixed"
            tol = self.DEFAULT_TOL["lbfgs, followed impostors" if followed else self.solver]
        L, n_iter, values = L0, 0, []
        while True:
            changes = getattr(objective.triplets, "rate_changes", 0)
            if self.solver == "pgd":
                L, steps, converged, part, message = projected_subgradient(
                    objective.value_and_gradient_M, L, max_iter=self.max_iter - n_iter,
                    tol=tol, callback=report)
            else:
                L, steps, converged, part, message = lbfgs(
                    objective.value_and_gradient_L, L, max_iter=self.max_iter - n_iter,
                    tol=tol, callback=report)
            n_iter += steps
            values += part
            if (getattr(objective.triplets, "rate_changes", 0) == changes
                    or n_iter >= self.max_iter or steps == 0):
                return L, n_iter, converged, values, message

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

    def _initial_components(self, X, y):
        n_features = X.shape[1]
        n_components = n_features if self.n_components is None else self.n_components
        if n_components > n_features:
            raise ValueError(f"n_components={n_components} is larger than the number of "
                             f"features ({n_features}); choose at most {n_features}.")
        if isinstance(self.init, np.ndarray):
            L0 = np.asarray(self.init, dtype=float)
            if L0.shape != (n_components, n_features):
                raise ValueError(f"init has shape {L0.shape}; expected "
                                 f"(n_components, n_features) = {(n_components, n_features)}.")
            return L0
        init = self.init
        if init == "auto":  # the reference's pgd starts at M = I whatever n_components
            init = ("identity" if n_components == n_features or self.solver == "pgd"
                    else "pca")
        if init == "identity":
            return np.eye(n_features if self.solver == "pgd" else n_components, n_features)
        if init == "random":  # as scikit-learn's NCA and metric-learn draw it
            return check_random_state(self.random_state).standard_normal(
                (n_components, n_features))
        if init == "lda":  # the most discriminant directions first, then PCA's
            n_lda = min(n_components, np.unique(y).size - 1)
            lda = LinearDiscriminantAnalysis(n_components=n_lda).fit(X, y)
            rows = [lda.scalings_[:, :n_lda].T]
            if n_components > n_lda:
                rows.append(self._pca_rows(X, n_components - n_lda))
            return np.vstack(rows)
        return self._pca_rows(X, n_components)

    def _pca_rows(self, X, n_components):
        """The leading principal directions, zero rows where the data have fewer."""
        n_pca = min(n_components, X.shape[0], X.shape[1])
        pca = PCA(n_components=n_pca, random_state=self.random_state).fit(X)
        return np.vstack([pca.components_, np.zeros((n_components - n_pca, X.shape[1]))])

    #: verbose=1 prints an iteration when this many seconds passed since the last line.
    PROGRESS_SECONDS = 2.0

    def _progress_reporter(self, start):
        """``report(L, iteration, value)`` for the solvers: counts iterations across restarts,
        prints progress (verbose=1: the first iteration, then every ``PROGRESS_SECONDS``;
        verbose=2: every iteration) and calls ``callback``."""
        name = type(self).__name__
        if self.verbose:
            print(f"[{name}] {'Iteration':>10} {'Objective':>14} {'Time(s)':>9}")
        state = {"iterations": 0, "printed": -np.inf}

        def report(L, _, value):
            state["iterations"] += 1
            now = time.perf_counter()
            if self.verbose > 1 or (self.verbose and now - state["printed"]
                                    >= self.PROGRESS_SECONDS):
                print(f"[{name}] {state['iterations']:>10d} {value:>14.6e} {now - start:>9.2f}")
                sys.stdout.flush()
                state["printed"] = now
            if self.callback is not None:
                self.callback(L, state["iterations"])

        return report

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

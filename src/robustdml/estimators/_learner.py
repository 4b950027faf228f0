"""What every robustdml metric learner shares, so that a learner is only "where its triplets come
from" plus "its loss terms".

:class:`MetricLearner` owns the parameters common to all learners (the perturbation loss, the
solver, the initial L, iterations and tolerance, smoothing, progress and callback, random state)
and their constraints, the initialisation, progress reporting, one minimiser that returns a
:class:`FitResult`, convergence warnings and the training-accuracy check. Their documentation is
written once here (``SHARED_DOCS``) and filled into each learner's docstring by
:func:`fill_shared_docs`, with each learner's own defaults.
"""

import inspect
import re
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from .._compat import Interval, StrOptions, _fit_context
from ..math import PerturbationLoss, leave_one_out_accuracy
from ..math._linalg import serial_blas
from ..math.optimize import lbfgs, projected_subgradient
from ._base import MahalanobisMixin, validate_numeric


#: The parameters and fitted attributes the learners share, by name: (type, description).
#: :func:`fill_shared_docs` writes them into each learner's docstring with its own defaults.
SHARED_DOCS = {
    "pull_weight": (
        "float in [0, 1]",
        "The weight mu of the pull term, which draws each point's targets closer; the push "
        "term, LMNN's hinge, gets ``1 - mu``."),
    "perturbation_weight": (
        "float >= 0",
        "The weight lambda of the perturbation loss, which asks every triplet for an "
        "adversarial margin of at least ``perturbation_margin``; 0 leaves it out."),
    "perturbation_margin": (
        "float > 0",
        "The adversarial margin tau that the perturbation loss asks of every triplet, in the units "
        "of the input features: give it as a fraction of "
        ":func:`robustdml.metrics.data_scale` (see :doc:`/user_guide/hyperparameters`)."),
    "regularisation": (
        "float >= 0",
        "The weight r of the pull towards the starting metric, relative to the LMNN terms' "
        "value there: moving M by its own size costs r times their starting value. It keeps a "
        "full-rank metric from fitting the training set along directions only it supports."),
    "solver": (
        '{"lbfgs", "pgd"}',
        '"lbfgs" runs L-BFGS-B on L, with the hinges smoothed by ``smoothing``. "pgd" is the '
        "authors' projected sub-gradient descent on M, step for step, on the exact objective; "
        "it is much slower."),
    "n_components": (
        "int or None",
        "Rows of L, the dimension of the learned space; None keeps ``n_features``. pgd learns "
        "the full M and keeps its ``n_components`` leading eigen-directions."),
    "init": (
        '{"auto", "identity", "pca", "lda", "random"} or ndarray of shape '
        "(n_components, n_features)",
        'The initial L. "auto" is the identity unless ``n_components`` reduces the dimension, '
        "then PCA; \"lda\" takes the discriminant directions of scikit-learn's "
        "``LinearDiscriminantAnalysis``, then PCA's (it needs class labels); \"random\" a "
        "standard normal draw seeded by ``random_state``; an array is used as it is. pgd starts "
        'from ``M = L^T L``, the identity for "auto".'),
    "max_iter": (
        "int",
        "Maximum number of L-BFGS iterations or pgd steps."),
    "tol": (
        "float or None",
        "The stopping tolerance: lbfgs stops when an iteration decreases the objective by less "
        "than ``tol * max(|f|, 1)``; pgd when the last 5 changes of the objective are below "
        "``tol * f``. None takes the learner's ``DEFAULT_TOL`` (<tolerances>)."),
    "smoothing": (
        "float >= 0",
        "For lbfgs only: the width of the quadratic smoothing of each hinge, in units of its "
        "margin (1 for LMNN's hinge, tau^2 for the perturbation loss). 0 minimizes the exact "
        "objective."),
    "callback": (
        "callable or None",
        "Called after every iteration as ``callback(L, n_iter)`` with the current L as a "
        "matrix (``NCA`` passes it flattened, as scikit-learn's NCA does) and the number of "
        "iterations run."),
    "verbose": (
        "int",
        "0 prints nothing; 1 prints progress at least every 2 seconds and a summary "
        "(iterations, time, training accuracy before and after); 2 prints every iteration."),
    "random_state": (
        "int, RandomState instance or None",
        'Seeds ``init="pca"`` and ``init="random"``, and, in LMNN and NCA, the subset of '
        "triplets kept when there are too many."),
    "components_": (
        "ndarray of shape (n_components, n_features)",
        "The learned L; the metric is ``M = L^T L``."),
    "n_iter_": (
        "int",
        "Iterations run."),
    "objective_": (
        "ndarray of shape (n_values,)",
        "The objective after each iteration."),
    "initial_train_accuracy_": (
        "float",
        "Leave-one-out k-NN accuracy on the training data under the starting metric."),
    "train_accuracy_": (
        "float",
        "Leave-one-out k-NN accuracy on the training data under the learned metric; a warning "
        "says when it is lower than ``initial_train_accuracy_`` by more than "
        "``WORSE_THAN_START``."),
    "n_features_in_": (
        "int",
        "Number of features seen during ``fit``."),
    "feature_names_in_": (
        "ndarray of shape (`n_features_in_`,)",
        "Names of the features seen during ``fit``; defined only when X has feature names "
        "that are all strings."),
}

#: A docstring line holding only ``{name}``: where the shared entry of ``name`` goes.
_SHARED_ENTRY = re.compile(r"^( *)\{(\w+)\}$", flags=re.MULTILINE)


def fill_shared_docs(cls):
    """Write the shared entries of :data:`SHARED_DOCS` into the docstring of ``cls``.

    Each docstring line that holds only ``{name}`` becomes the entry of ``name``, at that
    line's indentation; a parameter gets the default of ``cls.__init__``.

    Parameters
    ----------
    cls : type
        A subclass of :class:`MetricLearner`.

    Returns
    -------
    type
        ``cls``, with its docstring filled in.

    See Also
    --------
    MetricLearner : The base whose parameters the entries describe.

    Examples
    --------
    >>> from robustdml import LMNN
    >>> print(LMNN.__doc__.split("max_iter : ")[1].splitlines()[0])
    int, default=1000
    """
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    tolerances = "; ".join(f"{solver}: {tol:.0e}".replace("e-0", "e-")
                           for solver, tol in getattr(cls, "DEFAULT_TOL", {}).items())

    def entry(match):
        indent, name = match.groups()
        kind, description = SHARED_DOCS[name]
        if name in defaults:
            value = defaults[name]
            kind += f", default={value!r}".replace("'", '"')
        body = textwrap.fill(description.replace("<tolerances>", tolerances), width=92,
                             initial_indent=indent + "    ", subsequent_indent=indent + "    ",
                             break_long_words=False, break_on_hyphens=False)
        return f"{indent}{name} : {kind}\n{body}"

    cls.__doc__ = _SHARED_ENTRY.sub(entry, cls.__doc__)
    return cls


@dataclass
class FitResult:
    """What one minimization returns.

    Parameters
    ----------
    components : ndarray of shape (n_rows, n_features)
        The final L (pgd: all rows, leading eigen-directions first).
    n_iter : int
        Iterations run.
    converged : bool
        Whether the solver met its tolerance.
    objective : list of float
        The objective after each iteration.
    message : str
        Why the solver stopped.
    seconds : float
        Wall-clock time of the minimization.

    See Also
    --------
    MetricLearner : The learners whose minimizer returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.estimators import FitResult
    >>> FitResult(np.eye(2), 3, True, [2.0, 1.5, 1.4], "converged", 0.01).n_iter
    3
    """

    components: np.ndarray
    n_iter: int
    converged: bool
    objective: list
    message: str
    seconds: float


class _RefusesMetricLearnArguments:
    """Gives metric-learn's arguments the robustdml one to use, as a TypeError, instead of
    Python's bare "unexpected keyword argument" from ``__init__``."""

    #: metric-learn arguments this learner does not take, each with a function of the value
    #: passed (and all the keyword arguments) saying what to pass instead.
    _metric_learn_arguments: dict = {
        "preprocessor": lambda value, arguments: (
            "robustdml learners take X itself: put the preprocessing in a Pipeline before "
            "the learner"),
    }

    def __new__(cls, *args, **kwargs):
        # a base of its own, so that inspect.signature (numpydoc, Sphinx) still reads the
        # learners' __init__; clone, get_params and pickle never pass such an argument
        advice = [f"{name}={value!r}: {cls._metric_learn_arguments[name](value, kwargs)}"
                  for name, value in kwargs.items() if name in cls._metric_learn_arguments]
        if advice:
            raise TypeError(f"{cls.__name__} does not take metric-learn's argument(s) "
                            + "; ".join(advice) + ".")
        return super().__new__(cls)


@fill_shared_docs
class MetricLearner(_RefusesMetricLearnArguments, MahalanobisMixin, BaseEstimator):
    """Base of robustdml's linear metric learners, which learn ``M = L^T L``.

    A subclass lists every parameter in its ``__init__`` (scikit-learn reads them from its
    signature), passes the shared ones to ``super().__init__``, adds its own constraints to
    ``_parameter_constraints`` and implements ``_fit_metric``: it builds the objective (an
    object with ``value_and_gradient_L`` and ``value_and_gradient_M``, such as
    :class:`robustdml.math.TripletObjective`) and minimizes it with ``_minimise``.

    Parameters
    ----------
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

    See Also
    --------
    robustdml.LMNN : Large-margin nearest neighbors, with the perturbation loss.
    robustdml.NCA : Neighborhood components analysis, with the perturbation loss.
    robustdml.ARML : Adversarially robust metric learning.
    robustdml.TripletLMNN : LMNN from triplet constraints.

    Examples
    --------
    >>> from robustdml import LMNN
    >>> from robustdml.estimators import MetricLearner
    >>> isinstance(LMNN(), MetricLearner)
    True
    """

    #: verbose=1 prints an iteration when this many seconds passed since the last line.
    PROGRESS_SECONDS = 2.0

    #: Leave-one-out training accuracy lost to the fit beyond which a warning is given.
    WORSE_THAN_START = 0.01

    #: Tolerance of each solver when ``tol=None``.
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6}

    _parameter_constraints: dict = {
        "perturbation_weight": [Interval(Real, 0, None, closed="left")],
        "perturbation_margin": [Interval(Real, 0, None, closed="neither")],
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

    def __init__(self, *, perturbation_weight, perturbation_margin, solver, n_components, init,
                 max_iter, tol, smoothing, callback, verbose, random_state):
        self.perturbation_weight = perturbation_weight
        self.perturbation_margin = perturbation_margin
        self.solver = solver
        self.n_components = n_components
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.callback = callback
        self.verbose = verbose
        self.random_state = random_state

    #: What the warning advises when the learned metric classifies the training data worse
    #: than the starting one.
    _worse_advice = "Lower perturbation_weight or keep the starting metric."

    @property
    def _accuracy_neighbors(self):
        """k of the leave-one-out training accuracy reported."""
        return self.n_neighbors

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the metric from labelled data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points, standardized or otherwise on a common scale.
        y : array-like of shape (n_samples,)
            Class labels; at least two classes.

        Returns
        -------
        MetricLearner
            The fitted learner, ``self``.

        Raises
        ------
        ValueError
            If y has fewer than two classes, ``n_components`` exceeds the number of features,
            an ``init`` array has the wrong shape, or (LMNN) the data's scale makes the unit
            margin of the hinge meaningless: standardize X first.

        Warns
        -----
        ConvergenceWarning
            When the solver stops before meeting its tolerance.
        UserWarning
            When the learned metric classifies the training data worse than the starting one.

        See Also
        --------
        transform : Map points to the learned space.
        robustdml.CertifiedKNN : The certified k-NN classifier, which fits a learner itself.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> LMNN().fit(X, y).components_.shape
        (4, 4)
        """
        X, y = self._validate_labelled(X, y)
        result, triplets, L0 = self._fit_metric(X, y, self._initial_components(X, y))
        self._store(result)
        self.n_triplets_ = triplets.at(result.components).n_triplets
        k = self._accuracy_neighbors
        self._check_training_accuracy(X, np.unique(y, return_inverse=True)[1], L0, k,
                                      self._worse_advice)
        self._finish(result, f"{self._summary()}; training leave-one-out {k}-NN accuracy "
                             f"{self.initial_train_accuracy_:.4f} -> {self.train_accuracy_:.4f}")
        return self

    def _fit_metric(self, X, y, L0):
        """Build the objective and minimise it from ``L0``: return the :class:`FitResult`, the
        triplets (anything with ``at(L)``) and the start actually used."""
        raise NotImplementedError

    def _summary(self):
        """What the verbose summary adds after the solver's figures."""
        return f"; {self.n_triplets_} triplets"

    @property
    def _solver_smoothing(self):
        """The hinge smoothing the objective uses: ``smoothing`` for lbfgs, 0 for pgd (the
        reference's sub-gradient steps minimise the exact objective)."""
        return self.smoothing if self.solver == "lbfgs" else 0.0

    def perturbation_losses(self):
        """Return the perturbation loss term of the objective, if weighted.

        Returns
        -------
        list of PerturbationLoss
            ``[PerturbationLoss(perturbation_weight, perturbation_margin)]``, or ``[]`` when
            ``perturbation_weight`` is 0.

        See Also
        --------
        robustdml.PerturbationLoss : The loss term.

        Examples
        --------
        >>> from robustdml import LMNN
        >>> LMNN().perturbation_losses()
        []
        >>> len(LMNN(perturbation_weight=1.0).perturbation_losses())
        1
        """
        if self.perturbation_weight > 0:
            return [PerturbationLoss(self.perturbation_weight, self.perturbation_margin)]
        return []

    def _validate_labelled(self, X, y):
        """Validated float X and y with at least two classes (metric learning separates
        classes)."""
        X, y = validate_numeric(self, X, y, ensure_min_samples=2, dtype=float)
        check_classification_targets(y)
        if np.unique(y).size < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes in y; got only "
                             f"{np.unique(y)[0]}. Metric learning separates classes.")
        return X, y

    # ------------------------------------------------------------------ initialisation

    def _initial_components(self, X, y=None):
        """The initial L, shape (n_components, n_features) (pgd: p rows for "identity").

        "auto" is the identity when no reduction is asked, PCA otherwise; "lda" the
        discriminant directions of scikit-learn's LinearDiscriminantAnalysis (then PCA's),
        "random" a standard normal draw (``random_state``), an array is taken as it is.
        """
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
        init = self._auto_init(X, y, n_components) if self.init == "auto" else self.init
        if init == "identity":
            return np.eye(n_features if self.solver == "pgd" else n_components, n_features)
        if init == "random":  # as scikit-learn's NCA and metric-learn draw it
            return check_random_state(self.random_state).standard_normal(
                (n_components, n_features))
        if init == "lda":  # the most discriminant directions first, then PCA's
            if y is None:
                raise ValueError("init='lda' needs class labels; this learner has none.")
            n_lda = min(n_components, np.unique(y).size - 1)
            lda = LinearDiscriminantAnalysis(n_components=n_lda).fit(X, y)
            rows = [lda.scalings_[:, :n_lda].T]
            if n_components > n_lda:
                rows.append(self._pca_rows(X, n_components - n_lda))
            return np.vstack(rows)
        return self._pca_rows(X, n_components)

    def _auto_init(self, X, y, n_components):
        """The start "auto" stands for: the identity when no reduction is asked (and for pgd:
        the reference's starts at M = I whatever ``n_components``), PCA otherwise."""
        if n_components == X.shape[1] or self.solver == "pgd":
            return "identity"
        return "pca"

    def _pca_rows(self, X, n_components):
        """The leading principal directions, zero rows where the data have fewer."""
        n_pca = min(n_components, X.shape[0], X.shape[1])
        pca = PCA(n_components=n_pca, random_state=self.random_state).fit(X)
        return np.vstack([pca.components_, np.zeros((n_components - n_pca, X.shape[1]))])

    # ------------------------------------------------------------------ the minimiser

    def _default_tol(self):
        return self.DEFAULT_TOL[self.solver]

    def _minimise(self, objective, L0, n_samples, *, report=None, max_iter=None):
        """Minimise ``objective`` from ``L0`` with the chosen solver, for at most ``max_iter``
        (default: the parameter) iterations; ``report`` (from :meth:`_progress_reporter`) lets
        several runs share one progress count.

        The run is restarted (with the iterations left) while the objective's triplets changed
        their sample rate during it (``rate_changes``), since the objective changed with it.
        BLAS runs on one thread for small data (``n_samples``), where threads only contend.
        """
        tol = self._default_tol() if self.tol is None else self.tol
        max_iter = self.max_iter if max_iter is None else max_iter
        start = time.perf_counter()
        report = self._progress_reporter(start) if report is None else report
        L, n_iter, values = L0, 0, []
        with serial_blas(n_samples):
            while True:
                changes = getattr(objective.triplets, "rate_changes", 0)
                if self.solver == "pgd":
                    L, steps, converged, part, message = projected_subgradient(
                        objective.value_and_gradient_M, L, max_iter=max_iter - n_iter,
                        tol=tol, callback=report)
                else:
                    L, steps, converged, part, message = lbfgs(
                        objective.value_and_gradient_L, L, max_iter=max_iter - n_iter,
                        tol=tol, callback=report)
                n_iter += steps
                values += part
                if (getattr(objective.triplets, "rate_changes", 0) == changes
                        or n_iter >= max_iter or steps == 0):
                    break
        return FitResult(L, n_iter, converged, values, message, time.perf_counter() - start)

    def _store(self, result):
        """Set ``components_``, ``n_iter_`` and ``objective_`` from a :class:`FitResult` (pgd
        learns a full M; a reduction keeps its leading eigen-directions, the first rows)."""
        L = result.components
        self.components_ = L[:self.n_components] if self.solver == "pgd" else L
        self.n_iter_ = result.n_iter
        self.objective_ = np.asarray(result.objective)

    def _finish(self, result, summary=""):
        """Print the verbose summary and warn when the solver did not converge."""
        name = type(self).__name__
        if self.verbose:
            final = result.objective[-1] if result.objective else float("nan")
            print(f"[{name}] {self.solver}: {result.n_iter} iterations, objective {final:.6g}, "
                  f"{result.seconds:.2f} s, "
                  f"{'converged' if result.converged else 'not converged'}{summary}")
        if not result.converged:
            advice = "; raise max_iter or tol" if result.n_iter >= self.max_iter else ""
            warnings.warn(f"[{name}] {self.solver} did not converge after {result.n_iter} "
                          f"iterations ({result.message}){advice}.",
                          ConvergenceWarning, stacklevel=3)

    def _check_training_accuracy(self, X, labels, L0, n_neighbors, advice):
        """Set ``initial_train_accuracy_`` and ``train_accuracy_`` (leave-one-out k-NN on the
        training data under the starting and the learned metric) and warn when the fit lost
        more than ``WORSE_THAN_START``; ``advice`` says what to try."""
        self.initial_train_accuracy_ = leave_one_out_accuracy(X @ L0.T, labels, n_neighbors)
        self.train_accuracy_ = leave_one_out_accuracy(X @ self.components_.T, labels,
                                                      n_neighbors)
        if self.train_accuracy_ < self.initial_train_accuracy_ - self.WORSE_THAN_START:
            warnings.warn(
                f"[{type(self).__name__}] The learned metric classifies the training data worse "
                f"than the starting one (leave-one-out {n_neighbors}-NN accuracy "
                f"{self.initial_train_accuracy_:.4f} -> {self.train_accuracy_:.4f}): the "
                f"objective's optimum does not separate the classes here. {advice}",
                UserWarning, stacklevel=3)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._learns_from_labels
        return tags

    #: Whether ``fit`` takes class labels (False for learners that take triplets).
    _learns_from_labels = True

    #: Whether ``callback`` gets L flattened (as scikit-learn's NCA passes it) or as a matrix.
    _flat_callback = False

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
                self.callback(L.ravel() if self._flat_callback else L, state["iterations"])

        return report

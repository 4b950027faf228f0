"""What every robustdml metric learner shares, so that a learner is only "where its triplets come
from" plus "its loss terms".

:class:`MetricLearner` owns the parameters common to all learners (the perturbation loss, the
solver, the initial L, iterations and tolerance, smoothing, progress and callback, random state)
and their constraints, input validation, the initialization, progress reporting, one minimizer
that returns a :class:`FitResult`, convergence warnings, the training-accuracy check and the
state model files keep. A learner implements one hook, ``_fit_metric`` (the contract is in
:class:`MetricLearner`'s Notes). The shared documentation is written once here
(``SHARED_DOCS``) and filled into each learner's docstring by :func:`fill_shared_docs`, with
each learner's own defaults.
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
from ..math import (ActiveTriplets, PerturbationLoss, TripletObjective, data_scale,
                    leave_one_out_accuracy)
from ..math._linalg import serial_blas
from ..math.optimize import lbfgs, projected_subgradient
from ._base import MahalanobisMixin, SavedStateMixin, validate_numeric


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
        '"auto" or float > 0',
        "The adversarial margin tau that the perturbation loss asks of every triplet. \"auto\" "
        "is <fraction> times the data scale of the training data "
        "(:func:`robustdml.metrics.data_scale`, the median distance from a point to the nearest "
        "point of another class; TripletLMNN: :func:`robustdml.math.triplet_scale`), the "
        "learner's ``AUTO_MARGIN_FRACTION``, chosen by a benchmark "
        "(:doc:`/user_guide/hyperparameters`); a float is tau in the units of the input "
        "features. The value used is "
        "``perturbation_margin_``."),
    "drift_weight": (
        "float >= 0",
        "The weight r of the penalty on M drifting from its starting metric, relative to the "
        "LMNN terms' value there: moving M by its own size costs r times their starting value. "
        "It keeps a full-rank metric from fitting the training set along directions only it "
        "supports. Not metric-learn's ``regularization``, which weighs the push term."),
    "regularisation": (
        "float >= 0",
        "Deprecated: the old name of ``drift_weight``, used instead of it when given, with a "
        "FutureWarning; it is removed in the next release."),
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
    "perturbation_margin_": (
        "float",
        "The margin tau the fit used: <fraction> times the data scale of the training data "
        "for ``perturbation_margin=\"auto\"`` (set also when ``perturbation_weight`` is 0; "
        "0, with a warning, on data whose scale is 0: the loss then asks nothing), else "
        "``perturbation_margin``."),
    "n_iter_": (
        "int",
        "Iterations run."),
    "objective_": (
        "ndarray of shape (n_values,)",
        "The objective after each iteration."),
    "initial_train_accuracy_": (
        "float",
        "Leave-one-out k-NN accuracy on the training data under the starting metric (on a "
        "fixed sample of ``TRAINING_ACCURACY_SAMPLE`` training points when there are more)."),
    "train_accuracy_": (
        "float",
        "Leave-one-out k-NN accuracy on the training data under the learned metric (on the "
        "same sample); a warning "
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
    fraction = f"{cls.AUTO_MARGIN_FRACTION:g}" if hasattr(cls, "AUTO_MARGIN_FRACTION") else ""

    def entry(match):
        indent, name = match.groups()
        kind, description = SHARED_DOCS[name]
        if name in defaults:
            value = defaults[name]
            kind += f", default={value!r}".replace("'", '"')
        description = description.replace("<tolerances>", tolerances)
        body = textwrap.fill(description.replace("<fraction>", fraction), width=92,
                             initial_indent=indent + "    ", subsequent_indent=indent + "    ",
                             break_long_words=False, break_on_hyphens=False)
        return f"{indent}{name} : {kind}\n{body}"

    cls.__doc__ = _SHARED_ENTRY.sub(entry, cls.__doc__)
    return cls


@dataclass
class FitResult:
    """What one minimization returns, and what a learner's ``_fit_metric`` returns to ``fit``.

    ``fit`` sets ``components_`` (for pgd, the first ``n_components`` rows), ``n_iter_``,
    ``objective_`` and ``n_triplets_`` from it, and warns when ``converged`` is False.

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
    n_triplets : int, default=0
        Triplets of the objective at the final L (the minimizer counts them for a
        :class:`~robustdml.math.TripletObjective`); 0 for a learner without triplets.
    train_accuracies : tuple of (float, float) or None, default=None
        The leave-one-out training accuracies under the starting and the returned L, on the
        rows of ``MetricLearner._training_rows``, when the learner measured them (LMNN reads
        them from its passes' neighbor searches); None: ``fit`` measures them.

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
    n_triplets: int = 0
    train_accuracies: tuple = None


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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Sphinx documents a class defining __new__ by __new__'s (*args, **kwargs) unless the
        # class carries a __signature__: give it __init__'s
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        cls.__signature__ = inspect.Signature(parameters)


@fill_shared_docs
class MetricLearner(_RefusesMetricLearnArguments, SavedStateMixin, MahalanobisMixin,
                    BaseEstimator):
    """Base of robustdml's linear metric learners, which learn ``M = L^T L``.

    A new learner subclasses it and implements one method, ``_fit_metric``; ``fit``, the
    shared parameters, ``transform`` and the metric-learn surface, model files and
    :class:`~robustdml.CertifiedKNN` then work as for :class:`~robustdml.LMNN`. The contract
    is in the Notes; :doc:`/user_guide/learners` has an example.

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

    Notes
    -----
    **What a learner implements.** ``_fit_metric(X, y, initial_components)`` returns a
    :class:`FitResult`. It usually builds an objective (such as a
    :class:`~robustdml.math.TripletObjective` of its triplets, its own loss terms and
    :meth:`perturbation_losses`) and returns ``self._minimize(objective,
    initial_components, len(X))``, which runs the chosen solver; a learner with a closed
    form may build the :class:`FitResult` itself.

    **What it may assume.** X is a float array of shape (n_samples, n_features), validated
    by scikit-learn (finite, at least two rows); y holds the labels as given, with at least
    two classes; ``initial_components`` is the L that ``init`` and ``n_components`` ask for
    (with pgd and an identity start, all ``n_features`` rows). The parameters are
    attributes, unchanged since ``__init__``; ``perturbation_margin_`` holds the margin
    (``"auto"`` resolved from the training data), which :meth:`perturbation_losses` uses;
    random draws take ``sklearn.utils.check_random_state(self.random_state)``.

    **What the subclass declares.** Every parameter in its ``__init__``, the shared ones
    passed to ``super().__init__`` (scikit-learn reads them from the signature); its own
    constraints added to ``_parameter_constraints``; its docstring entries, with ``{name}``
    lines for the shared ones and ``fill_shared_docs`` (of this module) as class decorator.
    Optional, with the default in brackets: ``_accuracy_neighbors``, the k of the training
    accuracy (3; :class:`~robustdml.LMNN` uses its ``n_neighbors``); ``_worse_advice``, what
    the warning of a metric worse than its start advises; ``DEFAULT_TOL``, the tolerance per
    solver when ``tol=None``; ``_saved_attributes``, the fitted attributes model files keep
    (those ``fit`` sets; add any the learner sets itself).

    **What the base class does.** ``fit`` validates the parameters, X and y, sets
    ``perturbation_margin_``, computes the initial L, calls ``_fit_metric``, sets
    ``components_``, ``n_iter_``, ``objective_`` and ``n_triplets_`` from the result, the
    leave-one-out training accuracies before and after (with a warning when the fit lost
    more than ``WORSE_THAN_START``), prints the verbose summary and warns when the solver did
    not converge. ``_minimize`` reports progress,
    calls ``callback`` and restarts a run whose :class:`~robustdml.math.ActiveTriplets`
    changed their sample rate during it.

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

    #: Above this many training points, ``initial_train_accuracy_`` and ``train_accuracy_`` are
    #: measured on a fixed sample of this many (two exact searches of every point would cost
    #: two k-NN graphs of the training data, hours at a million points).
    TRAINING_ACCURACY_SAMPLE = 10_000

    #: Tolerance of each solver when ``tol=None``.
    DEFAULT_TOL = {"pgd": 1e-7, "lbfgs": 1e-6}

    #: ``perturbation_margin="auto"`` is this fraction of the training data's scale, chosen by
    #: ``benchmarks/margin.py`` (:doc:`/user_guide/hyperparameters`).
    AUTO_MARGIN_FRACTION = 0.5

    _parameter_constraints: dict = {
        "perturbation_weight": [Interval(Real, 0, None, closed="left")],
        "perturbation_margin": [Interval(Real, 0, None, closed="neither"),
                                StrOptions({"auto"})],
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

    #: k of the leave-one-out k-NN training accuracy (a learner with targets per point
    #: overrides it with a property returning its ``n_neighbors``).
    _accuracy_neighbors = 3

    _saved_attributes = ("components_", "n_iter_", "objective_", "n_triplets_",
                         "n_features_in_", "initial_train_accuracy_", "train_accuracy_",
                         "perturbation_margin_")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the metric from labeled data.

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
        self._set_perturbation_margin(lambda: data_scale(X, y))
        L0 = self._initial_components(X, y)
        result = self._fit_metric(X, y, L0)
        if not isinstance(result, FitResult):
            raise TypeError(f"{type(self).__name__}._fit_metric returned a "
                            f"{type(result).__name__}; it must return a FitResult (see "
                            "MetricLearner's Notes).")
        self._store(result)
        k = self._accuracy_neighbors
        self._check_training_accuracy(X, np.unique(y, return_inverse=True)[1], L0, k,
                                      self._worse_advice, result.train_accuracies)
        self._finish(result, f"{self._summary()}; training leave-one-out {k}-NN accuracy "
                             f"{self.initial_train_accuracy_:.4f} -> {self.train_accuracy_:.4f}")
        return self

    def _fit_metric(self, X, y, initial_components):
        """Learn L from validated data: the one method a learner implements.

        ``fit`` calls it between its validation and initialization and its bookkeeping; the
        class's Notes give the whole contract.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training points: float, finite, at least two rows.
        y : ndarray of shape (n_samples,)
            Class labels as given to ``fit``; at least two classes.
        initial_components : ndarray of shape (n_components, n_features)
            The starting L that ``init`` and ``n_components`` ask for (pgd from the
            identity: all ``n_features`` rows).

        Returns
        -------
        FitResult
            The learned L and the solver's record, as :meth:`_minimize` returns them.

        Raises
        ------
        NotImplementedError
            In this base class: a learner implements it.

        See Also
        --------
        _minimize : Minimize an objective with the chosen solver.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> result = LMNN()._fit_metric(X, y, np.eye(4))
        >>> result.components.shape, result.converged
        ((4, 4), True)
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_metric(X, y, "
                                  "initial_components), returning a FitResult (see "
                                  "MetricLearner's Notes).")

    def _summary(self):
        """What the verbose summary adds after the solver's figures."""
        return f"; {self.n_triplets_} triplets"

    @property
    def _solver_smoothing(self):
        """The hinge smoothing the objective uses: ``smoothing`` for lbfgs, 0 for pgd (the
        reference's sub-gradient steps minimize the exact objective)."""
        return self.smoothing if self.solver == "lbfgs" else 0.0

    def perturbation_losses(self):
        """Return the perturbation loss term of the objective, if weighted.

        Its margin is ``perturbation_margin_``, which ``fit`` sets before it calls
        ``_fit_metric``; before any fit, a float ``perturbation_margin``.

        Returns
        -------
        list of PerturbationLoss
            ``[PerturbationLoss(perturbation_weight, perturbation_margin_)]``, or ``[]`` when
            ``perturbation_weight`` or the margin is 0.

        Raises
        ------
        ValueError
            Before any fit with ``perturbation_margin="auto"``: the margin comes from the
            training data.

        See Also
        --------
        robustdml.PerturbationLoss : The loss term.

        Examples
        --------
        >>> from robustdml import LMNN
        >>> LMNN().perturbation_losses()
        []
        >>> LMNN(perturbation_weight=1.0, perturbation_margin=0.2).perturbation_losses()[0].margin
        0.2
        """
        margin = getattr(self, "perturbation_margin_", self.perturbation_margin)
        if self.perturbation_weight == 0 or margin == 0:  # 0: "auto" on data of scale 0
            return []
        if isinstance(margin, str):
            raise ValueError(f'{type(self).__name__}(perturbation_margin="auto") takes its margin '
                             "from the training data's scale: call fit first, or give "
                             "perturbation_margin as a float.")
        return [PerturbationLoss(self.perturbation_weight, margin)]

    def _set_perturbation_margin(self, scale):
        """Set ``perturbation_margin_``: ``AUTO_MARGIN_FRACTION * scale()`` for "auto" (the
        scale of the training data, computed only then), else ``perturbation_margin``."""
        if not isinstance(self.perturbation_margin, str):
            self.perturbation_margin_ = float(self.perturbation_margin)
            return
        self.perturbation_margin_ = self.AUTO_MARGIN_FRACTION * scale()
        if self.perturbation_margin_ == 0 and self.perturbation_weight > 0:
            warnings.warn(
                f'[{type(self).__name__}] perturbation_margin="auto" is a fraction of the '
                "training data's scale, which is 0 here: most points coincide with a point they "
                "should be far from (of another class, or a triplet's farther point), so the "
                "perturbation loss asks nothing. Remove the duplicates or give "
                "perturbation_margin as a float.", UserWarning, stacklevel=3)

    def _validate_labelled(self, X, y):
        """Validated float X and y with at least two classes (metric learning separates
        classes)."""
        X, y = validate_numeric(self, X, y, ensure_min_samples=2, dtype=float)
        check_classification_targets(y)
        if np.unique(y).size < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes in y; got only "
                             f"{np.unique(y)[0]}. Metric learning separates classes.")
        return X, y

    # ------------------------------------------------------------------ initialization

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

    # ------------------------------------------------------------------ the minimizer

    def _default_tol(self):
        return self.DEFAULT_TOL[self.solver]

    def _minimize(self, objective, initial_components, n_samples, *, report=None,
                  max_iter=None, tol=None):
        """Minimize an objective from an initial L with the chosen solver.

        The solver is ``solver`` with ``tol`` (or ``DEFAULT_TOL``); it reports progress as
        ``verbose`` asks and calls ``callback``. A run is restarted (with the iterations
        left) while the :class:`~robustdml.math.ActiveTriplets` of a
        :class:`~robustdml.math.TripletObjective` changed their sample rate during it, since
        the objective changed with it. BLAS runs on one thread for small data and for triplet
        objectives, where threads only contend.

        Parameters
        ----------
        objective : object
            Has ``value_and_gradient_L(L)`` (for lbfgs) and ``value_and_gradient_M(L)`` (for
            pgd), each returning the value and its gradient with respect to L or to M
            (a :class:`~robustdml.math.TripletObjective` has both).
        initial_components : ndarray of shape (n_components, n_features)
            The starting L.
        n_samples : int
            Number of training points (decides whether BLAS runs on one thread).
        report : callable or None, default=None
            From ``_progress_reporter``, for several runs that share one progress count;
            None starts a new count.
        max_iter : int or None, default=None
            Iterations allowed; None takes the ``max_iter`` parameter.
        tol : float or None, default=None
            The solver's tolerance; None takes the ``tol`` parameter (or ``DEFAULT_TOL``).

        Returns
        -------
        FitResult
            The final L and the solver's record, with ``n_triplets`` counted for a
            :class:`~robustdml.math.TripletObjective` (0 otherwise).

        See Also
        --------
        _fit_metric : The hook that calls it.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> from robustdml.math import LMNNLoss, TripletObjective, build_triplets
        >>> X, y = load_iris(return_X_y=True)
        >>> objective = TripletObjective(X, build_triplets(X, y), [LMNNLoss(0.5)])
        >>> result = LMNN()._minimize(objective, np.eye(4), len(X))
        >>> result.n_triplets
        4500
        """
        if tol is None:
            tol = self._default_tol() if self.tol is None else self.tol
        max_iter = self.max_iter if max_iter is None else max_iter
        start = time.perf_counter()
        report = self._progress_reporter(start) if report is None else report
        L, n_iter, values = initial_components, 0, []
        # a triplet objective's products (n x p by p x p) gain little from a second BLAS
        # thread at any n, and lose several times over when the cores are shared (at 60,000
        # x 50, one evaluation took 0.55 s on one thread, 0.7 to 25 s on two under load)
        serial = 0 if isinstance(objective, TripletObjective) else n_samples
        with serial_blas(serial):
            while True:
                changes = _rate_changes(objective)
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
                if _rate_changes(objective) == changes or n_iter >= max_iter or steps == 0:
                    break
        n_triplets = (objective.triplets.at(L).n_triplets
                      if isinstance(objective, TripletObjective) else 0)
        return FitResult(L, n_iter, converged, values, message, time.perf_counter() - start,
                         n_triplets)

    def _store(self, result):
        """Set ``components_``, ``n_iter_``, ``objective_`` and ``n_triplets_`` from a
        :class:`FitResult` (pgd learns a full M; a reduction keeps its leading
        eigen-directions, the first rows). L is stored C-contiguous, as a model file gives it
        back, so that a loaded learner computes bit for bit what the fitted one did."""
        L = result.components
        self.components_ = np.ascontiguousarray(L[:self.n_components] if self.solver == "pgd"
                                                else L, dtype=float)
        self.n_iter_ = result.n_iter
        self.objective_ = np.asarray(result.objective)
        self.n_triplets_ = result.n_triplets

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

    def _training_rows(self, n_samples):
        """The rows whose leave-one-out accuracy ``fit`` reports: None (every row) up to
        ``TRAINING_ACCURACY_SAMPLE`` points, else a fixed sample of that many."""
        if n_samples <= self.TRAINING_ACCURACY_SAMPLE:
            return None
        return np.sort(np.random.RandomState(0).choice(
            n_samples, self.TRAINING_ACCURACY_SAMPLE, replace=False))

    def _check_training_accuracy(self, X, labels, L0, n_neighbors, advice, measured=None):
        """Set ``initial_train_accuracy_`` and ``train_accuracy_`` (leave-one-out k-NN on the
        training data under the starting and the learned metric; ``measured``: the two as the
        learner measured them) and warn when the fit lost more than ``WORSE_THAN_START``;
        ``advice`` says what to try."""
        if measured is None:
            rows = self._training_rows(len(X))
            measured = [leave_one_out_accuracy(X @ L.T, labels, n_neighbors, rows=rows)
                        for L in (L0, self.components_)]
        self.initial_train_accuracy_, self.train_accuracy_ = (float(a) for a in measured)
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


def _rate_changes(objective):
    """How often the triplets of ``objective`` changed their sample rate so far: only
    :class:`ActiveTriplets` do (fixed triplets and other objectives never change)."""
    if isinstance(objective, TripletObjective) and isinstance(objective.triplets,
                                                              ActiveTriplets):
        return objective.triplets.rate_changes
    return 0

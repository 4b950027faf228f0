"""What happened in a cell besides its numbers: every metric learner fit (iterations, whether
it converged, the solver's message, its warnings) and the warnings raised outside the fits.

A cell used to ignore every warning, so a fit that did not converge entered the tables
unnoticed. Now the cell catches them all (:func:`catching_warnings`), and its
:class:`CertifiedKNN` fits its learners through a :class:`FitRecorder`, which notes each fit
and keeps the warnings the fit raised apart from the cell's others. Both go into the record:
``fits`` (one entry per fit, cross-validation fits and the final fit alike) and ``warnings``
(those raised outside the fits: by the splitter, the search, certification or the attack).
"""

import contextlib
import warnings
from collections import Counter

import joblib
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_memory

from ..estimators import MetricLearner
from ..estimators.finetune import _linear_map


def count_warnings(caught):
    """``[{"category", "message", "count"}]``, in order of first occurrence, from ``caught``:
    ``(category name, message)`` pairs."""
    return [{"category": category, "message": message, "count": count}
            for (category, message), count in Counter(caught).items()]


@contextlib.contextmanager
def catching_warnings():
    """Catch every warning raised in the block, each occurrence (none is shown or lost to
    Python's once-per-location rule), into the yielded list of ``(category name, message)``
    pairs."""
    caught = []
    with warnings.catch_warnings(record=True) as messages:
        warnings.simplefilter("always")
        try:
            yield caught
        finally:
            caught.extend((m.category.__name__, str(m.message)) for m in messages)


def fit_catching_warnings(fit, learner, X, y):
    """``fit(learner, X, y)`` and the warnings it raised: the function a fit cache stores, so
    that a fit loaded from the cache reports the warnings it raised when it ran."""
    with catching_warnings() as caught:
        fitted = fit(learner, X, y)
    return fitted, caught


def convergence(learner, caught):
    """``(n_iter, converged, message)`` of a fitted ``learner`` that raised the warnings
    ``caught``.

    robustdml's learners raise a ``ConvergenceWarning``, which quotes the solver's message,
    whenever the solver stops before meeting its tolerance. Other learners (scikit-learn's NCA
    warns only when verbose) count as not converged also when they ran all ``max_iter``
    iterations. The message is None for a converged fit.
    """
    n_iter = getattr(learner, "n_iter_", None)
    n_iter = None if n_iter is None else int(n_iter)
    warned = [message for category, message in caught if category == "ConvergenceWarning"]
    if warned:
        return n_iter, False, warned[0]
    max_iter = getattr(learner, "max_iter", None)
    if (not isinstance(learner, MetricLearner) and None not in (n_iter, max_iter)
            and n_iter >= max_iter):
        return n_iter, False, f"ran all max_iter={max_iter} iterations"
    return n_iter, True, None


class FitRecorder:
    """The ``memory`` of a cell's :class:`~robustdml.CertifiedKNN`: fits its metric learner
    through ``memory`` (a fit cache, or none) and notes each fit in :attr:`fits`.

    ``CertifiedKNN`` fits its learner by ``memory.cache(fit)(learner, X, y)``, in every
    cross-validation fit and in the final one, so each passes here. A fit loaded from the
    cache is noted like one that ran, with the warnings it raised then.

    Parameters
    ----------
    memory : str, joblib.Memory or None
        The fit cache (None: none).

    Attributes
    ----------
    fits : list of dict
        One entry per fit, in order: ``stage`` (the search stage that made it, 1 for the first;
        None for an untuned method), ``final`` (the fit measured on the test part), ``n_iter``,
        ``converged``, ``message`` (see :func:`convergence`) and ``warnings`` (see
        :func:`count_warnings`).
    stage : int or None
        The stage the next fits belong to, set by the cell as it tunes.
    """

    def __init__(self, memory=None):
        self.memory = check_memory(memory)
        self.fits = []
        self.stage = None

    def __deepcopy__(self, memo):
        # clone() deep-copies a parameter that is not an estimator: the search's clones of
        # the classifier must note their fits here, not in copies
        return self

    def cache(self, fit):
        """``fit``, run through the fit cache, noting each call in :attr:`fits`."""
        cached = self.memory.cache(fit_catching_warnings)

        def recorded(learner, X, y):
            fitted, caught = cached(fit, learner, X, y)
            n_iter, converged, message = convergence(fitted, caught)
            self.fits.append({"stage": self.stage, "final": False, "n_iter": n_iter,
                              "converged": converged, "message": message,
                              "warnings": count_warnings(caught)})
            return fitted
        return recorded

    def mark_final(self):
        """Mark the latest fit as the one measured on the test part (the search's refit, or
        an untuned method's only fit)."""
        if self.fits:
            self.fits[-1]["final"] = True


class FitStore(dict):
    """Fits shared by the clones of a :class:`FitOncePerData` within one cell.

    ``clone`` deep-copies it as itself, so a search's clones of the classifier all use it, and
    it pickles empty: it is a cache, not state, and a fit cache's hash of a learner holding it
    must not depend on what it has cached so far.
    """

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return type(self), ()


class FitOncePerData(BaseEstimator):
    """A fine-tuner's base estimator, fitted once per training set within a cell.

    A search over :class:`~robustdml.RobustFineTuner`'s own settings fits its base again
    for every candidate on the same folds, budget times the same fit. This stand-in for the
    base fits a clone of ``estimator`` the first time it sees a training set (and the
    estimator's parameters), keeps the base's linear map in ``store``, and on later fits
    takes it from there. Each fit raises the warnings the base's fit raised when it ran, so
    every fine-tuner fit records what it recorded before.

    Parameters
    ----------
    estimator : estimator
        The base, unfitted.
    store : FitStore
        Where the fits are kept, keyed on the estimator and the data.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The fitted base's linear map, as the fine-tuner reads it from the base itself.
    """

    def __init__(self, estimator, store):
        self.estimator = estimator
        self.store = store

    def fit(self, X, y):
        """Fit the base on ``X`` and ``y``, or take its fit on the same data from the store.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training points.
        y : ndarray of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : FitOncePerData
            The fitted stand-in.
        """
        key = joblib.hash((self.estimator, X, y))
        if key not in self.store:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                components = _linear_map(clone(self.estimator).fit(X, y), X)
            self.store[key] = components, [message.message for message in caught]
        self.components_, raised = self.store[key]
        for message in raised:
            warnings.warn(message, stacklevel=2)
        return self

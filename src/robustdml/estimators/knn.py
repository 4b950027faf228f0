"""k-nearest-neighbour classification under a learned metric, with the reference's tie rule."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_memory

from .._compat import HasMethods, Interval, _fit_context
from ..math import exact_neighbors, kneighbors, knn_vote
from ._base import validate_numeric


class KNNClassifier(ClassifierMixin, BaseEstimator):
    """k-NN majority vote under the metric of a metric learner (Euclidean if None).

    A tie between classes is broken toward the tied class whose nearest member among the k
    neighbours comes first, which for k = 3 is the label of the nearest neighbour (the rule of
    the reference experiments).

    Parameters
    ----------
    n_neighbors : int, default=3
        k.
    metric_learner : estimator with ``fit(X, y)`` and ``transform(X)``, default=None
        Cloned and fitted on the training data; neighbours are searched among the transformed
        training points. None means the Euclidean metric on X.
    memory : str, object with the ``joblib.Memory`` interface, or None, default=None
        Caches the fitted metric learner, as ``Pipeline(memory=...)`` caches transformers: a
        fit of a learner with the same parameters on the same data is loaded, not rerun (a
        search over ``n_neighbors`` then learns each metric once). A str is a cache
        directory. The key is the learner's parameters and the data, not robustdml's code:
        clear the cache after changing a learner.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    metric_learner_ : fitted clone of ``metric_learner`` (None for Euclidean)
    embedding_ : ndarray of shape (n_samples, n_components)
        The transformed training points.
    y_ : ndarray of shape (n_samples,)
        Training labels encoded as indices into ``classes_``.
    """

    #: Added to the predicted class's vote fraction in ``predict_proba`` to encode the tie rule.
    TIE_NUDGE = 1e-9

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric_learner": [HasMethods(["fit", "transform"]), None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, n_neighbors=3, metric_learner=None, *, memory=None):
        self.n_neighbors = n_neighbors
        self.metric_learner = metric_learner
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the metric learner (if any) and store the training set."""
        X, y = validate_numeric(self, X, y, dtype=float)
        check_classification_targets(y)
        if self.n_neighbors > X.shape[0]:
            raise ValueError(f"n_neighbors={self.n_neighbors} is larger than the number of "
                             f"training points (n_samples={X.shape[0]}); use at most "
                             f"{X.shape[0]}.")
        self.classes_, self.y_ = np.unique(y, return_inverse=True)
        if self.metric_learner is None:
            self.metric_learner_ = None
        else:
            fit_learner = check_memory(self.memory).cache(_fitted_clone)
            self.metric_learner_ = fit_learner(self.metric_learner, X, y)
        self.embedding_ = self._embed(X)
        self._build_index()
        return self

    def _build_index(self):
        """The neighbour index over ``embedding_`` (rebuilt, not stored, by ``robustdml.io``)."""
        self._index = exact_neighbors(self.n_neighbors, self.embedding_.shape[1]).fit(
            self.embedding_)

    def _embed(self, X):
        if self.metric_learner_ is None:
            return X
        return np.asarray(self.metric_learner_.transform(X), dtype=float)

    def kneighbors(self, X):
        """The k nearest training points of each row of X under the learned metric.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
        indices : ndarray of shape (n_queries, n_neighbors), nearest first
        """
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False, dtype=float)
        return kneighbors(self._index, self._embed(X))

    def _vote(self, X):
        """Vote counts per class and the winner index under the tie rule."""
        _, indices = self.kneighbors(X)
        return knn_vote(self.y_[indices], self.classes_.size)

    def predict_proba(self, X):
        """Fraction of the k neighbours in each class, columns ordered as ``classes_``.

        Where classes tie, the predicted one gets ``TIE_NUDGE`` more before renormalising, so
        that ``argmax(predict_proba(X)) == predict(X)`` as scikit-learn requires.
        """
        counts, winner = self._vote(X)
        proba = counts / self.n_neighbors
        proba[np.arange(len(winner)), winner] += self.TIE_NUDGE
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Majority label of the k nearest training points, ties to the nearest tied class."""
        _, winner = self._vote(X)
        return self.classes_[winner]


def _fitted_clone(learner, X, y):
    """A fitted clone of ``learner``: a module-level function, so ``joblib.Memory`` can
    cache it."""
    return clone(learner).fit(X, y)

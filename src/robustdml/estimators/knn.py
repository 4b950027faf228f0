"""k-nearest-neighbor classification under a learned metric, with the reference's tie rule."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_memory

from .._compat import HasMethods, Interval, _fit_context
from ..math import exact_neighbors, kneighbors, knn_vote
from ._base import SavedStateMixin, validate_numeric


class KNNClassifier(SavedStateMixin, ClassifierMixin, BaseEstimator):
    """The k-nearest-neighbor classifier under the metric of a metric learner.

    A tie between classes is broken toward the tied class whose nearest member among the k
    neighbors comes first, which for k = 3 is the label of the nearest neighbor (the rule of
    the reference experiments).

    Parameters
    ----------
    n_neighbors : int, default=3
        The number k of neighbors that vote.
    metric_learner : estimator or None, default=None
        An estimator with ``fit(X, y)`` and ``transform(X)``, such as :class:`LMNN`.
        Cloned and fitted on the training data; neighbors are searched among the transformed
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
        The class labels.
    metric_learner_ : estimator or None
        The fitted clone of ``metric_learner`` (None for the Euclidean metric).
    embedding_ : ndarray of shape (n_samples, n_components)
        The transformed training points.
    y_ : ndarray of shape (n_samples,)
        Training labels encoded as indices into ``classes_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``; defined only when X has feature names
        that are all strings.

    See Also
    --------
    robustdml.CertifiedKNN : The same classifier, with certified radii of its predictions.
    sklearn.neighbors.KNeighborsClassifier : Scikit-learn's k-NN classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import KNNClassifier, LMNN
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = KNNClassifier(3, LMNN()).fit(X, y)
    >>> knn.predict(X[:3])
    array([0, 0, 0])
    """

    #: Added to the predicted class's vote fraction in ``predict_proba`` to encode the tie rule.
    TIE_NUDGE = 1e-9

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric_learner": [HasMethods(["fit", "transform"]), None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    _saved_attributes = ("classes_", "y_", "embedding_", "n_features_in_", "metric_learner_")

    def __init__(self, n_neighbors=3, metric_learner=None, *, memory=None):
        self.n_neighbors = n_neighbors
        self.metric_learner = metric_learner
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the metric learner, if any, and store the training set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        KNNClassifier
            The fitted classifier, ``self``.

        Raises
        ------
        ValueError
            If ``n_neighbors`` exceeds the number of training points.

        See Also
        --------
        predict : Classify new points.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import KNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> KNNClassifier(3).fit(X, y).classes_
        array([0, 1, 2])
        """
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
        """The neighbor index over ``embedding_``."""
        self._index = exact_neighbors(self.n_neighbors, self.embedding_.shape[1]).fit(
            self.embedding_)

    def _restore_derived(self):
        """The index is rebuilt after loading, not stored."""
        self._build_index()

    def _embed(self, X):
        if self.metric_learner_ is None:
            return X
        return np.asarray(self.metric_learner_.transform(X), dtype=float)

    def kneighbors(self, X):
        """Find the k nearest training points of each query under the learned metric.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            The learned distances to the neighbors, nearest first.
        indices : ndarray of shape (n_queries, n_neighbors)
            Their rows in the training data, nearest first.

        See Also
        --------
        predict : The majority vote of these neighbors.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import KNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> distances, indices = KNNClassifier(3).fit(X, y).kneighbors(X[:1])
        >>> indices.shape
        (1, 3)
        """
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False, dtype=float)
        return kneighbors(self._index, self._embed(X))

    def _vote(self, X):
        """Vote counts per class and the winner index under the tie rule."""
        _, indices = self.kneighbors(X)
        return knn_vote(self.y_[indices], self.classes_.size)

    def predict_proba(self, X):
        """Return the fraction of the k neighbors in each class.

        Where classes tie, the predicted one gets ``TIE_NUDGE`` more before renormalizing, so
        that ``argmax(predict_proba(X)) == predict(X)`` as scikit-learn requires.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
            The vote fractions, columns ordered as ``classes_``.

        See Also
        --------
        predict : The class with the largest fraction.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import KNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> KNNClassifier(3).fit(X, y).predict_proba(X[:1]).round(2)
        array([[1., 0., 0.]])
        """
        counts, winner = self._vote(X)
        proba = counts / self.n_neighbors
        proba[np.arange(len(winner)), winner] += self.TIE_NUDGE
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict the majority label of the k nearest training points.

        A tie goes to the tied class whose nearest member comes first.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_queries,)
            The predicted labels.

        See Also
        --------
        kneighbors : The neighbors that vote.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import KNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> KNNClassifier(3).fit(X, y).predict(X[:2])
        array([0, 0])
        """
        _, winner = self._vote(X)
        return self.classes_[winner]


def _fitted_clone(learner, X, y):
    """A fitted clone of ``learner``: a module-level function, so ``joblib.Memory`` can
    cache it."""
    return clone(learner).fit(X, y)

"""What every learned Mahalanobis metric offers, with metric-learn's names, and what every
estimator that model files hold declares."""

import warnings

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data


def validate_numeric(estimator, X, y="no_validation", **kwargs):
    """scikit-learn's ``validate_data``, after naming any non-numeric column of a DataFrame
    (scikit-learn only says which string it could not convert)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a pandas DataFrame
        from pandas.api.types import is_numeric_dtype
        bad = [str(name) for name, dtype in dtypes.items() if not is_numeric_dtype(dtype)]
        if bad:
            raise ValueError(f"Column(s) {', '.join(map(repr, bad))} of X are not numeric; "
                             "encode them (e.g. sklearn.preprocessing.OneHotEncoder) or drop "
                             "them first.")
    return validate_data(estimator, X, y, **kwargs)


def _first_few(labels, max_shown=5):
    """``labels`` as a short list for a message: the first ``max_shown`` and the count."""
    shown = ", ".join(repr(label) for label in labels[:max_shown].tolist())
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > max_shown else "")


def check_labels(classes, y, n_samples):
    """y as an array of shape (n_samples,) whose labels are all among ``classes`` (the fitted
    ``classes_``): a label the classifier never saw never matches a prediction, so a score
    against it says nothing of the model (typically y in another encoding than at fit)."""
    y = np.asarray(y)
    if y.shape != (n_samples,):
        raise ValueError(f"y has shape {y.shape}; expected ({n_samples},).")
    unknown = np.unique(y[~np.isin(y, classes)])
    if unknown.size:
        raise ValueError(
            f"y holds labels the classifier was not fitted on: {_first_few(unknown)}; it "
            f"knows the classes {_first_few(np.asarray(classes))}. Pass the true labels of X "
            "in the same encoding as the y given to fit (e.g. the original strings, not "
            "integer codes), or refit on data with these classes.")
    return y


class SavedStateMixin:
    """What a model file stores of a fitted estimator, declared by the estimator itself.

    :func:`robustdml.save_model` writes an estimator's constructor parameters and the fitted
    attributes named in ``_saved_attributes``; :func:`robustdml.load_model` builds the estimator
    from its parameters, sets those attributes and calls ``_restore_derived`` to rebuild
    anything computed from them (a neighbor index, say). A fitted attribute that holds an
    estimator (the ``metric_learner_`` of a :class:`~robustdml.KNNClassifier`) is saved as
    a nested entry; one that is None is not written and comes back as None. Subclassing this
    mixin, directly or through :class:`~robustdml.estimators.MetricLearner` or
    :class:`~robustdml.KNNClassifier`, is how an estimator joins the classes model files
    hold (see :doc:`/user_guide/model_files`).

    See Also
    --------
    robustdml.save_model : Write a fitted estimator to a model file.
    robustdml.load_model : Read it back.

    Examples
    --------
    >>> from robustdml import LMNN
    >>> from robustdml.estimators import SavedStateMixin
    >>> issubclass(LMNN, SavedStateMixin)
    True
    >>> "components_" in LMNN._saved_attributes
    True
    """

    #: The fitted attributes a model file stores (numbers, arrays of numbers or strings, None,
    #: or a fitted estimator that is itself a ``SavedStateMixin``).
    _saved_attributes: tuple = ()

    def _restore_derived(self):
        """Rebuild what the fitted state derives from the saved attributes, after loading.

        :func:`robustdml.load_model` calls it once the parameters and ``_saved_attributes`` are
        set; the default has nothing to rebuild.
        """


class MahalanobisMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """The metric ``d(a, b) = ||L a - L b||_2`` of a fitted ``components_`` L.

    Subclasses set ``components_`` (L, of shape (n_components, n_features)) in ``fit``; this
    mixin provides ``transform``, ``get_mahalanobis_matrix``, ``get_metric``,
    ``pair_distance`` and ``pair_score``, with metric-learn's names.

    See Also
    --------
    robustdml.estimators.MetricLearner : The base of robustdml's learners, which uses this mixin.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import LMNN, MahalanobisMixin
    >>> X, y = load_iris(return_X_y=True)
    >>> lmnn = LMNN().fit(X, y)
    >>> isinstance(lmnn, MahalanobisMixin)
    True
    """

    def transform(self, X):
        """Map X to the learned space, where Euclidean distance is the learned metric.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points in the input space.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            ``X L^T``, the points in the learned space.

        See Also
        --------
        get_metric : The learned distance as a function of two points.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> lmnn.transform(X[:2]).shape
        (2, 4)
        """
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False)
        return X @ self.components_.T

    def get_mahalanobis_matrix(self):
        """Return the Mahalanobis matrix ``M = L^T L`` of the learned metric.

        Returns
        -------
        ndarray of shape (n_features, n_features)
            The symmetric positive semi-definite M.

        See Also
        --------
        get_metric : The learned distance as a function of two points.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> lmnn.get_mahalanobis_matrix().shape
        (4, 4)
        """
        check_is_fitted(self)
        return self.components_.T @ self.components_

    def get_metric(self):
        """Return the learned distance of two points as a function.

        It can be passed as ``metric=`` to scikit-learn estimators that accept callables.

        Returns
        -------
        callable
            ``metric(u, v, squared=False) -> float``: the learned distance of u and v, or its
            square with ``squared=True``, as metric-learn's.

        See Also
        --------
        pair_distance : The learned distance of many pairs at once.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> metric = lmnn.get_metric()
        >>> metric(X[0], X[0])
        0.0
        """
        check_is_fitted(self)
        components = self.components_.copy()

        def metric(u, v, squared=False):
            diff = np.asarray(u, dtype=float).ravel() - np.asarray(v, dtype=float).ravel()
            if diff.shape[0] != components.shape[1]:
                raise ValueError(f"metric expects points with {components.shape[1]} features, "
                                 f"got {diff.shape[0]}.")
            mapped = components @ diff
            return float(mapped @ mapped) if squared else float(np.linalg.norm(mapped))

        return metric

    def pair_distance(self, pairs):
        """Return the learned distance of each pair.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            The pairs of points.

        Returns
        -------
        ndarray of shape (n_pairs,)
            The learned distance of each pair.

        Raises
        ------
        ValueError
            If ``pairs`` does not have shape (n_pairs, 2, n_features).

        See Also
        --------
        pair_score : The opposite, a similarity.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> lmnn.pair_distance([[X[0], X[0]]])
        array([0.])
        """
        check_is_fitted(self)
        pairs = check_array(pairs, allow_nd=True, ensure_min_features=0)
        if pairs.ndim != 3 or pairs.shape[1] != 2 or pairs.shape[2] != self.n_features_in_:
            raise ValueError(f"pairs must have shape (n_pairs, 2, {self.n_features_in_}), "
                             f"got {pairs.shape}.")
        return np.linalg.norm((pairs[:, 0] - pairs[:, 1]) @ self.components_.T, axis=1)

    def pair_score(self, pairs):
        """Return the similarity of each pair: the opposite of its learned distance.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            The pairs of points.

        Returns
        -------
        ndarray of shape (n_pairs,)
            Minus :meth:`pair_distance`, so that greater means more similar.

        See Also
        --------
        pair_distance : The learned distance of each pair.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> bool(lmnn.pair_score([[X[0], X[1]]])[0] <= 0)
        True
        """
        return -self.pair_distance(pairs)

    def score_pairs(self, pairs):
        """Return the learned distance of each pair, under metric-learn's deprecated name.

        .. deprecated:: 0.1
            Use :meth:`pair_distance` (or :meth:`pair_score` for similarities).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            The pairs of points.

        Returns
        -------
        ndarray of shape (n_pairs,)
            The learned distance of each pair, as :meth:`pair_distance`.

        Warns
        -----
        FutureWarning
            Always: the name is deprecated.

        See Also
        --------
        pair_distance : The name to use.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from robustdml import LMNN
        >>> X, y = load_iris(return_X_y=True)
        >>> lmnn = LMNN().fit(X, y)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     lmnn.score_pairs([[X[0], X[0]]])
        array([0.])
        """
        warnings.warn("score_pairs is metric-learn's deprecated name for the learned distance "
                      "of pairs; use pair_distance (or pair_score for similarities).",
                      FutureWarning, stacklevel=2)
        return self.pair_distance(pairs)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

"""What every learned Mahalanobis metric offers, with metric-learn's names."""

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


class MahalanobisMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Metric ``d(a, b) = ||L a - L b||_2`` given by a fitted ``components_`` (L, shape (q, p)).

    Subclasses set ``components_`` in ``fit``; this mixin provides ``transform``,
    ``get_mahalanobis_matrix``, ``get_metric``, ``pair_distance`` and ``pair_score``.
    """

    def transform(self, X):
        """Map X to the learned space, where Euclidean distance is the learned metric.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_embedded : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False)
        return X @ self.components_.T

    def get_mahalanobis_matrix(self):
        """Return ``M = L^T L``, shape (n_features, n_features)."""
        check_is_fitted(self)
        return self.components_.T @ self.components_

    def get_metric(self):
        """Return a function ``metric(u, v, squared=False) -> float``, the learned distance
        of two points (its square with ``squared=True``, as metric-learn's).

        It can be passed as ``metric=`` to scikit-learn estimators that accept callables.
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
        """Learned distance of each pair.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)

        Returns
        -------
        distances : ndarray of shape (n_pairs,)
        """
        check_is_fitted(self)
        pairs = check_array(pairs, allow_nd=True, ensure_min_features=0)
        if pairs.ndim != 3 or pairs.shape[1] != 2 or pairs.shape[2] != self.n_features_in_:
            raise ValueError(f"pairs must have shape (n_pairs, 2, {self.n_features_in_}), "
                             f"got {pairs.shape}.")
        return np.linalg.norm((pairs[:, 0] - pairs[:, 1]) @ self.components_.T, axis=1)

    def pair_score(self, pairs):
        """Similarity of each pair: the opposite of :meth:`pair_distance`."""
        return -self.pair_distance(pairs)

    def score_pairs(self, pairs):
        """metric-learn's older name, which returned distances: use :meth:`pair_distance`."""
        warnings.warn("score_pairs is metric-learn's deprecated name for the learned distance "
                      "of pairs; use pair_distance (or pair_score for similarities).",
                      FutureWarning, stacklevel=2)
        return self.pair_distance(pairs)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

"""Error of a classifier under random Gaussian noise on its inputs (the evaluation protocol of
:doc:`/user_guide/method`, section 7)."""

import numpy as np
from sklearn.utils import check_random_state, check_X_y

from ..estimators._base import check_labels


def noise_error(classifier, X, y, sigmas, n_draws=5, random_state=None):
    """Return the error of a classifier when N(0, sigma^2 I) noise is added to X.

    Parameters
    ----------
    classifier : estimator
        A fitted classifier with ``predict``.
    X : array-like of shape (n_samples, n_features)
        Clean points.
    y : array-like of shape (n_samples,)
        True labels.
    sigmas : float or array-like of shape (n_sigmas,)
        Standard deviations of the noise, each >= 0.
    n_draws : int, default=5
        Independent noise draws per sigma.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    mean : ndarray of shape (n_sigmas,)
        Mean error over the draws, per sigma.
    std : ndarray of shape (n_sigmas,)
        Standard deviation of the error over the draws, per sigma.

    Raises
    ------
    ValueError
        If a sigma is negative or not finite, ``n_draws`` is below 1, or y has labels not
        among the classifier's ``classes_``.

    See Also
    --------
    robustdml.metrics.noise_accuracy_score : One minus the mean, at one sigma.
    robustdml.CertifiedKNN.certified_robust_error : The error under the worst perturbation.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import KNNClassifier, noise_error
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = KNNClassifier(3).fit(X, y)
    >>> mean, std = noise_error(knn, X, y, [0.0, 0.5], random_state=0)
    >>> mean.round(3)
    array([0.04 , 0.105])
    """
    X, y = check_X_y(X, y, dtype=float)
    if hasattr(classifier, "classes_"):  # a fitted classifier, or a pipeline ending in one
        y = check_labels(classifier.classes_, y, len(X))
    sigmas = np.atleast_1d(np.asarray(sigmas, dtype=float))
    if np.any(sigmas < 0) or not np.all(np.isfinite(sigmas)):
        raise ValueError(f"sigmas must be finite and >= 0, got {sigmas}.")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}.")
    rng = check_random_state(random_state)
    errors = np.array([[np.mean(classifier.predict(X + sigma * rng.standard_normal(X.shape))
                                != y) for _ in range(n_draws)] for sigma in sigmas])
    return errors.mean(axis=1), errors.std(axis=1)

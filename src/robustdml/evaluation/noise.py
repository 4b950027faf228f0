"""Error of a classifier under random Gaussian noise on its inputs (docs/method.md, section 7)."""

import numpy as np
from sklearn.utils import check_random_state, check_X_y


def noise_error(classifier, X, y, sigmas, n_draws=5, random_state=None):
    """Error when N(0, sigma^2 I) noise is added to X, for each sigma.

    Parameters
    ----------
    classifier : fitted classifier with ``predict``
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    sigmas : sequence of float >= 0
    n_draws : int
        Independent noise draws per sigma.
    random_state : int, RandomState instance or None

    Returns
    -------
    mean, std : ndarray of shape (len(sigmas),)
        Mean and standard deviation of the error over the draws.
    """
    X, y = check_X_y(X, y, dtype=float)
    sigmas = np.atleast_1d(np.asarray(sigmas, dtype=float))
    if np.any(sigmas < 0) or not np.all(np.isfinite(sigmas)):
        raise ValueError(f"sigmas must be finite and >= 0, got {sigmas}.")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}.")
    rng = check_random_state(random_state)
    errors = np.array([[np.mean(classifier.predict(X + sigma * rng.standard_normal(X.shape))
                                != y) for _ in range(n_draws)] for sigma in sigmas])
    return errors.mean(axis=1), errors.std(axis=1)

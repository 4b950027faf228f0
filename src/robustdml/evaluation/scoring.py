"""Scores of robustness for model selection: certified accuracy and accuracy under noise, as
functions and as scorers for scikit-learn's ``scoring=`` (``GridSearchCV``, ``cross_val_score``).

A scorer is called as ``scorer(estimator, X, y)`` with a fitted :class:`CertifiedKNN` or a
``Pipeline`` ending in one; the pipeline's transforms are applied first, so the radius is
measured in the space the classifier sees (e.g. after standardising).
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, check_X_y

from .certify import CertifiedKNN
from .noise import noise_error


def _split_pipeline(estimator, X):
    """``(classifier, X transformed by every step before it)``; the classifier must certify."""
    if isinstance(estimator, Pipeline):
        classifier = estimator.steps[-1][1]
        X = estimator[:-1].transform(X) if len(estimator.steps) > 1 else X
    else:
        classifier = estimator
    if not isinstance(classifier, CertifiedKNN):
        raise TypeError(f"Certified scores need a CertifiedKNN (or a Pipeline ending in one); "
                        f"got {type(classifier).__name__}.")
    return classifier, X


def _check_radius(radius):
    radius = float(radius)
    if not (radius >= 0 and np.isfinite(radius)):
        raise ValueError(f"radius must be a finite number >= 0, got {radius}.")
    return radius


def certified_accuracy_score(estimator, X, y, radius, *, relative=False):
    """Fraction of the points classified correctly with a certified radius above ``radius``:
    no perturbation of L2 norm up to ``radius`` can make them wrong (1 - certified robust
    error at ``radius``).

    Parameters
    ----------
    estimator : fitted CertifiedKNN, or Pipeline ending in one
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    radius : float >= 0
        In the classifier's input space (after the pipeline's transforms). 0 gives the plain
        accuracy on points whose prediction is not a tie of the vote.
    relative : bool, default=False
        ``radius`` in units of :func:`data_scale` of the data the classifier was fitted on.
        Certified radii grow as the training points thin out, so a fixed radius asks less of a
        classifier fitted on a subsample (successive halving's early rounds, small folds);
        a relative one asks the same at every sample size.

    Returns
    -------
    float
    """
    radius = _check_radius(radius)
    classifier, X = _split_pipeline(estimator, X)
    if relative:
        check_is_fitted(classifier)
        radius *= data_scale(classifier.X_fit_, classifier.y_)
    # radii beyond the next float above ``radius`` need not be found exactly
    radii = classifier.certified_radius(X, y, max_radius=np.nextafter(radius, np.inf))
    return float(np.mean(radii > radius))


def noise_accuracy_score(estimator, X, y, sigma, n_draws=5, random_state=0):
    """Accuracy when N(0, sigma^2 I) noise is added to X (mean over ``n_draws`` seeded draws),
    in the space of X as given (a pipeline's transforms come after the noise)."""
    return float(1.0 - noise_error(estimator, X, y, [sigma], n_draws, random_state)[0][0])


class CertifiedScorer:
    """``scorer(estimator, X, y)``: :func:`certified_accuracy_score` at a fixed radius."""

    def __init__(self, radius, relative=False):
        self.radius, self.relative = _check_radius(radius), bool(relative)

    def __call__(self, estimator, X, y):
        return certified_accuracy_score(estimator, X, y, self.radius, relative=self.relative)

    def __repr__(self):
        return f"make_certified_scorer(radius={self.radius:g}, relative={self.relative})"


class NoiseScorer:
    """``scorer(estimator, X, y)``: :func:`noise_accuracy_score` at a fixed sigma."""

    def __init__(self, sigma, n_draws=5, random_state=0):
        if not (float(sigma) >= 0 and np.isfinite(sigma)):
            raise ValueError(f"sigma must be a finite number >= 0, got {sigma}.")
        self.sigma, self.n_draws, self.random_state = float(sigma), n_draws, random_state

    def __call__(self, estimator, X, y):
        return noise_accuracy_score(estimator, X, y, self.sigma, self.n_draws,
                                    self.random_state)

    def __repr__(self):
        return f"make_noise_scorer(sigma={self.sigma:g}, n_draws={self.n_draws})"


def make_certified_scorer(radius, *, relative=False):
    """A scorer for ``scoring=``: certified accuracy at ``radius`` (greater is better);
    ``relative=True`` gives ``radius`` in units of the data scale of each fitted classifier's
    training data (see :func:`certified_accuracy_score`).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from robustdml import LMNN, CertifiedKNN
    >>> from robustdml.metrics import make_certified_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), CertifiedKNN(3, LMNN()))
    >>> search = GridSearchCV(pipe, {"certifiedknn__metric_learner__perturbation_weight": [0, 10]},
    ...                       scoring=make_certified_scorer(0.1), cv=3).fit(X, y)
    >>> bool(0 <= search.best_score_ <= 1)
    True
    """
    return CertifiedScorer(radius, relative)


def make_noise_scorer(sigma, n_draws=5, random_state=0):
    """A scorer for ``scoring=``: accuracy under N(0, sigma^2 I) input noise, seeded."""
    return NoiseScorer(sigma, n_draws, random_state)


def data_scale(X, y):
    """Median over the points of the distance to the nearest point of another class: the scale
    at which a perturbation starts to matter on this data.

    A radius or a perturbation margin given as a fraction of it means the same on any data set
    and under any preprocessing: on unit-norm rows it is about 0.4 to 1, on features scaled to
    [0, 1] anything from 0.3 (letter) to 8 (240 one-hot columns). The study certifies at
    ``0.1 * data_scale`` and searches ``perturbation_margin`` in ``[0.02, 1] * data_scale``.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.metrics import data_scale
    >>> data_scale(np.array([[0.0], [1.0], [2.0], [5.0], [7.0]]), np.array([0, 0, 0, 1, 1]))
    4.0
    """
    X, y = check_X_y(X, y)
    labels = np.unique(y)
    if len(labels) < 2:
        raise ValueError("data_scale needs points of at least two classes; y has one "
                         f"({labels[0]!r}).")
    nearest = np.empty(len(y))
    for label in labels:
        members, others = np.flatnonzero(y == label), np.flatnonzero(y != label)
        index = NearestNeighbors(n_neighbors=1).fit(X[others])
        nearest[members] = index.kneighbors(X[members])[0][:, 0]
    return float(np.median(nearest))

"""Scores of robustness for model selection: certified accuracy and accuracy under noise, as
functions and as scorers for scikit-learn's ``scoring=`` (``GridSearchCV``, ``cross_val_score``).

A scorer is called as ``scorer(estimator, X, y)`` with a fitted :class:`CertifiedKNN` or a
``Pipeline`` ending in one; the pipeline's transforms are applied first, so the radius is
measured in the space the classifier sees (e.g. after standardizing).
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
    """Return the fraction of points classified correctly with a certified radius above radius.

    No perturbation of L2 norm up to ``radius`` can make these points wrong: the score is 1
    minus the certified robust error at ``radius``.

    Parameters
    ----------
    estimator : CertifiedKNN or Pipeline
        A fitted :class:`CertifiedKNN`, or a fitted ``Pipeline`` ending in one.
    X : array-like of shape (n_samples, n_features)
        Points, in the input space of ``estimator``.
    y : array-like of shape (n_samples,)
        True labels.
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
        The certified accuracy.

    Raises
    ------
    TypeError
        If ``estimator`` is neither a :class:`CertifiedKNN` nor a ``Pipeline`` ending in one.
    ValueError
        If ``radius`` is negative or not finite, or y has labels not among the classifier's
        ``classes_``.

    See Also
    --------
    make_certified_scorer : This score as a ``scoring=`` for model selection.
    robustdml.CertifiedKNN.certified_robust_error : The error at several radii.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN
    >>> from robustdml.metrics import certified_accuracy_score
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3).fit(X, y)
    >>> round(certified_accuracy_score(knn, X, y, radius=0.1), 3)
    0.947
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
    """Return the accuracy when N(0, sigma^2 I) noise is added to X.

    The noise is added in the space of X as given: a pipeline's transforms come after it.

    Parameters
    ----------
    estimator : estimator
        A fitted classifier with ``predict``, or a pipeline ending in one.
    X : array-like of shape (n_samples, n_features)
        Clean points.
    y : array-like of shape (n_samples,)
        True labels.
    sigma : float >= 0
        Standard deviation of the noise.
    n_draws : int, default=5
        Independent noise draws, averaged.
    random_state : int, RandomState instance or None, default=0
        Seeds the noise.

    Returns
    -------
    float
        The mean accuracy over the draws.

    Raises
    ------
    ValueError
        If y has labels not among the classifier's ``classes_``.

    See Also
    --------
    make_noise_scorer : This score as a ``scoring=`` for model selection.
    robustdml.noise_error : The error at several sigmas, with its spread.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import KNNClassifier
    >>> from robustdml.metrics import noise_accuracy_score
    >>> X, y = load_iris(return_X_y=True)
    >>> round(noise_accuracy_score(KNNClassifier(3).fit(X, y), X, y, sigma=0.5), 3)
    0.892
    """
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
    """Make a scorer of the certified accuracy at a radius, for ``scoring=``.

    Greater is better. Use it with ``GridSearchCV`` or ``cross_val_score`` on a
    :class:`CertifiedKNN` or a ``Pipeline`` ending in one, to select a model for robustness
    (see :doc:`/user_guide/hyperparameters`).

    Parameters
    ----------
    radius : float >= 0
        The L2 radius, in the classifier's input space (after a pipeline's transforms).
    relative : bool, default=False
        Give ``radius`` in units of :func:`data_scale` of each fitted classifier's training
        data (see :func:`certified_accuracy_score`).

    Returns
    -------
    callable
        ``scorer(estimator, X, y)``, the :func:`certified_accuracy_score` at ``radius``.

    Raises
    ------
    ValueError
        If ``radius`` is negative or not finite.

    See Also
    --------
    certified_accuracy_score : The score it computes.
    make_noise_scorer : A scorer of the accuracy under random noise.

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
    """Make a scorer of the accuracy under N(0, sigma^2 I) input noise, for ``scoring=``.

    Parameters
    ----------
    sigma : float >= 0
        Standard deviation of the noise.
    n_draws : int, default=5
        Independent noise draws, averaged.
    random_state : int, RandomState instance or None, default=0
        Seeds the noise, so that every candidate model sees the same draws.

    Returns
    -------
    callable
        ``scorer(estimator, X, y)``, the :func:`noise_accuracy_score` at ``sigma``.

    Raises
    ------
    ValueError
        If ``sigma`` is negative or not finite.

    See Also
    --------
    noise_accuracy_score : The score it computes.
    make_certified_scorer : A scorer of the certified accuracy.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import cross_val_score
    >>> from robustdml import KNNClassifier
    >>> from robustdml.metrics import make_noise_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> scores = cross_val_score(KNNClassifier(3), X, y, scoring=make_noise_scorer(0.1), cv=3)
    >>> scores.shape
    (3,)
    """
    return NoiseScorer(sigma, n_draws, random_state)


def data_scale(X, y):
    """Return the median distance from a point to the nearest point of another class.

    It is the scale at which a perturbation starts to matter on this data: a radius or a
    perturbation margin given as a fraction of it means the same on any data set and under
    any preprocessing. The study certifies at ``0.1 * data_scale`` and searches
    ``perturbation_margin`` in ``[0.02, 1] * data_scale`` (see
    :doc:`/user_guide/hyperparameters`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points, in the space where radii are measured.
    y : array-like of shape (n_samples,)
        Their labels; at least two classes.

    Returns
    -------
    float
        The median over the points of the Euclidean distance to the nearest point of another
        class.

    Raises
    ------
    ValueError
        If y has fewer than two classes.

    See Also
    --------
    make_certified_scorer : Takes a radius relative to this scale with ``relative=True``.

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

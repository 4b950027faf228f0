"""Scores of robustness for model selection: certified accuracy and accuracy under noise, as
functions and as scorers for scikit-learn's ``scoring=`` (``GridSearchCV``, ``cross_val_score``).

A scorer is called as ``scorer(estimator, X, y)`` with a fitted :class:`CertifiedKNN` or a
``Pipeline`` ending in one. Radii are in the units of the pipeline's input by default (its
steps must then be affine: see :func:`~robustdml.certified_radius`); ``space="classifier"``
measures them in the space the classifier sees, after the pipeline's transforms.

A label of y the classifier was not fitted on (a class missing from a cross-validation fold's
training part) counts as a wrong prediction, certified radius 0, as in scikit-learn's
scorers, with a warning naming it. Labels of another kind than the fitted classes (integer
codes for a model fitted on strings, or the reverse) are refused: y is then in another
encoding than at fit, and a score of 0 would hide it.
"""

import warnings

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from ..estimators._base import _first_few, check_labels
from ..math import data_scale
from .certify import _Space, check_space
from .noise import noise_error


def _is_numeric(labels):
    return labels.dtype.kind in "biuf"


def _known_labels(classes, y, n_samples):
    """y as an array, and the mask of its labels among ``classes``.

    An unseen label warns and is left to count as a wrong prediction; labels of another kind
    than ``classes`` (strings against numbers) raise the ValueError of ``check_labels``.
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    if _is_numeric(y) != _is_numeric(classes):
        check_labels(classes, y, n_samples)  # raises, naming them: another encoding
    if y.shape != (n_samples,):
        raise ValueError(f"y has shape {y.shape}; expected ({n_samples},).")
    known = np.isin(y, classes)
    if not known.all():
        unseen = np.unique(y[~known])
        warnings.warn(
            f"y holds {np.count_nonzero(~known)} point(s) with labels the classifier was not "
            f"fitted on: {_first_few(unseen)} (it knows {_first_few(classes)}). They count as "
            "wrong predictions (certified radius 0), as in scikit-learn's scorers. In "
            "cross-validation, the fold's training part lacked these classes: use "
            "StratifiedKFold or fewer folds. Otherwise, check that y is encoded as the y "
            "given to fit.", UserWarning, stacklevel=3)
    return y, known


def _check_radius(radius):
    radius = float(radius)
    if not (radius >= 0 and np.isfinite(radius)):
        raise ValueError(f"radius must be a finite number >= 0, got {radius}.")
    return radius


def certified_accuracy_score(estimator, X, y, radius, *, relative=False, space="input"):
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
        In the units of ``space``. 0 gives the plain accuracy on points whose prediction is
        not a tie of the vote.
    relative : bool, default=False
        ``radius`` in units of :func:`data_scale` of the data the classifier was fitted on,
        measured in ``space`` (for steps that drop directions, such as PCA to fewer
        components, along the directions they keep). Certified radii grow as the training
        points thin out, so a fixed radius asks less of a classifier fitted on a subsample
        (successive halving's early rounds, small folds); a relative one asks the same at
        every sample size.
    space : {"input", "classifier"}, default="input"
        Where radii are measured for a pipeline: in X's units (every step before the
        classifier must be affine), or in the space the classifier sees, after the
        pipeline's transforms (see :func:`~robustdml.certified_radius`).

    Returns
    -------
    float
        The certified accuracy.

    Raises
    ------
    TypeError
        If ``estimator`` is neither a :class:`CertifiedKNN` nor a ``Pipeline`` ending in one.
    ValueError
        If ``radius`` is negative or not finite, y's labels are of another kind than the
        classifier's ``classes_`` (strings for numbers or the reverse: another encoding),
        or a step is not affine with ``space="input"``.

    Warns
    -----
    UserWarning
        If y has labels not among the classifier's ``classes_``: those points count as
        wrong (certified radius 0), as in scikit-learn's scorers.

    See Also
    --------
    make_certified_scorer : This score as a ``scoring=`` for model selection.
    robustdml.certified_radius : The radius of each point, in the same units.
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
    measured = _Space(estimator, X, space)
    if relative:
        radius *= data_scale(measured.training_points(), measured.classifier.y_)
    y, known = _known_labels(measured.classifier.classes_, y, _num_samples(X))
    radii = np.zeros(len(y))
    if known.any():
        seen = measured.seen if known.all() else _safe_indexing(measured.seen,
                                                                np.flatnonzero(known))
        # radii beyond the next float above ``radius`` need not be found exactly
        radii[known] = measured.classifier._certify(seen, y[known], np.nextafter(radius, np.inf),
                                                    measured.geometry())
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
        If y's labels are of another kind than the classifier's ``classes_`` (strings for
        numbers or the reverse: another encoding).

    Warns
    -----
    UserWarning
        If y has labels not among the classifier's ``classes_``: those points count as
        wrong, as in scikit-learn's scorers.

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
    if hasattr(estimator, "classes_"):  # a fitted classifier, or a pipeline ending in one
        y, known = _known_labels(estimator.classes_, y, _num_samples(X))
        if not known.all():
            # an unseen label is never predicted: its points are wrong under any noise
            if not known.any():
                return 0.0
            rows = np.flatnonzero(known)
            error = noise_error(estimator, _safe_indexing(X, rows), y[rows], [sigma], n_draws,
                                random_state)[0][0]
            return float((1.0 - error) * known.mean())
    return float(1.0 - noise_error(estimator, X, y, [sigma], n_draws, random_state)[0][0])


class CertifiedScorer:
    """``scorer(estimator, X, y)``: :func:`certified_accuracy_score` at a fixed radius."""

    def __init__(self, radius, relative=False, space="input"):
        check_space(space)
        self.radius, self.relative, self.space = _check_radius(radius), bool(relative), space

    def __call__(self, estimator, X, y):
        return certified_accuracy_score(estimator, X, y, self.radius, relative=self.relative,
                                        space=self.space)

    def __repr__(self):
        return (f"make_certified_scorer(radius={self.radius:g}, relative={self.relative}, "
                f"space={self.space!r})")


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


def make_certified_scorer(radius, *, relative=False, space="input"):
    """Make a scorer of the certified accuracy at a radius, for ``scoring=``.

    Greater is better. Use it with ``GridSearchCV`` or ``cross_val_score`` on a
    :class:`CertifiedKNN` or a ``Pipeline`` ending in one, to select a model for robustness
    (see :doc:`/user_guide/hyperparameters`).

    Parameters
    ----------
    radius : float >= 0
        The L2 radius, in the units of ``space``.
    relative : bool, default=False
        Give ``radius`` in units of :func:`data_scale` of each fitted classifier's training
        data (see :func:`certified_accuracy_score`).
    space : {"input", "classifier"}, default="input"
        For a pipeline, measure radii in the units of its input (its steps before the
        classifier must be affine) or in the space the classifier sees, after its
        transforms (see :func:`~robustdml.certified_radius`).

    Returns
    -------
    callable
        ``scorer(estimator, X, y)``, the :func:`certified_accuracy_score` at ``radius``.

    Raises
    ------
    ValueError
        If ``radius`` is negative or not finite, or ``space`` is unknown.

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
    return CertifiedScorer(radius, relative, space)


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

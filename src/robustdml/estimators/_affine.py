"""The affine map ``x -> A x + b`` of a fitted transformer, and of a chain of them.

A certificate measured in a pipeline's input units needs the map from that input to the
space the final classifier sees in closed form: composed with the metric's L, the
closed-form margin of the composition is the margin under ``L A``. Scalers, PCA, LDA and
the linear metric learners are affine; :func:`affine_map` reads A and b from their fitted
attributes where the form is known and cheap, otherwise probes ``transform`` (at a center
and one step along each feature), and in every case checks ``transform`` against
``X @ A.T + b`` on random points and on the given points before returning: a step that is
not affine (``Normalizer``, ``PolynomialFeatures``, a non-linear ``FunctionTransformer``,
``QuantileTransformer``, ``MinMaxScaler(clip=True)``) is refused, never approximated.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition._base import _BasePCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._base import MahalanobisMixin

#: ``transform`` must match ``X @ A.T + b`` to this, relative to the size of the terms
#: summed (``|X| @ |A|.T + |b|``): rounding is about 1e-16 of it, a non-affine step is off
#: by a fraction of order one.
AFFINE_RTOL = 1e-7
#: Random points on which the map is checked, besides the given ones.
N_CHECK = 64
#: Given points on which the map is checked at most (a random subset beyond).
MAX_GIVEN = 256

_WHAT_TO_DO = (
    "Certificates in the pipeline's input units need every step before the classifier to "
    "be affine (x -> A x + b: scalers, PCA, LDA, linear metric learners). Either move the "
    "non-affine step out of the pipeline (apply it to the data beforehand, so that the "
    "pipeline's input is its output) or measure radii in the space the classifier sees, "
    "with space=\"classifier\".")


#: Why common scikit-learn transformers are not affine, for the refusal's message.
_WHY_NOT = {
    "Normalizer": "it divides each row by its norm, a factor that changes with the point",
    "PolynomialFeatures": "it multiplies features together",
    "SplineTransformer": "it maps each feature through piecewise polynomials",
    "QuantileTransformer": "it maps each feature through its empirical quantiles",
    "PowerTransformer": "it maps each feature through a power or log (Yeo-Johnson, Box-Cox)",
    "KBinsDiscretizer": "it rounds each feature to a bin",
    "Binarizer": "it thresholds each feature",
}


def _step_name(transformer, name):
    return repr(name) if name is not None else type(transformer).__name__


def _transform(transformer, points):
    """``transform`` of float64 points as a dense float64 array, with the transformer's
    feature names when it was fitted on a DataFrame (else scikit-learn warns)."""
    names = getattr(transformer, "feature_names_in_", None)
    if names is not None:
        import pandas as pd
        points = pd.DataFrame(points, columns=names)
    with warnings.catch_warnings():
        # a probe outside a transformer's domain (log of a negative) is reported below
        warnings.simplefilter("ignore", RuntimeWarning)
        out = transformer.transform(points)
    out = out.toarray() if sp.issparse(out) else np.asarray(out)
    if out.dtype.kind not in "biuf":
        raise ValueError(f"transform returned values of dtype {out.dtype}, not numbers.")
    return np.asarray(out, dtype=float).reshape(len(points), -1)


def _known_form(transformer, n_features):
    """(A, b) from the fitted attributes of transformers whose form is known, else None."""
    if isinstance(transformer, StandardScaler):
        scale = transformer.scale_ if transformer.scale_ is not None else np.ones(n_features)
        mean = transformer.mean_ if transformer.with_mean else np.zeros(n_features)
        return np.diag(1.0 / scale), -mean / scale
    if isinstance(transformer, MinMaxScaler):
        return np.diag(transformer.scale_), np.asarray(transformer.min_, dtype=float)
    if isinstance(transformer, MaxAbsScaler):
        return np.diag(1.0 / transformer.scale_), np.zeros(n_features)
    if isinstance(transformer, _BasePCA):
        A = np.asarray(transformer.components_, dtype=float)
        if transformer.whiten:  # scikit-learn clips the scale at eps
            scale = np.sqrt(transformer.explained_variance_)
            A = A / np.maximum(scale, np.finfo(scale.dtype).eps)[:, None]
        return A, -(A @ transformer.mean_)
    if isinstance(transformer, MahalanobisMixin):
        A = np.asarray(transformer.components_, dtype=float)
        return A, np.zeros(A.shape[0])
    return None


def _probe(transformer, center, steps, label):
    """(A, b) from ``transform`` at ``center`` and one step along each feature."""
    points = np.vstack([center, center + np.diag(steps)])
    out = _transform(transformer, points)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"Step {label} is not affine: its transform is not finite at "
            f"{'the origin' if not np.any(center) else 'the center of the data'} or one "
            f"step from it (a log, a division?). {_WHAT_TO_DO}")
    A = ((out[1:] - out[0]) / steps[:, None]).T
    return A, out[0] - A @ center


def _check_points(X, n_features, rng):
    """(center, spread, points, n_given): the points on which the map is checked are (a
    subset of) the given ones, then random ones around their center at their spread and ten
    times it, and around the origin."""
    if X is None:
        center, spread = np.zeros(n_features), np.ones(n_features)
        given = np.empty((0, n_features))
    else:
        given = X if len(X) <= MAX_GIVEN else X[rng.choice(len(X), MAX_GIVEN, replace=False)]
        center, spread = X.mean(axis=0), X.std(axis=0)
        spread = np.where(spread > 0, spread, np.maximum(np.abs(center), 1.0))
    noise = rng.standard_normal((N_CHECK, n_features))
    random = np.vstack([center + spread * noise[:N_CHECK // 2],
                        center + 10.0 * spread * noise[N_CHECK // 2:],
                        rng.standard_normal((N_CHECK // 4, n_features))])
    return center, spread, np.vstack([given, random]), len(given)


def affine_map(transformer, n_features, *, X=None, name=None):
    """Return ``(A, b)`` with ``transformer.transform(X) == X @ A.T + b``.

    Parameters
    ----------
    transformer : estimator
        A fitted transformer (None or ``"passthrough"`` for the identity).
    n_features : int
        The number of features the transformer takes.
    X : array-like of shape (n_samples, n_features), default=None
        Points at the scale of the data (the training points, or queries): the map is
        checked on them and, for a probed transformer, probed around their mean at their
        spread. Without them it is probed at the origin with unit steps.
    name : str, default=None
        The step's name in a pipeline, for messages.

    Returns
    -------
    A : ndarray of shape (n_outputs, n_features)
        The linear part.
    b : ndarray of shape (n_outputs,)
        The offset, ``transform`` of the origin.

    Raises
    ------
    ValueError
        If ``transform`` is not affine (checked on random points and on X to a relative
        tolerance of ``AFFINE_RTOL``), or takes another number of features.
    TypeError
        If X is sparse (certificates work on dense inputs).
    sklearn.exceptions.NotFittedError
        If the transformer is not fitted.
    """
    if transformer is None or (isinstance(transformer, str) and transformer == "passthrough"):
        return np.eye(n_features), np.zeros(n_features)
    label = _step_name(transformer, name)
    if sp.issparse(X):
        raise TypeError("Certificates in input units need dense X; got a sparse matrix. "
                        "Pass X.toarray() (certified radii are L2 lengths on dense points).")
    if not hasattr(transformer, "transform"):
        raise TypeError(f"Step {label} has no transform; only the last step of a pipeline "
                        "may be the classifier.")
    check_is_fitted(transformer)
    n_in = getattr(transformer, "n_features_in_", n_features)
    if n_in != n_features:
        raise ValueError(f"Step {label} takes {n_in} features, but {n_features} reach it.")
    if X is not None:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X has shape {X.shape}; step {label} takes {n_features} "
                             "features.")
    if isinstance(transformer, MinMaxScaler) and transformer.clip:
        raise ValueError(f"Step {label} is MinMaxScaler(clip=True): clipping to "
                         "feature_range is not affine outside the training range, where a "
                         "perturbation can take a point. Use clip=False. " + _WHAT_TO_DO)
    rng = np.random.default_rng(0)
    center, spread, points, n_given = _check_points(X, n_features, rng)
    known = _known_form(transformer, n_features)
    A, b = known if known is not None else _probe(transformer, center, spread, label)
    out = _transform(transformer, points)
    if out.shape[1] != A.shape[0]:
        raise ValueError(f"Step {label} returns {out.shape[1]} features on some points and "
                         f"{A.shape[0]} on others: it is not a fixed map. {_WHAT_TO_DO}")
    with np.errstate(invalid="ignore"):
        error = np.abs(out - (points @ A.T + b))
        size = np.abs(points) @ np.abs(A).T + np.abs(b)
        bad = ~(error <= AFFINE_RTOL * size + np.finfo(float).tiny)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        source = ("its fitted attributes" if known is not None
                  else "its values at a center and one step along each feature")
        kind = type(transformer).__name__
        why = f" ({_WHY_NOT[kind]})" if kind in _WHY_NOT else ""
        raise ValueError(
            f"Step {label} ({kind}) is not affine{why}: output {column} at "
            f"a {'given' if row < n_given else 'random'} point is {out[row, column]:.6g}, "
            f"where the affine map read from {source} gives "
            f"{points[row] @ A[column] + b[column]:.6g}, so a certified radius in input "
            f"units would be wrong. {_WHAT_TO_DO}")
    return A, b


def _steps(steps):
    """(name, transformer) pairs of a Pipeline, a list of pairs or a list of transformers."""
    if isinstance(steps, Pipeline):
        return list(steps.steps)
    return [step if isinstance(step, tuple) else (None, step) for step in steps]


def compose(steps, n_features, *, X=None):
    """Return ``(A, b)`` of a chain of affine transformers applied in order.

    Parameters
    ----------
    steps : Pipeline or list
        A fitted ``Pipeline`` whose steps are all transformers (e.g. ``pipeline[:-1]``), or
        a list of fitted transformers or of ``(name, transformer)`` pairs.
    n_features : int
        The number of features the first step takes.
    X : array-like of shape (n_samples, n_features), default=None
        Points at the scale of the data; each step is checked on them as transformed by the
        steps before it (see :func:`affine_map`).

    Returns
    -------
    A : ndarray of shape (n_outputs, n_features)
        The linear part of the chain.
    b : ndarray of shape (n_outputs,)
        Its offset.

    Raises
    ------
    ValueError
        If a step is not affine (the message names the step and says what to do).
    TypeError
        If X is sparse.
    """
    A, b = np.eye(n_features), np.zeros(n_features)
    if X is not None and not sp.issparse(X):
        X = np.asarray(X, dtype=float)
    for name, transformer in _steps(steps):
        A_step, b_step = affine_map(transformer, A.shape[0], X=X, name=name)
        A, b = A_step @ A, A_step @ b + b_step
        if X is not None:
            X = X @ A_step.T + b_step
    return A, b

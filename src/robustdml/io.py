"""Safe model files: fitted estimators as NumPy ``.npz`` archives read without pickle.

A file holds a JSON header (format name and version, estimator class, parameters, attribute
names) and plain numeric or string arrays; loading never runs code from the file, and only the
classes listed in :data:`SAVED_ATTRIBUTES` can be restored. A damaged, truncated, foreign or
newer file raises :class:`ModelFileError` saying which.
"""

import json
import os
import struct
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.utils.validation import check_is_fitted

from . import __version__
from .estimators import ARML, NCA, KNNClassifier, LMNN, TripletLMNN
from .evaluation import CertifiedKNN
from .evaluation.certify import MetricGeometry

FORMAT = "robustdml-model"
FORMAT_VERSION = 1

#: Fitted attributes stored per class (derived state is rebuilt on load).
_LEARNED = ["components_", "n_iter_", "objective_", "n_triplets_", "n_features_in_"]
_LABELLED = _LEARNED + ["initial_train_accuracy_", "train_accuracy_"]
SAVED_ATTRIBUTES = {
    LMNN: _LABELLED,
    NCA: _LABELLED,
    ARML: _LABELLED + ["n_rounds_"],
    TripletLMNN: _LEARNED,
    NeighborhoodComponentsAnalysis: ["components_", "n_iter_", "n_features_in_"],
    KNNClassifier: ["classes_", "y_", "embedding_", "n_features_in_"],
    CertifiedKNN: ["classes_", "y_", "embedding_", "n_features_in_", "X_fit_"],
}
_CLASSES = {cls.__name__: cls for cls in SAVED_ATTRIBUTES}


class ModelFileError(ValueError):
    """The file is not a readable robustdml model file; the message says why.

    :func:`load` raises it for a damaged, truncated, foreign or newer file.

    See Also
    --------
    load : Read a model file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from robustdml import ModelFileError, load
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "not-a-model.npz"
    ...     _ = path.write_text("hello")
    ...     try:
    ...         load(path)
    ...     except ModelFileError:
    ...         print("refused")
    refused
    """


def _describe(estimator, arrays, prefix, fitted=True):
    """Header entry of one estimator (its parameters, and its fitted state if ``fitted``);
    its arrays go into ``arrays`` under ``prefix``."""
    cls = type(estimator)
    if cls not in SAVED_ATTRIBUTES:
        raise TypeError(f"Cannot save a {cls.__name__}: model files hold "
                        f"{', '.join(_CLASSES)}.")
    params, nested = {}, {}
    for name, value in estimator.get_params(deep=False).items():
        if isinstance(value, BaseEstimator):
            nested[name] = _describe(value, arrays, f"{prefix}{name}/", fitted=False)
        elif isinstance(value, np.ndarray):
            arrays[f"{prefix}param/{name}"] = value
            params[name] = {"array": f"{prefix}param/{name}"}
        elif value is None or isinstance(value, (bool, int, float, str)):
            params[name] = value
        elif isinstance(value, (np.integer, np.floating)):
            params[name] = value.item()
        else:
            warnings.warn(f"{cls.__name__}.{name} ({type(value).__name__}) cannot be stored "
                          "safely; it is saved as None.", UserWarning, stacklevel=3)
            params[name] = None
    entry = {"class": cls.__name__, "params": params, "fitted": {}, "nested": nested}
    if not fitted:
        return entry
    check_is_fitted(estimator)
    for name in SAVED_ATTRIBUTES[cls] + (["feature_names_in_"]
                                         if hasattr(estimator, "feature_names_in_") else []):
        value = np.asarray(getattr(estimator, name))
        if value.dtype == object:
            value = value.astype(str) if all(isinstance(v, str) for v in value.ravel()) \
                else None
            if value is None:
                raise TypeError(f"{cls.__name__}.{name} mixes types; model files store only "
                                "numeric or string arrays.")
        arrays[f"{prefix}fit/{name}"] = value
        entry["fitted"][name] = f"{prefix}fit/{name}"
    learner = getattr(estimator, "metric_learner_", None)
    if learner is not None:
        nested["metric_learner_"] = _describe(learner, arrays, f"{prefix}metric_learner_/")
    return entry


def save(estimator, path):
    """Write a fitted estimator to a safe model file.

    The file is a NumPy ``.npz`` archive of a JSON header and numeric or string arrays,
    written atomically; :func:`load` reads it without unpickling anything (see
    :doc:`/user_guide/model_files`).

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`LMNN`, :class:`NCA`, :class:`ARML`, :class:`TripletLMNN`,
        scikit-learn's ``NeighborhoodComponentsAnalysis``, :class:`KNNClassifier` or
        :class:`CertifiedKNN` (with a metric learner among these).
    path : str or path-like
        Where to write the file.

    Raises
    ------
    TypeError
        If the estimator (or its metric learner) is not a class model files hold, or a
        fitted attribute mixes types.

    Warns
    -----
    UserWarning
        When a parameter (such as a callback) cannot be stored safely: it is saved as None.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN, LMNN, load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3, LMNN()).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save(knn, Path(folder) / "knn.npz")
    ...     restored = load(Path(folder) / "knn.npz")
    >>> bool((restored.predict(X) == knn.predict(X)).all())
    True
    """
    arrays = {}
    header = {"format": FORMAT, "version": FORMAT_VERSION, "robustdml": __version__,
              "estimator": _describe(estimator, arrays, "")}
    arrays["header"] = np.array(json.dumps(header))
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _build(entry, archive, path):
    cls = _CLASSES.get(entry.get("class"))
    if cls is None:
        raise ModelFileError(f"{path} holds a {entry.get('class')!r}, which robustdml does not "
                             "load.")
    params = {name: archive[value["array"]] if isinstance(value, dict) else value
              for name, value in entry["params"].items()}
    nested = {name: _build(value, archive, path) for name, value in entry["nested"].items()}
    params.update({name: value for name, value in nested.items() if not name.endswith("_")})
    estimator = cls(**params)
    for name, key in entry["fitted"].items():
        value = archive[key]
        setattr(estimator, name, value.item() if value.ndim == 0 else value)
    if isinstance(estimator, KNNClassifier):
        estimator.metric_learner_ = nested.get("metric_learner_")
        estimator._build_index()
        if isinstance(estimator, CertifiedKNN):
            components = (np.eye(estimator.n_features_in_) if estimator.metric_learner_ is None
                          else estimator.metric_learner_.components_)
            estimator.geometry_ = MetricGeometry(components, estimator.X_fit_)
    return estimator


def load(path):
    """Read an estimator written by :func:`save`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    estimator
        The fitted estimator, as it was saved.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        Not a robustdml model file, damaged or truncated, or written by a newer format.

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import LMNN, load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save(LMNN().fit(X, y), Path(folder) / "lmnn.npz")
    ...     lmnn = load(Path(folder) / "lmnn.npz")
    >>> lmnn.transform(X).shape
    (150, 4)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT:
                raise ModelFileError(f"{path} is not a robustdml model file.")
            if header.get("version") != FORMAT_VERSION:
                raise ModelFileError(
                    f"{path} uses model format version {header.get('version')} (written by "
                    f"robustdml {header.get('robustdml')}); this robustdml {__version__} reads "
                    f"version {FORMAT_VERSION}. Load it with a matching robustdml.")
            return _build(header["estimator"], archive, path)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, KeyError,
            IndexError, AttributeError, ValueError, TypeError, NotImplementedError,
            json.JSONDecodeError) as error:
        detail = ("it holds pickled objects, which model files never do"
                  if "allow_pickle" in str(error) else f"{type(error).__name__}: {error}")
        raise ModelFileError(f"{path} is damaged, truncated or not a robustdml model file "
                             f"({detail}).") from error

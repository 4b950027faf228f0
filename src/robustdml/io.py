"""Safe model files: fitted estimators as NumPy ``.npz`` archives read without pickle.

A file holds a JSON header (format name and version, estimator class and module, parameters,
attribute names) and plain numeric or string arrays. Each estimator declares what a file keeps
of it (:class:`~robustdml.estimators.SavedStateMixin`); loading builds only classes that
declare it and are already defined in the running program (plus the scikit-learn estimators
of :data:`SCIKIT_LEARN_ATTRIBUTES`), looked up by name, so it never imports a module or runs
code named in the file. A damaged, truncated, foreign or newer file raises
:class:`ModelFileError` saying which.
"""

import json
import struct
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._files import atomic_writer
from .estimators import SavedStateMixin

FORMAT = "robustdml-model"
FORMAT_VERSION = 1
#: The first bytes of a zip archive (a file entry first, or empty), as every .npz is.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

#: The fitted attributes stored of scikit-learn's estimators that model files hold, which
#: cannot declare them themselves (robustdml's estimators declare ``_saved_attributes``).
SCIKIT_LEARN_ATTRIBUTES = {
    NeighborhoodComponentsAnalysis: ("components_", "n_iter_", "n_features_in_"),
}


def _saved_attributes(cls):
    """The fitted attributes a file keeps of ``cls``, or None when model files cannot hold
    it."""
    if issubclass(cls, SavedStateMixin):
        return tuple(cls._saved_attributes)
    return SCIKIT_LEARN_ATTRIBUTES.get(cls)


def _loadable_classes():
    """Every class a file may name: the subclasses of SavedStateMixin defined so far (a new
    estimator joins by subclassing it), then scikit-learn's of SCIKIT_LEARN_ATTRIBUTES."""
    found, pending = [], [SavedStateMixin]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.append(subclass)
                pending.append(subclass)
    return found + list(SCIKIT_LEARN_ATTRIBUTES)


def _find_class(entry, path):
    """The class an entry names: by name among the loadable classes, by module too when
    several share the name (an entry without one, written before files kept the module,
    names robustdml's or scikit-learn's own)."""
    name, module = entry.get("class"), entry.get("module")
    matches = [cls for cls in _loadable_classes() if cls.__name__ == name]
    if len(matches) > 1:
        matches = [cls for cls in matches if cls.__module__ == module
                   or module is None and cls.__module__.split(".")[0] in ("robustdml", "sklearn")]
    if len(matches) != 1:
        where = f" from {module}" if module else ""
        raise ModelFileError(
            f"{path} holds a {name!r}{where}, which is not among the classes robustdml can "
            "load: a model file names a class, it never imports one. Import the module that "
            "defines it (a subclass of robustdml.estimators.SavedStateMixin) before loading.")
    return matches[0]


class ModelFileError(ValueError):
    """The file is not a readable robustdml model file; the message says why.

    :func:`load_model` raises it for a damaged, truncated, foreign or newer file.

    See Also
    --------
    load_model : Read a model file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from robustdml import ModelFileError, load_model
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "not-a-model.npz"
    ...     _ = path.write_text("hello")
    ...     try:
    ...         load_model(path)
    ...     except ModelFileError:
    ...         print("refused")
    refused
    """


def _describe(estimator, arrays, prefix, fitted=True):
    """Header entry of one estimator (its parameters, and its fitted state if ``fitted``);
    its arrays go into ``arrays`` under ``prefix``."""
    cls = type(estimator)
    attributes = _saved_attributes(cls)
    if attributes is None:
        if isinstance(estimator, Pipeline):
            advice = ("Save the final CertifiedKNN, KNNClassifier or learner step with "
                      "robustdml.save_model(pipeline[-1], path), and keep or refit the "
                      "preprocessing (pipeline[:-1]) separately, e.g. with joblib or skops "
                      "for files you trust.")
        else:
            advice = ("Save a robustdml estimator instead, or store this one with joblib or "
                      "skops if you trust the files.")
        raise TypeError(f"Cannot save a {cls.__name__}: model files hold robustdml's "
                        "estimators only (subclasses of robustdml.estimators.SavedStateMixin, "
                        "which declare their saved state, and scikit-learn's "
                        f"{', '.join(c.__name__ for c in SCIKIT_LEARN_ATTRIBUTES)}), never "
                        f"pickled objects, so that loading a file cannot run code. {advice}")
    params, nested = {}, {}
    for name, value in estimator.get_params(deep=False).items():
        # a parameter estimator files cannot hold (RobustFineTuner's PCA base) is dropped
        # below, as a callback is: the fitted state alone transforms
        if isinstance(value, BaseEstimator) and _saved_attributes(type(value)) is not None:
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
    entry = {"class": cls.__name__, "module": cls.__module__, "params": params, "fitted": {},
             "nested": nested}
    if not fitted:
        return entry
    check_is_fitted(estimator)
    fitted_estimators = {}  # written after the arrays, as files have always been
    for name in attributes + (("feature_names_in_",)
                              if hasattr(estimator, "feature_names_in_") else ()):
        if not hasattr(estimator, name):
            raise TypeError(f"{cls.__name__} declares {name} in _saved_attributes, but the "
                            "fitted estimator has no such attribute; set it in fit or drop it "
                            "from the declaration.")
        value = getattr(estimator, name)
        if value is None:  # not written: loading sets a declared attribute it lacks to None
            continue
        if isinstance(value, BaseEstimator):
            fitted_estimators[name] = value
            continue
        value = np.asarray(value)
        if value.dtype == object:
            value = value.astype(str) if all(isinstance(v, str) for v in value.ravel()) \
                else None
            if value is None:
                raise TypeError(f"{cls.__name__}.{name} mixes types; model files store only "
                                "numeric or string arrays.")
        arrays[f"{prefix}fit/{name}"] = value
        entry["fitted"][name] = f"{prefix}fit/{name}"
    for name, value in fitted_estimators.items():
        nested[name] = _describe(value, arrays, f"{prefix}{name}/")
    return entry


def save_model(estimator, path):
    """Write a fitted estimator to a safe model file.

    The file is a NumPy ``.npz`` archive of a JSON header and numeric or string arrays,
    written atomically; :func:`load_model` reads it without unpickling anything (see
    :doc:`/user_guide/model_files`).

    Parameters
    ----------
    estimator : estimator
        A fitted robustdml estimator (:class:`LMNN`, :class:`NCA`, :class:`ARML`,
        :class:`TripletLMNN`, :class:`KNNClassifier`, :class:`CertifiedKNN`, or any subclass
        of :class:`~robustdml.estimators.SavedStateMixin`, such as a new
        :class:`~robustdml.estimators.MetricLearner`), or scikit-learn's
        ``NeighborhoodComponentsAnalysis``; a k-NN classifier's metric learner among these.
    path : str or path-like
        Where to write the file.

    Raises
    ------
    TypeError
        If the estimator (or its metric learner) is not a class model files hold, or a
        fitted attribute it declares is missing or mixes types.

    Warns
    -----
    UserWarning
        When a parameter (such as a callback) cannot be stored safely: it is saved as None.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN, LMNN, load_model, save_model
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3, LMNN()).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_model(knn, Path(folder) / "knn.npz")
    ...     restored = load_model(Path(folder) / "knn.npz")
    >>> bool((restored.predict(X) == knn.predict(X)).all())
    True
    """
    arrays = {}
    header = {"format": FORMAT, "version": FORMAT_VERSION, "robustdml": __version__,
              "estimator": _describe(estimator, arrays, "")}
    arrays["header"] = np.array(json.dumps(header))
    with atomic_writer(path) as stream:
        np.savez_compressed(stream, **arrays)


def _build(entry, archive, path, fitted=True):
    """The estimator of an entry: built from its parameters (nested estimators among them
    unfitted), its declared attributes set (nested ones fitted), derived state rebuilt."""
    cls = _find_class(entry, path)
    attributes = _saved_attributes(cls)
    params = {name: archive[value["array"]] if isinstance(value, dict) else value
              for name, value in entry["params"].items()}
    # a parameter renamed since the file was written: its value goes to the new name
    for old, new in getattr(cls, "_renamed_parameters", {}).items():
        value = params.pop(old, "deprecated")
        if not (isinstance(value, str) and value == "deprecated"):
            params[new] = value
    nested = {name: _build(value, archive, path, fitted=name.endswith("_"))
              for name, value in entry["nested"].items()}
    params.update({name: value for name, value in nested.items() if not name.endswith("_")})
    estimator = cls(**params)
    if not fitted:
        return estimator
    state = {name: None for name in attributes}
    state.update({name: value for name, value in nested.items() if name.endswith("_")})
    for name, key in entry["fitted"].items():
        value = archive[key]
        state[name] = value.item() if value.ndim == 0 else value
    undeclared = set(state) - set(attributes) - {"feature_names_in_"}
    if undeclared:
        raise ModelFileError(f"{path} stores {', '.join(sorted(undeclared))} for a "
                             f"{cls.__name__}, which does not declare it.")
    for name, value in state.items():
        setattr(estimator, name, value)
    if isinstance(estimator, SavedStateMixin):
        estimator._restore_derived()
    return estimator


def load_model(path):
    """Read an estimator written by :func:`save_model`, without unpickling anything.

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
        Not a robustdml model file, damaged or truncated, written by a newer format, or
        naming a class that is not defined in the running program (see
        :class:`~robustdml.estimators.SavedStateMixin`).

    See Also
    --------
    save_model : Write a model file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import LMNN, load_model, save_model
    >>> X, y = load_iris(return_X_y=True)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_model(LMNN().fit(X, y), Path(folder) / "lmnn.npz")
    ...     lmnn = load_model(Path(folder) / "lmnn.npz")
    >>> lmnn.transform(X).shape
    (150, 4)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    with path.open("rb") as stream:
        magic = stream.read(4)
    # an .npz is a zip archive; anything else would reach np.load's pickle branch, whose
    # error would wrongly suggest the file holds pickled objects
    if magic not in ZIP_MAGIC:
        found = ("a single NumPy array (.npy), not an .npz archive"
                 if magic.startswith(b"\x93NUM") else "not an .npz (zip) archive")
        raise ModelFileError(f"{path} is not a robustdml model file: it is {found}. Model "
                             "files are written by robustdml.save_model.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "header" not in archive.files:
                names = sorted(archive.files)
                held = ", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else "")
                raise ModelFileError(
                    f"{path} is an .npz archive but not a robustdml model file: it has no "
                    f"header (it holds {held or 'nothing'}). Model files are written by "
                    "robustdml.save_model.")
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
            json.JSONDecodeError, SyntaxError, tokenize.TokenError) as error:
        if "allow_pickle" in str(error):
            raise ModelFileError(f"{path} is not a robustdml model file: it holds pickled "
                                 "arrays, which model files never do and robustdml never "
                                 "loads, for safety.") from error
        raise ModelFileError(f"{path} is damaged, truncated or not a robustdml model file "
                             f"({type(error).__name__}: {error}).") from error


def save(estimator, path):
    """Deprecated: the old name of :func:`save_model`, removed in the next release.

    Parameters
    ----------
    estimator : estimator
        A fitted robustdml estimator, as :func:`save_model` takes.
    path : str or path-like
        Where to write the file.

    Warns
    -----
    FutureWarning
        Always: call :func:`save_model` instead.

    See Also
    --------
    save_model : The new name.

    Examples
    --------
    >>> import tempfile
    >>> import warnings
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import LMNN, load_model, save
    >>> X, y = load_iris(return_X_y=True)
    >>> with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(record=True):
    ...     save(LMNN().fit(X, y), Path(folder) / "lmnn.npz")
    ...     lmnn = load_model(Path(folder) / "lmnn.npz")
    >>> lmnn.transform(X).shape
    (150, 4)
    """
    warnings.warn("robustdml.save is renamed robustdml.save_model (apart from "
                  "robustdml.datasets.load, which loads data sets); the old name is removed "
                  "in the next release.", FutureWarning, stacklevel=2)
    save_model(estimator, path)


def load(path):
    """Deprecated: the old name of :func:`load_model`, removed in the next release.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    estimator
        The fitted estimator, as :func:`load_model` returns it.

    Warns
    -----
    FutureWarning
        Always: call :func:`load_model` instead.

    See Also
    --------
    load_model : The new name.

    Examples
    --------
    >>> import tempfile
    >>> import warnings
    >>> from pathlib import Path
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import LMNN, load, save_model
    >>> X, y = load_iris(return_X_y=True)
    >>> with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(record=True):
    ...     save_model(LMNN().fit(X, y), Path(folder) / "lmnn.npz")
    ...     lmnn = load(Path(folder) / "lmnn.npz")
    >>> lmnn.transform(X).shape
    (150, 4)
    """
    warnings.warn("robustdml.load is renamed robustdml.load_model (apart from "
                  "robustdml.datasets.load, which loads data sets); the old name is removed "
                  "in the next release.", FutureWarning, stacklevel=2)
    return load_model(path)

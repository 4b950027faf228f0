"""The authors' protocol on their own data file (:doc:`/user_guide/method`, section 5), for
parity checks.

``python -m robustdml.experiments.parity PATH/Australian.mat`` prints the 3-NN test accuracy
(mean +- std over the file's splits) of LMNN-PL and LMNN with both solvers and of the Euclidean
metric, with the median fit time per split.
"""

import argparse
import time
import warnings

import numpy as np

from ..datasets import load_authors_mat
from ..estimators import KNNClassifier, LMNN
from ..preprocessing import paper_preprocessing


def run_authors_protocol(data, solver="pgd", use_perturbation=True, splits=None):
    """3-NN test accuracy and fit time per split, with each split's tuned (mu, lambda, tau).

    Parameters
    ----------
    data : AuthorsSplits
        From :func:`robustdml.datasets.load_authors_mat`; preprocessed as the authors did,
        on the whole data set before splitting.
    solver : {"pgd", "lbfgs"} or None
        None evaluates the Euclidean metric.
    use_perturbation : bool
        False sets lambda = 0 (plain LMNN with the tuned mu).
    splits : iterable of int, optional
        Which splits to run (default: all).

    Returns
    -------
    accuracies, fit_seconds : ndarray of shape (n_splits,)
    """
    X = paper_preprocessing().fit_transform(data.X)
    accuracies, seconds = [], []
    for split in range(data.n_splits) if splits is None else splits:
        mu, lam, tau = data.tuned[split]
        train, test = data.train[split], data.test[split]
        learner = None if solver is None else LMNN(
            n_neighbors=data.settings["k"], n_impostors=data.settings["v"], pull_weight=mu,
            perturbation_weight=lam if use_perturbation else 0.0, perturbation_margin=tau,
            impostors="fixed", drift_weight=0.0, solver=solver,
            max_iter=data.settings["max_iter"],
            tol=data.settings["eta"] if solver == "pgd" else None)
        start = time.perf_counter()
        knn = KNNClassifier(3, learner).fit(X[train], data.y[train])
        seconds.append(time.perf_counter() - start)
        accuracies.append(knn.score(X[test], data.y[test]))
    return np.array(accuracies), np.array(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the authors' .mat file, e.g. shared/data/Australian.mat")
    args = parser.parse_args(argv)
    data = load_authors_mat(args.path)
    print(f"{args.path}: {data.n_splits} splits, 3-NN test accuracy, authors' preprocessing")
    print("| method | solver | accuracy (mean +- std) | median fit time per split (s) |")
    print("|---|---|---|---|")
    runs = [("LMNN-PL", "pgd", True), ("LMNN-PL", "lbfgs", True), ("LMNN (lambda = 0)", "pgd",
            False), ("LMNN (lambda = 0)", "lbfgs", False), ("Euclidean", None, False)]
    for name, solver, use_perturbation in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            accuracies, seconds = run_authors_protocol(data, solver, use_perturbation)
        print(f"| {name} | {solver or '-'} | {accuracies.mean():.4f} +- {accuracies.std():.4f} "
              f"| {np.median(seconds):.3f} |")


if __name__ == "__main__":
    main()

"""Clean error, certified robustness and attack strength of several metrics on one split.

``python -m robustdml.experiments.robustness breast_cancer digits`` prints, per data set
(scikit-learn bundled, 70/30 stratified split, reference preprocessing fitted on the training
part, 3-NN): clean error, median certified radius, certified robust error at two radii, median
attack norm, and the time to certify the test points, for Euclidean, LMNN and LMNN-PL.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NeighborhoodComponentsAnalysis

from ..estimators import LMNN
from ..evaluation import CertifiedKNN, knn_attack
from ..preprocessing import paper_preprocessing

BUNDLED = {"breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits,
           "iris": datasets.load_iris, "wine": datasets.load_wine}


def default_methods():
    """The metrics of the paper's comparison, untuned: the Euclidean metric, LMNN with the
    paper's fixed triplets, our default LMNN without and with the perturbation loss, and
    scikit-learn's NCA as the peer (tau 0.3: most triplets of the default LMNN already have
    margins above 0.1 on unit-norm
    rows)."""
    return {"euclidean": None,
            "lmnn (paper's triplets)": LMNN(impostors="fixed", drift_weight=0.0,
                                            pull_weight=0.5),
            "lmnn": LMNN(),
            "lmnn-pl": LMNN(perturbation_weight=10.0, perturbation_margin=0.3),
            "nca (scikit-learn, the peer)": NeighborhoodComponentsAnalysis(random_state=0)}


def evaluate_split(X_train, y_train, X_test, y_test, methods, radii, n_neighbors=3):
    """One row per method: clean error, certified and attacked robustness, timings."""
    rows = []
    for name, learner in methods.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knn = CertifiedKNN(n_neighbors, learner).fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        certified = knn.certified_radius(X_test, y_test)
        certify_seconds = time.perf_counter() - start
        attack = knn_attack(knn, X_test, y_test)
        rows.append({
            "method": name,
            "clean_error": 1.0 - knn.score(X_test, y_test),
            "median_certified_radius": float(np.median(certified)),
            **{f"certified_error@{r:g}": float(np.mean(certified <= r)) for r in radii},
            "median_attack_norm": float(np.median(attack.norms)),
            "fit_seconds": fit_seconds,
            "certify_seconds": certify_seconds,
        })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", choices=sorted(BUNDLED))
    parser.add_argument("--radii", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.datasets:
        X, y = BUNDLED[name](return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=args.seed)
        prep = paper_preprocessing().fit(X_train)
        rows = evaluate_split(prep.transform(X_train), y_train, prep.transform(X_test), y_test,
                              default_methods(), args.radii)
        print(f"\n{name}: {len(X_train)} train / {len(X_test)} test, seed {args.seed}, 3-NN")
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows:
            print("| " + " | ".join(v if isinstance(v, str) else f"{v:.4f}"
                                    for v in row.values()) + " |")


if __name__ == "__main__":
    main()

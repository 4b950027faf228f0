"""Short end-to-end demo on scikit-learn's bundled breast-cancer data (``make demo``).

Fits Euclidean, LMNN and LMNN-PL on a 70/30 split (the reference preprocessing fitted on the
training part), then prints the 3-NN test error and the median adversarial margin of the test
points' triplets (each test point against its 3 nearest same-class and 10 nearest other-class
training points): the input-space distance a test point must move before a target of its class
stops being closer than an impostor.
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from ..estimators import KNNClassifier, LMNN
from ..math import TripletGeometry, build_triplets
from ..preprocessing import paper_preprocessing


def test_point_margins(X_train, y_train, X_test, y_test, L, n_neighbors=3, n_impostors=10):
    """Adversarial margins of triplets anchored at test points, targets and impostors from
    the training set (neighbours found by Euclidean distance, as for training triplets)."""
    X = np.vstack([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    triplets = build_triplets(X, y, n_neighbors, n_impostors, anchors=np.arange(
        len(X_train), len(X)), candidates=np.arange(len(X_train)))
    return TripletGeometry(X, triplets, L).margin()


def main():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    prep = paper_preprocessing().fit(X_train)
    X_train, X_test = prep.transform(X_train), prep.transform(X_test)
    methods = {
        "euclidean": None,
        "lmnn": LMNN(pull_weight=0.5),
        "lmnn-pl": LMNN(pull_weight=0.5, perturbation_weight=10.0, perturbation_margin=0.1),
    }
    print(f"breast_cancer: {len(X_train)} train / {len(X_test)} test, 3-NN, "
          "standardise + unit-norm rows fitted on the training part")
    print(f"{'method':<10} {'3-NN error':>10} {'median margin':>14} {'fit (s)':>8}")
    for name, learner in methods.items():
        start = time.perf_counter()
        knn = KNNClassifier(3, learner).fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        L = (np.eye(X.shape[1]) if knn.metric_learner_ is None
             else knn.metric_learner_.components_)
        margins = test_point_margins(X_train, y_train, X_test, y_test, L)
        error = 1.0 - knn.score(X_test, y_test)
        print(f"{name:<10} {error:>10.4f} {np.median(margins):>14.4f} {elapsed:>8.2f}")


if __name__ == "__main__":
    main()

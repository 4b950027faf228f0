"""One benchmark measurement in a fresh process; prints a JSON line.

Runs under the project's environment (our estimators) or under the separate metric-learn
environment, so it imports only NumPy, SciPy and scikit-learn at the top.

    python benchmarks/measure.py '{"data": "digits", "method": "ours-lbfgs-pl", "repeats": 3}'
"""

import json
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np
from scipy.io import loadmat
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

#: Fits slower than this (seconds) are not repeated under tracemalloc to measure their peak.
TRACE_LIMIT = 120
#: Fast fits are repeated beyond the requested count until they add up to this many seconds
#: (at most MAX_REPEATS runs), so that a median of tens of milliseconds is not one noisy draw.
MIN_TOTAL_SECONDS = 2.0
MAX_REPEATS = 50


def load(spec):
    """(X_train, y_train, X_test, y_test, hyper-parameters), preprocessed as in the paper."""
    name = spec["data"]
    params = {"mu": 0.5, "lam": 1.0, "tau": 0.1}
    if name == "npz":  # prepared by run.py in the project's environment, for the peers'
        arrays = np.load(spec["path"])
        return (arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"],
                params)
    if name == "digits-std":  # the check: standardized only, 70/30 stratified seed 0
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                            random_state=0)
        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test, params
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    elif name == "synthetic10k":  # 10,000 training points, 50 features, 5 classes
        X, y = make_classification(n_samples=14286, n_features=50, n_informative=20,
                                   n_classes=5, random_state=0)
    elif name == "australian":  # the authors' split 0 and its tuned (mu, lambda, tau)
        content = loadmat(spec["path"], squeeze_me=True, struct_as_record=False)
        X = make_pipeline(StandardScaler(), Normalizer()).fit_transform(content["X"])
        y = np.asarray(content["Y"]).astype(int)
        train = np.asarray(content["data"].Idx_training[0]) - 1
        test = np.asarray(content["data"].Idx_test[0]) - 1
        mu, lam, tau = content["pars"].Par_opt[0]
        return X[train], y[train], X[test], y[test], {"mu": mu, "lam": lam, "tau": tau}
    elif name.startswith("fashion"):  # Fashion-MNIST train + test, PCA to 50 on train
        from sklearn.decomposition import PCA

        from robustdml.datasets.sources import fashion_mnist_images
        X_train, y_train = fashion_mnist_images("train")
        X_test, y_test = fashion_mnist_images("t10k")
        X_train, X_test = X_train.astype(float), X_test.astype(float)
        n = spec.get("n_train", 60000)
        if n < len(y_train):
            X_train, _, y_train, _ = train_test_split(X_train, y_train, train_size=n,
                                                      stratify=y_train, random_state=0)
        n_test = spec.get("n_test", 10000)
        X_test, y_test = X_test[:n_test], y_test[:n_test]
        prep = make_pipeline(StandardScaler(), PCA(50, random_state=0), Normalizer())
        prep.fit(X_train)
        return prep.transform(X_train), y_train, prep.transform(X_test), y_test, params
    else:
        raise ValueError(f"unknown data {name}")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    prep = make_pipeline(StandardScaler(), Normalizer()).fit(X_train)
    return prep.transform(X_train), y_train, prep.transform(X_test), y_test, params


def make(method, params, spec):
    """The estimator of a method name:

    - ``ours-<solver>-<lmnn|pl>``: the paper's objective (fixed triplets, no drift penalty)
      at the data set's mu, lambda, tau, with that solver;
    - ``ours``: ``robustdml.LMNN(**spec["params"])``, the defaults unless given;
    - ``metric-learn`` (at mu) and ``metric-learn-default``; ``pylmnn`` (its defaults).
    """
    if method == "metric-learn":
        from metric_learn import LMNN
        return LMNN(n_neighbors=3, regularization=params["mu"],
                    max_iter=spec.get("max_iter", 1000), random_state=0)
    if method == "metric-learn-default":
        from metric_learn import LMNN
        return LMNN(n_neighbors=3, max_iter=spec.get("max_iter", 1000), random_state=0)
    if method == "pylmnn":
        from pylmnn import LargeMarginNearestNeighbor
        return LargeMarginNearestNeighbor(n_neighbors=3, max_iter=spec.get("max_iter", 50),
                                          random_state=0)
    from robustdml import LMNN
    if method == "ours":
        return LMNN(**spec.get("params", {}))
    _, solver, loss = method.split("-")
    return LMNN(n_neighbors=3, pull_weight=params["mu"], solver=solver,
                perturbation_weight=params["lam"] if loss == "pl" else 0.0,
                perturbation_margin=params["tau"], impostors="fixed", drift_weight=0.0)


def authors_splits(spec):
    """Every split of an authors' .mat file with its tuned parameters (the parity protocol);
    per split, the median fit time over ``repeats`` rounds and the 3-NN test accuracy."""
    from robustdml.datasets import load_authors_mat
    from robustdml.experiments.parity import run_authors_protocol
    data = load_authors_mat(spec["path"])
    solver = spec["method"].split("-")[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rounds = [run_authors_protocol(data, solver) for _ in range(spec.get("repeats", 1))]
    return {"accuracies": rounds[0][0].tolist(),
            "split_seconds": np.median([seconds for _, seconds in rounds], axis=0).tolist(),
            "lambdas": [float(tuned[1]) for tuned in data.tuned]}


def main():
    spec = json.loads(sys.argv[1])
    if spec["data"] == "australian-splits":
        print(json.dumps(authors_splits(spec)))
        return
    X_train, y_train, X_test, y_test, params = load(spec)
    result = {"n_train": len(y_train), "n_features": X_train.shape[1]}
    if spec["method"] == "certify":
        from robustdml import CertifiedKNN, LMNN
        learner = None if spec.get("metric") == "euclidean" else LMNN(
            perturbation_weight=params["lam"], perturbation_margin=params["tau"])
        knn = CertifiedKNN(3, learner).fit(X_train, y_train)
        times = []
        for _ in range(spec.get("repeats", 1)):
            start = time.perf_counter()
            radii = knn.certified_radius(X_test, y_test)
            times.append(time.perf_counter() - start)
        result.update(seconds=times, n_test=len(y_test),
                      median_radius=float(np.median(radii)))
        print(json.dumps(result))
        return
    if spec["method"] == "euclidean":
        knn = KNeighborsClassifier(3).fit(X_train, y_train)
        result.update(seconds=[0.0], peak_mb=0.0, max_rss_mb=0.0, n_iter=0,
                      accuracy=knn.score(X_test, y_test))
        print(json.dumps(result))
        return
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(times) < spec.get("repeats", 1) or (
                sum(times) < MIN_TOTAL_SECONDS and len(times) < MAX_REPEATS):
            model = make(spec["method"], params, spec)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_mb = None
        if np.median(times) < TRACE_LIMIT:  # one more fit, traced (tracemalloc slows it)
            tracemalloc.start()
            make(spec["method"], params, spec).fit(X_train, y_train)
            peak_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
    knn = KNeighborsClassifier(3).fit(model.transform(X_train), y_train)
    result.update(seconds=times, peak_mb=peak_mb, max_rss_mb=rss_mb,
                  accuracy=knn.score(model.transform(X_test), y_test),
                  n_iter=int(getattr(model, "n_iter_", -1)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

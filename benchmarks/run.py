"""The benchmark suite (``make bench``): writes benchmarks/report.md and benchmarks/scaling.png.

Every measurement runs in a fresh process (benchmarks/measure.py) so that memory peaks do not
mix; ours run in the project's environment, metric-learn 0.7.0 in its own environment with
scikit-learn < 1.6 (it breaks on current releases), pylmnn 1.6.4 in another, patched by the
Makefile (see there). Ratios are computed within this one run.

    python benchmarks/run.py --ml-python .bench/ml-venv/bin/python \
        --pylmnn-python .bench/pylmnn-venv/bin/python [--quick] [--render-only] [--only accuracy]
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from robustdml.datasets.registry import authors_mat_path

HERE = Path(__file__).resolve().parent
AUSTRALIAN = authors_mat_path()  # $ROBUSTDML_AUSTRALIAN, else shared/data/ beside the repo
OURS = ["ours-lbfgs-lmnn", "ours-lbfgs-pl", "ours-pgd-lmnn", "ours-pgd-pl"]


def measure(python, spec, log):
    """Run one measurement; returns its JSON result (or the error text). ``spec["timeout"]``
    (seconds) stops a peer that would run for hours."""
    start = time.perf_counter()
    try:
        done = subprocess.run([python, str(HERE / "measure.py"), json.dumps(spec)],
                              capture_output=True, text=True, timeout=spec.get("timeout"))
    except subprocess.TimeoutExpired:
        log(f"  {json.dumps(spec)}: stopped after {spec['timeout']} s")
        return {"error": f"not finished in {spec['timeout']} s"}
    if done.returncode != 0:
        result = {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    else:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  {json.dumps(spec)}: {time.perf_counter() - start:.0f} s -> "
        f"{ {k: v for k, v in result.items() if k != 'seconds'} }")
    return result


def median(result):
    return float(np.median(result["seconds"])) if "seconds" in result else float("nan")


def fit_table(args, log):
    rows = []
    datasets = [("australian", {"path": str(AUSTRALIAN)}), ("digits", {}),
                ("synthetic10k", {})]
    for data, extra in datasets:
        if data == "australian" and not AUSTRALIAN.is_file():
            log(f"skip australian: {AUSTRALIAN} is absent")
            continue
        results = {}
        for method in OURS:
            slow = method.startswith("ours-pgd") and data != "australian"
            repeats = 1 if slow or args.quick else args.repeats
            results[method] = measure(sys.executable, {"data": data, "method": method,
                                                       "repeats": repeats, **extra}, log)
        if args.ml_python:
            max_iter = {"australian": 1000, "digits": args.ml_max_iter,
                        "synthetic10k": args.ml_max_iter_10k}[data]
            results["metric-learn"] = measure(args.ml_python, {
                "data": data, "method": "metric-learn", "repeats": 1, "max_iter": max_iter,
                **extra}, log)
            results["metric-learn"]["max_iter"] = max_iter
        rows.append((data, results))
    return rows


#: (label, measure.py method, LMNN parameters) of the accuracy table
ACCURACY_METHODS = [
    ("Euclidean", "euclidean", None),
    ("LMNN()", "ours", {}),
    ("LMNN(perturbation_weight=1)", "ours", {"perturbation_weight": 1.0}),
    ("LMNN(impostors='fixed')", "ours", {"impostors": "fixed"}),
    ("LMNN(impostors='fixed', perturbation_weight=1)", "ours",
     {"impostors": "fixed", "perturbation_weight": 1.0}),
    ("LMNN(impostors='active')", "ours", {"impostors": "active"}),
    ("LMNN(impostors='active', perturbation_weight=1)", "ours",
     {"impostors": "active", "perturbation_weight": 1.0}),
]

#: (label, data spec, peers' caps): metric-learn takes about 40 s per iteration and 19 GB at
#: 10,000 points, so it is capped there and left out at 60,000
ACCURACY_DATA = [
    ("digits (standardized)", {"data": "digits-std"},
     {"metric-learn": {}, "pylmnn": {}}),
    ("Fashion-MNIST 10,000", {"data": "fashion", "n_train": 10000, "n_test": 2000},
     {"metric-learn": {"max_iter": 5}, "pylmnn": {"timeout": 600}}),
    ("Fashion-MNIST 60,000", {"data": "fashion", "n_train": 60000, "n_test": 2000},
     {"pylmnn": {"timeout": 600}}),
]


def peer_data(data):
    """The peers' environments lack robustdml (and its data sources): they get the same
    arrays, prepared here, as a .npz file."""
    spec = importlib.util.spec_from_file_location("bench_measure", HERE / "measure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    X_train, y_train, X_test, y_test, _ = module.load(data)
    path = HERE.parent / ".bench" / "data" / (
        "-".join(str(value) for value in data.values()) + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    return {"data": "npz", "path": str(path)}


def accuracy_table(args, log, previous=()):
    """Euclidean vs our defaults and modes vs metric-learn vs pylmnn, with fit times.
    ``previous`` rows (``--keep-measured``) are reused where they hold no error."""
    kept = {(label, name): result for label, results in previous
            for name, result in results.items() if "error" not in result}
    rows = []
    data_sets = ACCURACY_DATA[:2] if args.quick else ACCURACY_DATA
    earlier = dict(getattr(args, "earlier_accuracy", ()))
    for label, data, peers in data_sets:
        if getattr(args, "accuracy_data", None) and not label.startswith(args.accuracy_data):
            if label in earlier:  # not measured this time: the row of results.json
                rows.append((label, earlier[label]))
            continue
        results = {}

        def run(name, python, spec):
            results[name] = kept.get((label, name)) or measure(python, spec, log)

        for name, method, params in ACCURACY_METHODS:
            if "impostors" in name and data.get("n_train", 0) > 10000:
                continue  # the other modes: measured up to 10,000 points
            run(name, sys.executable, {**data, "method": method, "params": params or {},
                                       "repeats": 1})
        shared = None
        for peer, python, name, method in (
                ("metric-learn", args.ml_python, "metric-learn 0.7 LMNN",
                 "metric-learn-default"),
                ("pylmnn", args.pylmnn_python, "pylmnn 1.6.4", "pylmnn")):
            if python and peer in peers:
                shared = shared or peer_data(data)
                run(name, python, {**shared, "method": method, "repeats": 1, **peers[peer]})
                results[name].update({key: value for key, value in peers[peer].items()
                                      if key == "max_iter"})
        rows.append((label, results))
    return rows


def render_accuracy_table(rows):
    lines = ["| data | method | 3-NN test accuracy | fit time (s) | vs LMNN() | peak memory "
             "traced (MB) | peak RSS (MB) | iterations |", "|---|---|---|---|---|---|---|---|"]
    for label, results in rows:
        reference = median(results.get("LMNN()", {}))
        for name, result in results.items():
            if "error" in result:
                lines.append(f"| {label} | {name} | {result['error']} | | | | | |")
                continue
            capped = (f" (stopped at max_iter={result['max_iter']})"
                      if "max_iter" in result and result["n_iter"] >= result["max_iter"] - 1
                      else "")
            seconds = median(result)
            traced = "-" if result["peak_mb"] is None else f"{result['peak_mb']:.0f}"
            lines.append(
                f"| {label} (n={result['n_train']}, p={result['n_features']}) | {name}{capped} "
                f"| {result['accuracy']:.4f} | {seconds:.3g} | "
                f"{seconds / reference:.1f}x | {traced} | {result['max_rss_mb']:.0f} | "
                f"{result['n_iter']} |" if name != "Euclidean" else
                f"| {label} (n={result['n_train']}, p={result['n_features']}) | {name} | "
                f"{result['accuracy']:.4f} | - | - | - | - | - |")
    return lines


def render_accuracy_targets(rows):
    """The accuracy targets of the defaults, each with its figures and whether it is met."""
    results = dict(rows)
    lines = []

    def check(text, met):
        lines.append(f"- {text}: **{'met' if met else 'not met'}**")

    def ok(result):
        return "accuracy" in result

    digits = results.get("digits (standardized)", {})
    peer = digits.get("metric-learn 0.7 LMNN", {})
    for name in ("LMNN()", "LMNN(perturbation_weight=1)"):
        ours = digits.get(name, {})
        if ok(ours):
            check(f"digits, {name} 3-NN accuracy >= 0.985: {ours['accuracy']:.4f}",
                  ours["accuracy"] >= 0.985)
        if ok(ours) and ok(peer):
            ratio = median(peer) / median(ours)
            check(f"digits, {name} >= 10x faster than metric-learn: {ratio:.1f}x "
                  f"({median(ours):.2f} s vs {median(peer):.1f} s)", ratio >= 10)
    for label, target in (("Fashion-MNIST 10,000", 0.835), ("Fashion-MNIST 60,000", 0.865)):
        for name in ("LMNN()", "LMNN(perturbation_weight=1)"):
            ours = results.get(label, {}).get(name, {})
            if ok(ours):
                check(f"{label}, {name} 3-NN accuracy >= {target}: {ours['accuracy']:.4f} "
                      f"(Euclidean {results[label]['Euclidean'].get('accuracy', float('nan')):.4f})",
                      ours["accuracy"] >= target)
    large = results.get("Fashion-MNIST 60,000", {})
    for name in ("LMNN()", "LMNN(perturbation_weight=1)"):
        ours = large.get(name, {})
        if ok(ours):
            check(f"Fashion-MNIST 60,000, {name} fit under 3 minutes: {median(ours):.0f} s",
                  median(ours) < 180)
            check(f"Fashion-MNIST 60,000, {name} peak memory under 2 GB: process RSS "
                  f"{ours['max_rss_mb']:.0f} MB", ours["max_rss_mb"] < 2048)
    medium = results.get("Fashion-MNIST 10,000", {})
    plain, robust = medium.get("LMNN()", {}), medium.get("LMNN(perturbation_weight=1)", {})
    if ok(plain) and ok(robust):
        ratio = median(robust) / median(plain)
        check(f"Fashion-MNIST 10,000, the perturbation loss at most doubles the fit time: "
              f"{ratio:.1f}x ({median(robust):.1f} s vs {median(plain):.1f} s)", ratio <= 2)
    return lines


def australian_splits(args, log):
    """LMNN-PL with both solvers on all the authors' splits; {} when the file is absent."""
    if not AUSTRALIAN.is_file():
        return {}
    return {solver: measure(sys.executable, {
        "data": "australian-splits", "path": str(AUSTRALIAN), "method": f"ours-{solver}-pl",
        "repeats": 1 if args.quick else args.repeats}, log) for solver in ("lbfgs", "pgd")}


def render_splits(splits):
    """Per-split fit times of both solvers on the authors' splits, with their ratio."""
    fast, slow = splits.get("lbfgs", {}), splits.get("pgd", {})
    if "split_seconds" not in fast or "split_seconds" not in slow:
        return [f"Not measured: {fast.get('error') or slow.get('error') or 'file absent'}."]
    lines = ["| split | tuned lambda | lbfgs fit (s) | pgd fit (s) | pgd / lbfgs |",
             "|---|---|---|---|---|"]
    for split, (lam, t_fast, t_slow) in enumerate(zip(fast["lambdas"], fast["split_seconds"],
                                                      slow["split_seconds"])):
        lines.append(f"| {split} | {lam:.3g} | {t_fast:.3g} | {t_slow:.3g} | "
                     f"{t_slow / t_fast:.1f}x |")
    return lines


def render_fit_table(rows):
    lines = ["| data | method | fit time (s, median) | vs ours-lbfgs-pl | peak memory traced "
             "in the fit (MB) | peak RSS of the process (MB) | 3-NN accuracy | iterations |",
             "|---|---|---|---|---|---|---|---|"]
    for data, results in rows:
        reference = median(results["ours-lbfgs-pl"])
        for method, result in results.items():
            if "error" in result:
                lines.append(f"| {data} | {method} | failed: {result['error']} | | | | | |")
                continue
            note = ""
            # metric-learn 0.7.0 iterates over range(2, max_iter): n_iter_ = max_iter - 1 at the cap
            if method == "metric-learn" and result["n_iter"] >= result["max_iter"] - 1:
                note = f" (stopped at max_iter={result['max_iter']})"
            traced = "-" if result["peak_mb"] is None else f"{result['peak_mb']:.0f}"
            lines.append(
                f"| {data} (n={result['n_train']}, p={result['n_features']}) | {method}{note} "
                f"| {median(result):.3g} | {median(result) / reference:.1f}x | {traced} "
                f"| {result['max_rss_mb']:.0f} | {result['accuracy']:.4f} | {result['n_iter']} |")
    return lines


def render_targets(rows, fits, certify, splits):
    """The issue's speed targets, each with the measured figure and whether it is met."""
    results = dict(rows)
    lines = []

    def check(text, met):
        lines.append(f"- {text}: **{'met' if met else 'not met'}**")

    synthetic = results.get("synthetic10k", {})
    ours, peer = synthetic.get("ours-lbfgs-pl", {}), synthetic.get("metric-learn", {})
    if "seconds" in ours and "seconds" in peer:
        ratio = median(peer) / median(ours)
        check(f"synthetic10k, LMNN-PL lbfgs >= 10x faster than metric-learn: {ratio:.0f}x "
              f"({median(ours):.1f} s vs {median(peer):.0f} s)", ratio >= 10)
        check(f"synthetic10k, 3-NN accuracy >= metric-learn's: {ours['accuracy']:.4f} vs "
              f"{peer['accuracy']:.4f}", ours["accuracy"] >= peer["accuracy"])
    if "seconds" in ours and ours["peak_mb"] is not None:
        check(f"synthetic10k, LMNN-PL lbfgs peak memory <= 0.3 GB: {ours['peak_mb']:.0f} MB "
              "traced", ours["peak_mb"] <= 300)
    australian = results.get("australian", {})
    fast, slow = australian.get("ours-lbfgs-pl", {}), australian.get("ours-pgd-pl", {})
    if "seconds" in fast and "seconds" in slow:
        ratio = median(slow) / median(fast)
        gap = 100 * (slow["accuracy"] - fast["accuracy"])
        check(f"Australian split 0, LMNN-PL lbfgs >= 10x faster than pgd within 0.5 accuracy "
              f"points: {ratio:.1f}x ({median(fast):.3g} s vs {median(slow):.3g} s), "
              f"{gap:+.2f} points",
              ratio >= 10 and gap <= 0.5)
    fast, slow = splits.get("lbfgs", {}), splits.get("pgd", {})
    if "split_seconds" in fast and "split_seconds" in slow:
        ratios = np.divide(slow["split_seconds"], fast["split_seconds"])
        gap = 100 * (np.mean(slow["accuracies"]) - np.mean(fast["accuracies"]))
        check(f"Australian, all {len(ratios)} authors' splits, LMNN-PL lbfgs >= 10x faster than "
              f"pgd within 0.5 mean accuracy points: median per-split ratio "
              f"{np.median(ratios):.1f}x (from {ratios.min():.1f}x to {ratios.max():.1f}x), "
              f"{gap:+.2f} points",
              np.median(ratios) >= 10 and gap <= 0.5)
    n, largest = fits[-1]
    if "seconds" in largest:
        check(f"fit on {n} points in under 3 minutes: {median(largest):.0f} s",
              median(largest) < 180)
    for n_test, result in certify:
        if n_test == 10000 and "seconds" in result:
            check(f"certify 10,000 test points against {n} training points in under 2 "
                  f"minutes: {median(result):.0f} s", median(result) < 120)
    return lines


def scaling(args, log):
    sizes = [1000, 2000, 5000, 10000] if args.quick else [1000, 2000, 5000, 10000, 20000,
                                                           60000]
    fits = [(n, measure(sys.executable, {"data": "fashion", "n_train": n, "n_test": 1000,
                                         "method": "ours-lbfgs-pl", "repeats": 1}, log))
            for n in sizes]
    n_train = sizes[-1]
    certify = [(n_test, measure(sys.executable, {"data": "fashion", "n_train": n_train,
                                                 "n_test": n_test, "method": "certify",
                                                 "repeats": 1}, log))
               for n_test in (1000, 10000)]
    return fits, certify


def plot_scaling(fits, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [(n, median(r)) for n, r in fits if "error" not in r]
    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.loglog([n for n, _ in ok], [t for _, t in ok], marker="o", label="LMNN-PL, lbfgs")
    axis.set(xlabel="training points (Fashion-MNIST, PCA 50)", ylabel="fit time (s)",
             title="Scaling of the fast solver")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def render_report(raw):
    """The Markdown report from the raw measurements (``results.json``)."""
    settings = raw["settings"]
    rows = [(data, results) for data, results in raw["fit"]]
    fits = [(n, result) for n, result in raw["scaling"]]
    certify = [(n, result) for n, result in raw["certify"]]
    splits = raw.get("australian_splits", {})
    lines = [
        "# robustdml benchmarks", "",
        f"Run {settings['started']} with `make bench` on {settings['machine']}. Fit times: "
        f"median of {settings['repeats']} runs (1 for pgd and metric-learn on the larger sets; "
        "fits repeated, up to 50 times, until their runs add up to 2 s); "
        "peak memory: tracemalloc peak during one more fit (skipped when a fit takes over 2 "
        "minutes) and the process's peak resident set (data and libraries included); "
        "accuracy: scikit-learn 3-NN on the transformed test part (70/30 stratified split seed "
        "0; Australian: the authors' split 0 and its tuned mu, lambda, tau; elsewhere mu = 0.5, "
        "lambda = 1, tau = 0.1), standardize + unit-norm rows. metric-learn 0.7.0's max_iter: "
        f"{settings['ml_max_iter']} on digits, {settings['ml_max_iter_10k']} on synthetic10k "
        "(a time for fewer iterations than it needs is a lower bound on its fit time). Raw "
        "figures: `results.json`." + (
            f" The accuracy section was measured {settings['accuracy_started']} "
            "(`make bench BENCH_ARGS='--only accuracy'`)."
            if "accuracy_started" in settings else "") + (
            f" Its {settings['accuracy_partial']} rows were measured again "
            f"{settings['accuracy_partial_started']} (`--only accuracy --accuracy-data "
            f"{settings['accuracy_partial']}`; load average {settings['accuracy_partial_load']})."
            if "accuracy_partial" in settings else ""), "",
        "## Targets", "", *render_accuracy_targets(raw.get("accuracy", [])),
        *render_targets(rows, fits, certify, splits), "",
        "## Accuracy with the defaults (3-NN; digits: 70/30 stratified split seed 0, "
        "standardized; Fashion-MNIST: stratified training subset, standardize + PCA 50 + "
        "unit-norm rows fitted on it, the first 2,000 test images; one fit each)", "",
        *render_accuracy_table(raw.get("accuracy", [])), "",
        "## Fit (the paper's objective: fixed triplets, no drift penalty)", "",
        *render_fit_table(rows), "",
        "## Australian, every split (LMNN-PL, the authors' protocol as in the parity test; "
        "median of the rounds per split)", "", *render_splits(splits), "",
        "## Scaling (LMNN-PL with the paper's objective, lbfgs, Fashion-MNIST training images, "
        "PCA to 50)", "",
        "| training points | fit time (s) | peak memory traced (MB) | 3-NN accuracy (1,000 "
        "test) |", "|---|---|---|---|"]
    for n, result in fits:
        if "error" in result:
            lines.append(f"| {n} | failed: {result['error']} | | |")
        else:
            traced = "-" if result["peak_mb"] is None else f"{result['peak_mb']:.0f}"
            lines.append(f"| {n} | {median(result):.1f} | {traced} | {result['accuracy']:.4f} |")
    lines += ["", "![scaling](scaling.png)", "",
              f"## Certification (3-NN, LMNN-PL metric fitted on {fits[-1][0]} training "
              "points)", "", "| test points | certify time (s) | median certified radius |",
              "|---|---|---|"]
    for n_test, result in certify:
        if "error" in result:
            lines.append(f"| {n_test} | failed: {result['error']} | |")
        else:
            lines.append(f"| {n_test} | {median(result):.1f} | {result['median_radius']:.4f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-python", help="python of the metric-learn environment")
    parser.add_argument("--ml-max-iter", type=int, default=200,
                        help="metric-learn's max_iter on digits (its default is 1000)")
    parser.add_argument("--ml-max-iter-10k", type=int, default=10,
                        help="metric-learn's max_iter on synthetic10k (about a minute per "
                        "iteration there; its default of 1000 would take hours)")
    parser.add_argument("--pylmnn-python", help="python of the pylmnn environment")
    parser.add_argument("--only", choices=["accuracy"],
                        help="measure only this part and keep the rest of results.json")
    parser.add_argument("--keep-measured", action="store_true",
                        help="with --only accuracy: measure again only what failed or is "
                        "missing")
    parser.add_argument("--accuracy-data",
                        help="with --only accuracy: measure only the data sets whose label "
                        "starts with this (e.g. digits) and keep the other rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller scaling")
    parser.add_argument("--out", default=str(HERE), help="folder of the report, plot and JSON")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the report and plot from the folder's results.json")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        raw = json.loads((out / "results.json").read_text())
    elif args.only == "accuracy":
        raw = json.loads((out / "results.json").read_text())
        print("accuracy with the defaults")
        args.earlier_accuracy = raw.get("accuracy", [])
        load_before = round(os.getloadavg()[0], 1)
        raw["accuracy"] = accuracy_table(args, print,
                                         raw.get("accuracy", []) if args.keep_measured else ())
        if args.accuracy_data:
            raw["settings"].update(accuracy_partial=args.accuracy_data,
                                   accuracy_partial_started=time.strftime("%Y-%m-%d %H:%M"),
                                   accuracy_partial_load=f"{load_before} at the start, "
                                   f"{os.getloadavg()[0]:.1f} at the end")
        else:
            raw["settings"]["accuracy_started"] = time.strftime("%Y-%m-%d %H:%M")
        (out / "results.json").write_text(json.dumps(raw, indent=1))
    else:
        settings = {"started": time.strftime("%Y-%m-%d %H:%M"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                               f"{platform.python_version()}",
                    "repeats": 1 if args.quick else args.repeats,
                    "ml_max_iter": args.ml_max_iter, "ml_max_iter_10k": args.ml_max_iter_10k}
        print("accuracy with the defaults")
        accuracy = accuracy_table(args, print)
        print("fit times")
        fit = fit_table(args, print)
        print("australian, every split")
        splits = australian_splits(args, print)
        print("scaling and certification")
        fits, certify = scaling(args, print)
        raw = {"settings": settings, "accuracy": accuracy, "fit": fit,
               "australian_splits": splits, "scaling": fits, "certify": certify}
        (out / "results.json").write_text(json.dumps(raw, indent=1))
    plot_scaling(raw["scaling"], out / "scaling.png")
    (out / "report.md").write_text(render_report(raw))
    print(f"wrote {out / 'report.md'}, {out / 'scaling.png'} and {out / 'results.json'}")


if __name__ == "__main__":
    main()

"""The benchmark suite (``make bench``): writes benchmarks/report.md and benchmarks/scaling.png.

Every measurement runs in a fresh process (benchmarks/measure.py) so that memory peaks do not
mix; ours run in the project's environment, metric-learn 0.7.0 in its own environment with
scikit-learn < 1.6 (it breaks on current releases). Ratios are computed within this one run.

    python benchmarks/run.py --ml-python .bench/ml-venv/bin/python [--quick]
"""

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
AUSTRALIAN = HERE.parents[1] / "shared" / "data" / "Australian.mat"
OURS = ["ours-lbfgs-lmnn", "ours-lbfgs-pl", "ours-pgd-lmnn", "ours-pgd-pl"]


def measure(python, spec, log):
    """Run one measurement; returns its JSON result (or the error text)."""
    start = time.perf_counter()
    done = subprocess.run([python, str(HERE / "measure.py"), json.dumps(spec)],
                          capture_output=True, text=True)
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
            max_iter = 1000 if data == "australian" else args.ml_max_iter
            results["metric-learn"] = measure(args.ml_python, {
                "data": data, "method": "metric-learn", "repeats": 1, "max_iter": max_iter,
                **extra}, log)
            results["metric-learn"]["max_iter"] = max_iter
        rows.append((data, results))
    return rows


def render_fit_table(rows):
    lines = ["| data | method | fit time (s, median) | vs ours-lbfgs-pl | peak memory of the "
             "fit (MB) | 3-NN accuracy | iterations |", "|---|---|---|---|---|---|---|"]
    for data, results in rows:
        reference = median(results["ours-lbfgs-pl"])
        for method, result in results.items():
            if "error" in result:
                lines.append(f"| {data} | {method} | failed: {result['error']} | | | | |")
                continue
            note = ""
            if method == "metric-learn" and result["n_iter"] >= result["max_iter"]:
                note = f" (stopped at max_iter={result['max_iter']})"
            lines.append(
                f"| {data} (n={result['n_train']}, p={result['n_features']}) | {method}{note} "
                f"| {median(result):.2f} | {median(result) / reference:.1f}x "
                f"| {result['peak_mb']:.0f} | {result['accuracy']:.4f} | {result['n_iter']} |")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-python", help="python of the metric-learn environment")
    parser.add_argument("--ml-max-iter", type=int, default=100,
                        help="metric-learn's max_iter on digits and synthetic10k "
                        "(it needs hours at its default of 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller scaling")
    parser.add_argument("--out", default=str(HERE / "report.md"))
    args = parser.parse_args()
    log = print
    started = time.strftime("%Y-%m-%d %H:%M")
    log("fit times")
    rows = fit_table(args, log)
    log("scaling and certification")
    fits, certify = scaling(args, log)
    plot_scaling(fits, HERE / "scaling.png")
    import os
    lines = [
        "# robustdml benchmarks", "",
        f"Run {started} with `make bench` on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}. Fit times: median of {args.repeats} runs (1 for "
        "pgd and metric-learn on the larger sets); peak memory: tracemalloc peak during one "
        "fit; accuracy: scikit-learn 3-NN on the transformed test part (70/30 stratified split "
        "seed 0; Australian: the authors' split 0 and its tuned mu, lambda, tau; elsewhere "
        "mu = 0.5, lambda = 1, tau = 0.1), standardise + unit-norm rows.", "",
        "## Fit", "", *render_fit_table(rows), "",
        "## Scaling (LMNN-PL, lbfgs, Fashion-MNIST training images, PCA to 50)", "",
        "| training points | fit time (s) | peak memory (MB) | 3-NN accuracy (1,000 test) |",
        "|---|---|---|---|"]
    for n, result in fits:
        if "error" in result:
            lines.append(f"| {n} | failed: {result['error']} | | |")
        else:
            lines.append(f"| {n} | {median(result):.1f} | {result['peak_mb']:.0f} | "
                         f"{result['accuracy']:.4f} |")
    lines += ["", "![scaling](scaling.png)", "",
              f"## Certification (LMNN-PL metric fitted on {fits[-1][0]} training points)", "",
              "| test points | certify time (s) | median certified radius |", "|---|---|---|"]
    for n_test, result in certify:
        if "error" in result:
            lines.append(f"| {n_test} | failed: {result['error']} | |")
        else:
            lines.append(f"| {n_test} | {median(result):.1f} | {result['median_radius']:.4f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    log(f"wrote {args.out} and {HERE / 'scaling.png'}")


if __name__ == "__main__":
    main()

"""Neighbor search benchmark (issue 30, items 1 and 4): writes benchmarks/search.json, .md and
search_scaling.png.

Parts (``--parts``, comma-separated; all by default):

- ``exact``: one exact 4-NN graph of the training points (queries = references) per backend:
  scikit-learn's ``NearestNeighbors`` (the fit-cost unit), scikit-learn's
  ``pairwise_distances_chunked`` with a top-k per chunk, and robustdml's ``float32`` and
  ``faiss`` backends (float32 candidates re-checked in float64), each checked against the first.
- ``fit``: ``LMNN()`` fit time in units of one exact 4-NN graph timed in the same process,
  with this checkout's code and, with ``--before-src DIR``, another checkout's ``src``
  (e.g. ``git archive e62f152 src | tar -x -C /tmp/before``, then ``--before-src
  /tmp/before/src``).
- ``approx``: build + query time and recall (against exact search, 1,000 sampled queries) of
  the approximate indexes on the generator at 100,000 and 1,000,000 points.
- ``scaling``: ``LMNN()`` fit time against n, on a log-log plot with its slope.

Every measurement runs in a fresh process (``--one``). The generator ("synthetic"): 10 classes
of ``make_classification`` on 20 informative features plus 30 noise features of 3 times their
standard deviation: the Euclidean metric is misled by the noise, a learned one is not.

    python benchmarks/search.py [--parts exact,fit,approx,scaling] [--before-src DIR]
        [--quick] [--render-only]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "search.json"
NOISE_SCALE = 3.0
N_TEST = 2000


def synthetic(n_samples, random_state=0):
    """The generator: 10 classes on 20 informative features, 30 noisier features."""
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=n_samples, n_features=20, n_informative=20,
                               n_redundant=0, n_classes=10, n_clusters_per_class=2,
                               class_sep=1.5, random_state=random_state)
    noise = np.random.RandomState(random_state + 1).normal(scale=NOISE_SCALE,
                                                            size=(n_samples, 30))
    return np.hstack([X, noise]), y


def load(data, n):
    """(X_train, y_train, X_test, y_test)."""
    if data == "synthetic":
        X, y = synthetic(n + N_TEST)
        return X[:n], y[:n], X[n:], y[n:]
    sys.path.insert(0, str(HERE))
    from measure import load as bench_load
    spec = {"data": "fashion", "n_train": n, "n_test": N_TEST} if data == "fashion" else {
        "data": data}
    X_train, y_train, X_test, y_test, _ = bench_load(spec)
    return X_train, y_train, X_test, y_test


def unit_graph(X):
    """Wall and CPU seconds of the fit-cost unit: one exact 4-NN graph of X, as the issue
    times it."""
    from sklearn.neighbors import NearestNeighbors
    start, cpu = time.perf_counter(), time.process_time()
    NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)
    return time.perf_counter() - start, time.process_time() - cpu


def knn_graph(X, backend):
    """The 4-NN graph of X by one backend: (distances, indices)."""
    if backend == "sklearn":
        from sklearn.neighbors import NearestNeighbors
        return NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)
    if backend == "sklearn-chunked":
        from sklearn.metrics import pairwise_distances_chunked

        def top(chunk, start):
            nearest = np.argpartition(chunk, 3, axis=1)[:, :4]
            distance = np.take_along_axis(chunk, nearest, axis=1)
            order = np.argsort(distance, axis=1)
            return (np.sqrt(np.maximum(np.take_along_axis(distance, order, 1), 0)),
                    np.take_along_axis(nearest, order, 1))

        parts = list(pairwise_distances_chunked(X, reduce_func=top, metric="sqeuclidean"))
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
    from robustdml.math import exact_kneighbors
    return exact_kneighbors(X, X, 4, backend=backend)


def run_one(spec):
    """One measurement, in this process."""
    task = spec["task"]
    if task == "knn":
        X = load(spec["data"], spec["n"])[0]
        times, cpu_times, result = [], [], None
        for _ in range(spec.get("repeats", 3)):
            start, cpu = time.perf_counter(), time.process_time()
            result = knn_graph(X, spec["backend"])
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu)
        out = {"seconds": times, "cpu_seconds": cpu_times}
        cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"search-{spec['data']}-{spec['n']}.npz"
        if spec["backend"] == "sklearn":  # the reference the other backends are checked on
            np.savez(cache, distances=result[0], indices=result[1])
        else:
            saved = np.load(cache) if cache.is_file() else None
            reference = ((saved["distances"], saved["indices"]) if saved is not None
                         else knn_graph(X, "sklearn"))
            out["max_distance_error"] = float(np.abs(result[0] - reference[0]).max())
            out["same_indices"] = float(np.mean(np.sort(result[1], 1)
                                                == np.sort(reference[1], 1)))
        return out
    if task == "fit":
        import warnings

        from sklearn.neighbors import KNeighborsClassifier

        import robustdml
        from robustdml import LMNN
        from robustdml.math import impostors
        X, y, X_test, y_test = load(spec["data"], spec["n"])
        counts = {"searches": 0, "search_seconds": 0.0, "search_cpu_seconds": 0.0}
        search = impostors.ActiveTriplets._search

        def counted(self, *args):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return search(self, *args)
            finally:
                counts["searches"] += 1
                counts["search_seconds"] += time.perf_counter() - start
                counts["search_cpu_seconds"] += time.process_time() - cpu

        impostors.ActiveTriplets._search = counted
        unit = [unit_graph(X)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start, cpu = time.perf_counter(), time.process_time()
            model = LMNN(**spec.get("params", {})).fit(X, y)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        unit.append(unit_graph(X))
        unit_wall, unit_cpu = np.median(unit, axis=0)
        knn = KNeighborsClassifier(3)
        accuracy = knn.fit(model.transform(X), y).score(model.transform(X_test), y_test)
        euclidean = knn.fit(X, y).score(X_test, y_test)
        import resource
        return {"seconds": seconds, "cpu_seconds": cpu, "unit_seconds": float(unit_wall),
                "unit_cpu_seconds": float(unit_cpu), "graphs": seconds / unit_wall,
                "graphs_cpu": cpu / unit_cpu,
                "n_iter": int(model.n_iter_), "accuracy": accuracy, "euclidean": euclidean,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "module": robustdml.__file__, **counts}
    if task == "approx":
        from robustdml.math import approximate_kneighbors, neighbor_recall
        X = load("synthetic", spec["n"])[0]
        start = time.perf_counter()
        _, indices = approximate_kneighbors(X, X, spec.get("k", 10), backend=spec["backend"],
                                            effort=spec.get("effort", 1.0))
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        recall = neighbor_recall(X, X, indices, n_samples=1000)
        return {"seconds": seconds, "recall": recall,
                "recall_seconds": time.perf_counter() - start}
    raise ValueError(task)


def measure(spec, log, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)],
                          capture_output=True, text=True, env=env,
                          timeout=spec.get("timeout", 1800))
    if done.returncode:
        result = {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    else:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  {json.dumps(spec)}: {time.perf_counter() - start:.0f} s -> {json.dumps(result)}")
    return result


def _sizes(args, default):
    return [int(n) for n in args.sizes.split(",")] if args.sizes else default


def part_exact(args, log):
    rows = []
    sets = ([("digits", 0), ("synthetic", 20000)] if args.quick else
            [("digits", 0), ("fashion", 10000), ("fashion", 60000), ("synthetic", 20000),
             ("synthetic", 100000)])
    if args.sizes:
        sets = [(data, n) for data, n in sets if n == 0 or str(n) in args.sizes.split(",")]
    backends = ["sklearn", "sklearn-chunked", "float32", "faiss"]
    for data, n in sets:
        for backend in backends:
            repeats = 1 if n >= 60000 else 3
            result = measure({"task": "knn", "data": data, "n": n, "backend": backend,
                              "repeats": repeats}, log)
            rows.append({"data": data, "n": n, "backend": backend, **result})
            args.save("exact", rows)
    return rows


def part_fit(args, log):
    rows = []
    sizes = _sizes(args, [20000] if args.quick else [20000, 100000])
    codes = [("after", None)] + ([("before", args.before_src)] if args.before_src else [])
    for n in sizes:
        for code, path in codes:
            result = measure({"task": "fit", "data": "synthetic", "n": n, "timeout": 3600},
                             log, path)
            rows.append({"data": "synthetic", "n": n, "code": code, **result})
            args.save("fit", rows)
    return rows


def part_approx(args, log):
    rows = []
    sizes = _sizes(args, [100000] if args.quick else [100000, 1000000])
    for n in sizes:
        for backend in ["faiss-hnsw", "hnswlib"]:
            result = measure({"task": "approx", "n": n, "backend": backend}, log)
            rows.append({"n": n, "backend": backend, **result})
            args.save("approx", rows)
    return rows


def part_scaling(args, log):
    rows = []
    sizes = _sizes(args, [1000, 3000, 10000, 30000] if args.quick
                   else [1000, 3000, 10000, 30000, 100000])
    for n in sizes:
        result = measure({"task": "fit", "data": "synthetic", "n": n, "timeout": 3600}, log)
        rows.append({"n": n, **result})
        args.save("scaling", rows)
    return rows


PARTS = {"exact": part_exact, "fit": part_fit, "approx": part_approx, "scaling": part_scaling}


def median(values):
    return float(np.median(values)) if isinstance(values, list) else float(values)


def render(results):
    lines = ["# Neighbor search benchmark", "",
             f"Written by `{results.get('command', 'python benchmarks/search.py')}` on "
             f"{results.get('machine', '?')}; times in seconds (medians), ratios within this "
             "run. The machine was shared with other jobs: absolute times are inflated and "
             "noisy, ratios less so.", "",
             "What follows from it: robustdml's float32 searches (NumPy, faiss's flat index) "
             "return exactly the float64 neighbors (max distance error and same-neighbor "
             "columns), but scikit-learn's fused float64 k-NN kernel took less CPU at 10,000 "
             "points and more; so `backend=\"auto\"` is scikit-learn's, and `ActiveTriplets` "
             "keeps its blockwise float64 impostor search (the fit table: the same fit with "
             "the faiss impostor search took more CPU).", ""]
    if "exact" in results:
        lines += ["## Exact 4-NN graph of the training points", "",
                  "| data | n | backend | seconds | CPU seconds | vs sklearn (CPU) | "
                  "max distance error | same neighbors |",
                  "| --- | --: | --- | --: | --: | --: | --: | --: |"]
        base = {}
        for row in results["exact"]:
            if "error" in row:
                lines.append(f"| {row['data']} | {row['n']} | {row['backend']} | "
                             f"{row['error']} | | | | |")
                continue
            seconds, cpu = median(row["seconds"]), median(row["cpu_seconds"])
            key = (row["data"], row["n"])
            base.setdefault(key, cpu)
            lines.append(
                f"| {row['data']} | {row['n'] or ''} | {row['backend']} | {seconds:.3f} | "
                f"{cpu:.3f} | {base[key] / cpu:.2f}x | "
                f"{row.get('max_distance_error', 0):.1e} | {row.get('same_indices', 1):.4f} |")
        lines.append("")
    if "fit" in results:
        lines += ["## `LMNN()` fit cost in exact 4-NN graphs", "",
                  "One graph: `NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)`, timed "
                  "before and after the fit in the same process (median). CPU seconds are "
                  "the process's (all threads): under load they vary less than wall time.", "",
                  "| n | code | fit s | graph s | graphs | fit CPU s | graph CPU s | "
                  "graphs (CPU) | searches | search CPU s | iterations | 3-NN accuracy | "
                  "Euclidean | peak RSS MB |",
                  "| --: | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | "
                  "--: | --: |"]
        for row in results["fit"]:
            if "error" in row:
                lines.append(f"| {row['n']} | {row['code']} | {row['error']} |" + " |" * 11)
                continue
            lines.append(
                f"| {row['n']} | {row['code']} | {row['seconds']:.1f} | "
                f"{row['unit_seconds']:.2f} | {row['graphs']:.1f} | {row['cpu_seconds']:.1f} | "
                f"{row['unit_cpu_seconds']:.2f} | {row['graphs_cpu']:.1f} | "
                f"{row['searches']} | {row['search_cpu_seconds']:.1f} | {row['n_iter']} | "
                f"{row['accuracy']:.4f} | {row['euclidean']:.4f} | {row['peak_rss_mb']:.0f} |")
        lines.append("")
    if "approx" in results:
        lines += ["## Approximate 10-NN graph of the generator (build + query)", "",
                  "| n | backend | seconds | recall (1,000 queries) |",
                  "| --: | --- | --: | --: |"]
        for row in results["approx"]:
            if "error" in row:
                lines.append(f"| {row['n']} | {row['backend']} | {row['error']} | |")
                continue
            lines.append(f"| {row['n']} | {row['backend']} | {row['seconds']:.1f} | "
                         f"{row['recall']:.4f} |")
        lines.append("")
    if "scaling" in results:
        good = [r for r in results["scaling"] if "error" not in r]
        lines += ["## `LMNN()` fit time against n (generator)", "",
                  "![fit time against n](search_scaling.png)", ""]
        if len(good) >= 2:
            slope = np.polyfit(np.log([r["n"] for r in good]),
                               np.log([r["cpu_seconds"] for r in good]), 1)[0]
            lines += [f"Log-log slope of the fit's CPU time against n: {slope:.2f}.", ""]
            results["scaling_slope"] = float(slope)
        lines += ["| n | fit s | fit CPU s | graphs (CPU) | searches | accuracy | Euclidean |",
                  "| --: | --: | --: | --: | --: | --: | --: |"]
        for row in good:
            lines.append(f"| {row['n']} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | "
                         f"{row['graphs_cpu']:.1f} | {row['searches']} | "
                         f"{row['accuracy']:.4f} | {row['euclidean']:.4f} |")
        lines.append("")
        if len(good) >= 2:
            plot_scaling(good, results["scaling_slope"])
    (HERE / "search.md").write_text("\n".join(lines))


def plot_scaling(rows, slope):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = np.array([r["n"] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(n, [r["cpu_seconds"] for r in rows], "o-",
              label=f"LMNN() fit, CPU time, slope {slope:.2f}")
    ax.loglog(n, [r["seconds"] for r in rows], "s--", label="wall time (loaded machine)")
    ax.set_xlabel("training points n")
    ax.set_ylabel("seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "search_scaling.png", dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--before-src", help="another checkout's src directory")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--sizes", help="comma-separated n for the part(s) run (default: "
                        "each part's own)")
    parser.add_argument("--results", default=str(RESULTS),
                        help="the JSON file read and updated (default: benchmarks/search.json)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    path = Path(args.results)
    results = json.loads(path.read_text()) if path.is_file() else {}
    if not args.render_only:
        def log(message):
            print(message, flush=True)

        results["command"] = "python benchmarks/search.py " + " ".join(sys.argv[1:])
        results["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores (shared), "
                              f"Python {platform.python_version()}")
        def save(part, rows):
            results[part] = rows
            path.write_text(json.dumps(results, indent=1))

        args.save = save
        for part in args.parts.split(","):
            log(f"{part}:")
            results[part] = PARTS[part](args, log)
            path.write_text(json.dumps(results, indent=1))
    render(results)
    path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

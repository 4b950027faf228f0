"""Certified radii and predictions for many queries against a million training points, block
by block: in this process, or on a Dask cluster of local worker processes.

    python benchmarks/certify_scale.py [--n-train 1000000] [--n-queries 10000]
        [--mode local|cluster] [--workers 2] [--block-size 500] [--attack-queries 20]
        [--out benchmarks/certify_scale]
    python benchmarks/certify_scale.py --rates-only [--out benchmarks/certify_rates]

Data: ``noisy_blobs`` below, 10 classes (class means N(0, 1) in 20 informative features, unit
noise there) and 30 pure-noise features of standard deviation 3; the queries are drawn from the
same distribution. The metric: ``LMNN()`` learned on 2,000 fresh points of it (so the metric has
to discount the noisy features), then ``CertifiedKNN(3)`` holds the million training points
under that fixed L. The radii are certified for the true labels
(:func:`robustdml.evaluation.certify_blocks`); the attack runs on the first
``--attack-queries`` queries only (each of its steps is a prediction against all training
points), and its norms must bound the radii from above. Last, the rates a fit on a cluster
would run at (docs/user_guide/dask.md estimates one from them), measured in this process on the
same data: exact distances per second (a 4-NN search of 1,000 queries against the training
set), gradient terms per second (sum of w (a - b)(a - b)^T over 10^6 differences, as one
product) and points embedded per second (X L^T). Writes OUT.json (every number, the command,
the machine and its load) and OUT.md.
"""

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors

import robustdml
from robustdml import LMNN, CertifiedKNN
from robustdml.estimators import MahalanobisMixin
from robustdml.evaluation import certify_blocks

HERE = Path(__file__).resolve().parent


class FixedMetric(MahalanobisMixin, BaseEstimator):
    """A metric learner that returns a given L: the million points keep the metric learned on
    the sample."""

    def __init__(self, components=None):
        self.components = components

    def fit(self, X, y):
        self.components_ = np.asarray(self.components, dtype=float)
        self.n_features_in_ = X.shape[1]
        return self


def noisy_blobs(n_samples, random_state):
    """10 classes: 20 informative features around N(0, 1) class means, 30 noisy ones."""
    means = np.random.default_rng(1234).normal(size=(10, 20))
    rng = np.random.default_rng(random_state)
    y = rng.integers(10, size=n_samples)
    X = np.hstack([means[y] + rng.normal(size=(n_samples, 20)),
                   3.0 * rng.normal(size=(n_samples, 30))])
    return X, y


def timed(function, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=1_000_000)
    parser.add_argument("--n-queries", type=int, default=10_000)
    parser.add_argument("--mode", choices=["local", "cluster"], default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=500)
    parser.add_argument("--attack-queries", type=int, default=20)
    parser.add_argument("--rates-only", action="store_true",
                        help="measure only the rates (wall and CPU seconds), on a fixed L")
    parser.add_argument("--out", default=str(HERE / "certify_scale"))
    args = parser.parse_args(argv)
    if args.rates_only:
        X, _ = noisy_blobs(args.n_train, random_state=0)
        L = np.random.default_rng(0).normal(size=(50, 50)) / np.sqrt(50)
        record = {"command": "python benchmarks/certify_scale.py " + " ".join(sys.argv[1:]),
                  "load_before": os.getloadavg(), "wall": rates(X @ L.T, L),
                  "cpu": rates(X @ L.T, L, clock=2), "load_after": os.getloadavg()}
        Path(args.out).with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(record, indent=2))
        return
    record = {"command": "python benchmarks/certify_scale.py " + " ".join(sys.argv[1:]),
              "settings": vars(args), "robustdml": robustdml.__version__,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": os.getloadavg()}}
    log = print

    sample, sample_labels = noisy_blobs(2_000, random_state=1)
    lmnn, seconds, _ = timed(LMNN().fit, sample, sample_labels)
    log(f"LMNN on 2,000 points: {seconds:.1f} s")
    X, y = noisy_blobs(args.n_train, random_state=0)
    X_query, y_query = noisy_blobs(args.n_queries, random_state=2)
    knn, seconds, _ = timed(CertifiedKNN(3, FixedMetric(lmnn.components_)).fit, X, y)
    record["fit_seconds"] = seconds
    log(f"CertifiedKNN on {args.n_train:,} x {X.shape[1]}: {seconds:.1f} s")

    client = cluster = None
    if args.mode == "cluster":
        from dask.distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
    try:
        result, seconds, cpu = timed(certify_blocks, knn, X_query, y_query, client=client,
                                     block_size=args.block_size)
        record["certify"] = {"seconds": seconds, "driver_cpu_seconds": cpu,
                             "ms_per_query": 1000 * seconds / args.n_queries,
                             "n_blocks": result.n_blocks,
                             "accuracy": float(np.mean(result.predictions == y_query)),
                             "median_radius": float(np.median(result.radii)),
                             "certified_accuracy_at": {
                                 str(r): float(np.mean(result.radii > r))
                                 for r in (0.5, 1.0, 1.5, 2.0)}}
        log(f"certify_blocks, {args.n_queries:,} queries ({args.mode}): {seconds:.1f} s "
            f"({record['certify']['ms_per_query']:.1f} ms per query), accuracy "
            f"{record['certify']['accuracy']:.4f}, median radius "
            f"{record['certify']['median_radius']:.3f}")
        if args.attack_queries:
            n = args.attack_queries
            attacked, seconds, _ = timed(certify_blocks, knn, X_query[:n], y_query[:n],
                                         client=client, block_size=max(1, n // 2),
                                         attack={})
            norms = attacked.attack.norms
            record["attack"] = {
                "n_queries": n, "seconds": seconds,
                "radii_equal_the_large_run": bool(np.array_equal(attacked.radii,
                                                                 result.radii[:n])),
                "radius_at_most_norm": bool(np.all(attacked.radii <= norms)),
                "median_norm_over_radius": float(np.median(
                    norms[attacked.radii > 0] / attacked.radii[attacked.radii > 0]))}
            log(f"attack on {n} queries: {seconds:.1f} s, radius <= norm everywhere: "
                f"{record['attack']['radius_at_most_norm']}")
    finally:
        if client is not None:
            client.close()
            cluster.close()
    record["rates"] = rates(knn.embedding_, lmnn.components_)
    log("rates: " + ", ".join(f"{name} {value:.3g}" for name, value in record["rates"].items()))
    record["machine"]["load_after"] = os.getloadavg()
    record["max_rss_mb_driver"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(report(record))
    log(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


def rates(embedded, L, n_queries=1_000, n_terms=1_000_000, clock=1):
    """Per-second rates of the three operations a fit's iteration is made of (median of 3),
    in wall seconds (``clock=1``) or CPU seconds of this process, all threads (``clock=2``)."""
    index = NearestNeighbors(n_neighbors=4, algorithm="brute").fit(embedded)
    queries = embedded[:n_queries]
    differences = embedded[:n_terms] - embedded[n_terms // 2 % len(embedded)]
    weights = np.ones(len(differences))

    def median_seconds(function):
        return float(np.median([timed(function)[clock] for _ in range(3)]))

    return {
        "distances_per_second": n_queries * len(embedded)
        / median_seconds(lambda: index.kneighbors(queries)),
        "gradient_terms_per_second": len(differences)
        / median_seconds(lambda: differences.T @ (weights[:, None] * differences)),
        "points_embedded_per_second": len(embedded)
        / median_seconds(lambda: embedded @ L.T),
    }


def report(record):
    """OUT.md: the run in a table, with its command and the machine's load."""
    settings, certify = record["settings"], record["certify"]
    lines = [
        "# Certification at scale",
        "",
        f"Command: `{record['command']}`",
        "",
        f"Data: `noisy_blobs` (benchmarks/certify_scale.py), {settings['n_train']:,} training "
        f"points x 50 features, {settings['n_queries']:,} queries; metric: `LMNN()` learned on "
        "2,000 other points of the same distribution; `CertifiedKNN(3)`, radii for the true "
        f"labels. Mode: {settings['mode']}"
        + (f" ({settings['workers']} worker processes, 1 thread each)"
           if settings["mode"] == "cluster" else " (blocks in one process)")
        + f", blocks of {settings['block_size']} queries.",
        "",
        f"Machine: {record['machine']['cpus']} cores shared with other jobs; load average "
        f"(1, 5, 15 min) {', '.join(f'{v:.1f}' for v in record['machine']['load_before'])} "
        f"before, {', '.join(f'{v:.1f}' for v in record['machine']['load_after'])} after.",
        "",
        "| step | seconds |",
        "| --- | --- |",
        f"| `CertifiedKNN.fit` on the training points (fixed L) | {record['fit_seconds']:.1f} |",
        f"| predictions + certified radii, {settings['n_queries']:,} queries "
        f"({certify['n_blocks']} blocks) | {certify['seconds']:.1f} |",
    ]
    if "attack" in record:
        lines.append(f"| attack, first {record['attack']['n_queries']} queries | "
                     f"{record['attack']['seconds']:.1f} |")
    lines += [
        "",
        f"{certify['ms_per_query']:.1f} ms per query; accuracy {certify['accuracy']:.4f}; "
        f"median certified radius {certify['median_radius']:.3f}; certified accuracy "
        + ", ".join(f"{v:.3f} at {r}" for r, v in certify["certified_accuracy_at"].items())
        + ".",
    ]
    if "attack" in record:
        attack = record["attack"]
        lines += ["", f"Attack: radius <= attack norm on every query: "
                  f"{attack['radius_at_most_norm']}; radii equal to the large run's: "
                  f"{attack['radii_equal_the_large_run']}; median norm / radius "
                  f"{attack['median_norm_over_radius']:.2f}."]
    lines += ["", "Rates in one process (median of 3), the basis of the estimate in "
              "docs/user_guide/dask.md:", "", "| operation | per second |", "| --- | --- |"]
    lines += [f"| {name.replace('_per_second', '').replace('_', ' ')} | {value:.3g} |"
              for name, value in record["rates"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

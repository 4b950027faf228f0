"""Accuracy against certified robustness as the perturbation loss's lambda and tau move.

Each setting of (lambda, tau) of LMNN-PL, NCA-PL and ARML (+ the perturbation loss) is an
untuned method of the study; the Euclidean metric, LMNN, scikit-learn's NCA and ARML at their
defaults are points beside them. The cells run through :func:`~.runner.reproduce` (records,
resuming, parallel backends), and this module draws, per data set, clean error against certified
robust error at R (and against noise error), marks the Pareto-optimal settings, and tables them.

    robustdml tradeoff --datasets iris,wine --splits 3 --out tradeoff
"""

from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..estimators import ARML, LMNN, NCA
from .protocol import Method, default_methods
from .report import save_figure
from .runner import current_records, reproduce
from .store import ResultStore

#: The grid of the curves (tau in units of the data scale, as the study's search space).
WEIGHTS = (1.0, 10.0, 100.0)
MARGINS = (0.1, 0.2, 0.4, 0.8)
#: The learners whose curves are drawn, at their defaults otherwise.
CURVES = {"lmnn-pl": LMNN(), "nca-pl": NCA(), "arml-pl": ARML()}
#: The points: study methods at their defaults.
POINTS = ("euclidean", "lmnn", "nca", "arml")


def setting_name(curve, weight, margin):
    return f"{curve}_l{weight:g}_t{margin:g}"


def parse_setting(name):
    """``(curve, lambda, tau)`` of a curve's method name, None for a point."""
    curve, _, rest = name.partition("_l")
    if not rest:
        return None
    weight, _, margin = rest.partition("_t")
    return curve, float(weight), float(margin)


def tradeoff_methods(weights=None, margins=None):
    """The points (untuned) and one untuned method per (curve, lambda, tau) of the grid
    (default: ``WEIGHTS`` x ``MARGINS``)."""
    weights = WEIGHTS if weights is None else weights
    margins = MARGINS if margins is None else margins
    methods = {name: Method(name, default_methods()[name].learner) for name in POINTS}
    for curve, learner in CURVES.items():
        for weight in weights:
            for margin in margins:
                name = setting_name(curve, weight, margin)
                methods[name] = Method(name, clone(learner).set_params(
                    perturbation_weight=weight, perturbation_margin=margin),
                    scaled=("perturbation_margin",))
    return methods


def summarize(records, metric):
    """``{dataset: {method: (mean clean error, mean metric)}}`` over splits."""
    sums = defaultdict(lambda: defaultdict(list))
    for record in records:
        sums[record["dataset"]][record["method"]].append((record["clean_error"], record[metric]))
    return {dataset: {method: tuple(np.mean(values, axis=0)) for method, values in by.items()}
            for dataset, by in sums.items()}


#: Means closer than this count as equal (they are averages of the same few fractions).
TIE = 1e-9


def pareto(points):
    """Names whose (clean error, robust error) no other point beats in both (ties allowed)."""
    def beats(c, d, a, b):
        return c <= a + TIE and d <= b + TIE and (c < a - TIE or d < b - TIE)
    return sorted(name for name, (a, b) in points.items()
                  if not any(beats(c, d, a, b)
                             for other, (c, d) in points.items() if other != name))


def pareto_table(records, metric="robust_error_at_R"):
    """Markdown: the Pareto-optimal methods and settings per data set."""
    lines = [f"| data set | method | lambda | tau / data scale | clean error | {metric} |",
             "|---|---|---|---|---|---|"]
    for dataset, points in sorted(summarize(records, metric).items()):
        for name in sorted(pareto(points), key=lambda n: points[n][0]):
            setting = parse_setting(name)
            curve, weight, margin = setting if setting else (name, None, None)
            lines.append(f"| {dataset} | {curve} | {'-' if weight is None else f'{weight:g}'} | "
                         f"{'-' if margin is None else f'{margin:g}'} | {points[name][0]:.4f} | "
                         f"{points[name][1]:.4f} |")
    return "\n".join(lines) + "\n"


def plot_tradeoff(records, out, metrics=("robust_error_at_R", "noise_error@0.1")):
    """One PNG per data set (a panel per metric) and a summary of all data sets; returns the
    paths ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    flat = [dict(record, **{f"noise_error@{k}": v for k, v in record["noise_error"].items()})
            for record in records]
    metrics = [m for m in metrics if all(m in record for record in flat)]
    by_metric = {metric: summarize(flat, metric) for metric in metrics}
    datasets = sorted(by_metric[metrics[0]]) if metrics else []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    # a learner's default (star) in the color of its curve; Euclidean in black
    colors = {"lmnn": "tab:blue", "nca": "tab:orange", "arml": "tab:green",
               "euclidean": "black"}

    def draw(axis, points, metric):
        front = pareto(points)  # sorted: a set's order, and the PNG bytes, change per process
        for curve in CURVES:
            names = [n for n in points if (parse_setting(n) or ("",))[0] == curve]
            if names:
                xy = np.array([points[n] for n in names])
                axis.scatter(xy[:, 0], xy[:, 1], s=18, alpha=0.6, label=curve,
                             color=colors[curve.removesuffix("-pl")])
        for name in POINTS:
            if name in points:
                axis.scatter(*points[name], marker="*", s=140, label=name, edgecolor="k",
                             color=colors[name])
        for name in front:
            axis.scatter(*points[name], s=70, facecolors="none", edgecolors="r")
        axis.set(xlabel="clean error", ylabel=metric)
        axis.grid(alpha=0.3)

    for dataset in datasets:
        figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4),
                                    squeeze=False)
        for axis, metric in zip(axes[0], metrics):
            draw(axis, by_metric[metric][dataset], metric)
            axis.set_title(f"{dataset} (red: Pareto-optimal)")
        axes[0][0].legend(fontsize=7)
        written.append(save_figure(figure, out / f"tradeoff_{dataset}.png"))
    if datasets:
        columns = min(4, len(datasets))
        rows = -(-len(datasets) // columns)
        figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.5 * rows),
                                    squeeze=False)
        for axis, dataset in zip(axes.ravel(), datasets):
            draw(axis, by_metric[metrics[0]][dataset], metrics[0])
            axis.set_title(dataset)
        for axis in axes.ravel()[len(datasets):]:
            axis.axis("off")
        axes[0][0].legend(fontsize=6)
        written.append(save_figure(figure, out / "tradeoff_summary.png"))
    return written


def run_tradeoff(datasets, config, out, **reproduce_options):
    """Run (or resume) the cells, then write ``pareto.md`` and the PNGs into ``out``."""
    methods = tradeoff_methods()
    summary = reproduce(datasets, methods, config, out, **reproduce_options)
    records = current_records(ResultStore(out), methods, others=False)
    (Path(out) / "pareto.md").write_text(pareto_table(records))
    plot_tradeoff(records, Path(out) / "plots")
    return summary

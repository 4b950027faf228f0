"""The run's conclusions: the terminal's table of headline numbers and report.md's summary in
words."""

import numpy as np

from .descriptions import settings
from .records import collect, higher_is_better, means
from .significance import ALPHA, MIN_SPLITS, versus


#: The headline numbers: metric and its short name in the terminal table.
OVERVIEW = (("clean_error", "clean error"), ("robust_error_at_R", "robust error at R"),
            ("median_certified_radius", "median radius"))


def overview(records, max_rows=30):
    """Plain text: the run's headline numbers, means over splits, per data set and method
    (the best per data set starred) or, when that makes more than ``max_rows`` rows, per
    method averaged over the data sets where every method ran (each weighs the same)."""
    values = collect(records)
    datasets = sorted(values)
    methods = sorted({m for d in values.values() for m in d})
    columns = [(metric, name) for metric, name in OVERVIEW
               if any(values[d][m][metric] for d in datasets for m in methods)]
    table = {metric: means(values, metric) for metric, _ in columns}
    if len(datasets) * len(methods) <= max_rows:
        rows = []
        for dataset in datasets:
            for method in methods:
                cells = []
                for metric, _ in columns:
                    here = table[metric][dataset]
                    if method not in here:
                        cells.append("-")
                        continue
                    best = (max if higher_is_better(metric) else min)(here.values())
                    star = "*" if len(here) > 1 and np.isclose(here[method], best) else " "
                    cells.append(f"{here[method]:.3f}{star}")
                rows.append([dataset if method == methods[0] else "", method, *cells])
        heading = ["data set", "method"]
        notes = ("Mean over splits; * the best on the data set. R: the reference radius, "
                 "relative radius x the data set's scale (report.md defines them).")
    else:
        shared = [d for d in datasets if all(m in table[columns[0][0]][d] for m in methods)]
        rows = [[method, *(f"{np.mean([table[metric][d][method] for d in shared]):.3f}"
                           for metric, _ in columns)] for method in methods]
        heading = ["method"]
        notes = (f"Mean over splits, then over the {len(shared)} data sets every method ran "
                 "on. R: the reference radius (report.md defines it).")
    heading += [name for _, name in columns]
    widths = [max(len(str(row[i])) for row in [heading, *rows]) for i in range(len(heading))]
    lines = ["  ".join(text.rjust(width) if i >= len(heading) - len(columns) else
                       text.ljust(width) for i, (text, width) in
                       enumerate(zip(map(str, row), widths))).rstrip()
             for row in [heading, *rows]]
    return "\n".join(lines + ["", notes])


#: The reference method the headline measures against.
BASELINE = "euclidean"


def headline(records, config=None):
    """Markdown lines: which method is the most accurate and which the most robust, by how
    much (against the runner-up and the Euclidean metric) and how sure (paired t-tests), in
    words: the column names are defined only after it."""
    values = collect(records)
    lines = ["## Summary", ""]
    splits = sorted({len(by["clean_error"]) for d in values.values() for by in d.values()})
    radius = settings(config)["relative_radius"]
    for metric, quality, name in (
            ("clean_error", "accurate", "clean error"),
            ("robust_error_at_R", "robust",
             f"certified robust error at R = {radius:g} x data scale")):
        table = means(values, metric)
        methods = sorted({m for d in table.values() for m in d})
        datasets = [d for d in sorted(table) if len(table[d]) == len(methods)]
        if len(methods) < 2 or not datasets:
            continue
        overall = {m: np.mean([table[d][m] for d in datasets]) for m in methods}
        ranked = sorted(methods, key=overall.get)
        best, second = ranked[0], ranked[1]
        firsts = sum(np.isclose(table[d][best], min(table[d].values())) for d in datasets)
        digits = 3 if f"{overall[best]:.3f}" != f"{overall[second]:.3f}" else 4
        text = (f"**Most {quality}: {best}**, {name}: {overall[best]:.{digits}f} on average "
                f"over {len(datasets)} data set(s) (the lowest of all methods on {firsts}), "
                f"against {overall[second]:.{digits}f} for the runner-up, {second}")
        if BASELINE in methods and BASELINE not in (best, second):
            text += f", and {overall[BASELINE]:.{digits}f} for the Euclidean metric"
        if BASELINE in methods and best != BASELINE and overall[BASELINE] > 0:
            text += f" ({1 - overall[best] / overall[BASELINE]:.0%} lower than the Euclidean's)"
        text += "."
        for rival in dict.fromkeys((second, BASELINE)):
            verdict = (versus(values, metric, best, rival, datasets)
                       if rival in methods and rival != best else None)
            if verdict:
                text += f" Against {rival}, data set by data set, it is {verdict}."
        lines += [text, ""]
    if len(lines) > 2 and max(splits) < MIN_SPLITS:
        lines += [f"{max(splits)} split(s) per data set are too few for a paired test (it "
                  f"takes {MIN_SPLITS}): run more --splits to know how sure these are.", ""]
    elif len(lines) > 2:
        lines += [f"How sure: paired t-test over the splits of each data set "
                  f"({'/'.join(map(str, splits))} here) at level {ALPHA}. With few splits only "
                  "large differences are significant: more --splits make the answer surer.",
                  ""]
    return lines if len(lines) > 2 else []

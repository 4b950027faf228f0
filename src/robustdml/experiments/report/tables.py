"""Markdown tables: a metric's means per data set and method, and one method's wins, ties and
losses against the others."""

import numpy as np

from .records import higher_is_better, means
from .significance import ALPHA, compare


#: The methods the win/tie/loss tables are about: the perturbation loss added to LMNN, tuned
#: jointly with LMNN's settings and after them.
FOCI = ("lmnn-pl", "lmnn-pl-staged")


def means_table(metric, datasets, methods, values):
    """Markdown lines: ``metric``'s mean +- std over splits per data set (rows) and method
    (columns), the best per data set in bold."""
    better = max if higher_is_better(metric) else min
    lines = ["| data set | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for dataset in datasets:
        means = {m: np.mean(list(values[dataset][m][metric].values()))
                 for m in methods if values[dataset][m][metric]}
        best = better(means.values()) if means else None
        cells = []
        for method in methods:
            per_split = list(values[dataset][method][metric].values())
            if not per_split:
                cells.append("-")
                continue
            text = f"{np.mean(per_split):.4f} +- {np.std(per_split):.4f}"
            cells.append(f"**{text}**" if np.isclose(means[method], best) else text)
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return lines + [""]


def wins_table(focus, others, datasets, values, metrics):
    """Markdown lines: per metric, ``focus``'s wins/ties/losses over data sets against each of
    ``others``."""
    lines = [f"## {focus}: wins / ties / losses over data sets",
             "", f"Paired t-test over splits at level {ALPHA}; a win is a significantly "
             "lower error (larger radius / attack norm).", "",
             "| metric | " + " | ".join(f"vs {m}" for m in others) + " |",
             "|---|" + "---|" * len(others)]
    for metric in metrics:
        if metric.endswith("seconds"):
            continue
        cells = []
        for other in others:
            counts = {"win": 0, "tie": 0, "loss": 0}
            for dataset in datasets:
                ours, rival = values[dataset][focus][metric], values[dataset][other][metric]
                if higher_is_better(metric):
                    ours = {s: -v for s, v in ours.items()}
                    rival = {s: -v for s, v in rival.items()}
                outcome = compare(ours, rival)
                if outcome:
                    counts[outcome] += 1
            cells.append(f"{counts['win']}/{counts['tie']}/{counts['loss']}"
                         if sum(counts.values()) else "n/a")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return lines + [""]

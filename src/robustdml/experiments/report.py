"""Tables (Markdown, CSV) and plots (PNG) from stored records.

``write_reports(records, out)`` writes ``results.csv`` (one row per record), ``summary.csv``
(mean and std per data set, method and metric), ``report.md`` (its conclusions, what its
columns and method names mean, its plots, then one table per metric, best in bold, and lmnn-pl's
wins/ties/losses against every other method by a paired t-test over splits) and, when
matplotlib is installed, ``plots/*.png``. ``combined_report`` counts the
data sets of several runs together (``robustdml summary``).
"""

import csv
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy.stats import ttest_rel

#: Significance level of the paired tests.
ALPHA = 0.05
#: The methods the win/tie/loss tables are about: the perturbation loss added to LMNN, tuned
#: jointly with LMNN's settings and after them.
FOCI = ("lmnn-pl", "lmnn-pl-staged")


def flatten(record):
    """A record as one flat dict of scalars, e.g. ``certified_error@0.05``."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            separator = "." if key == "params" else "@"
            flat.update({f"{key}{separator}{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def metric_names(records):
    """Numeric metrics present in the records, in a reading order."""
    order = ["clean_error", "noise_error", "certified_error", "robust_error_at_R",
             "median_certified_radius", "empirical_error", "median_attack_norm", "fit_seconds"]
    names = {key for record in records for key in flatten(record)}
    return [name for prefix in order for name in sorted(
        (n for n in names if n == prefix or n.startswith(prefix + "@")),
        key=lambda n: float(n.split("@")[1]) if "@" in n else -1.0)]


def higher_is_better(metric):
    return metric in ("median_certified_radius", "median_attack_norm", "cv_score")


def collect(records):
    """``values[dataset][method][metric] = {split: value}``."""
    values = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for record in records:
        for metric, value in flatten(record).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[record["dataset"]][record["method"]][metric][record["split"]] = value
    return values


def summary_rows(records):
    values = collect(records)
    rows = []
    for dataset in sorted(values):
        for method in sorted(values[dataset]):
            for metric in metric_names(records):
                per_split = list(values[dataset][method][metric].values())
                if per_split:
                    rows.append({"dataset": dataset, "method": method, "metric": metric,
                                 "mean": float(np.mean(per_split)),
                                 "std": float(np.std(per_split)), "n_splits": len(per_split)})
    return rows


#: Fewer paired splits than this give no verdict ("n/a" in the report).
MIN_SPLITS = 3


def compare(focus, other):
    """'win', 'tie' or 'loss' of ``focus`` (lower is better) by a paired t-test over splits."""
    splits = sorted(set(focus) & set(other))
    if len(splits) < MIN_SPLITS:
        return None
    a = np.array([focus[s] for s in splits])
    b = np.array([other[s] for s in splits])
    difference = a - b
    if np.allclose(difference, 0.0):
        return "tie"
    if np.allclose(difference, difference[0]):  # no variance to test: a two-sided sign test
        if 2.0 * 0.5 ** len(splits) >= ALPHA:
            return "tie"
        return "win" if difference[0] < 0 else "loss"
    p_value = ttest_rel(a, b).pvalue
    if not np.isfinite(p_value) or p_value >= ALPHA:
        return "tie"
    return "win" if difference.mean() < 0 else "loss"


def means(values, metric):
    """``{dataset: {method: mean over splits}}`` of ``metric`` (pairs without it left out)."""
    return {dataset: {method: float(np.mean(list(by[metric].values())))
                      for method, by in methods.items() if by[metric]}
            for dataset, methods in values.items()}


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


def _versus(values, metric, method, rival, datasets):
    """"lower on W, no significant difference on T, higher on L" of ``method`` against
    ``rival`` (paired t-tests over splits); None when no data set has enough splits."""
    counts = {"win": 0, "tie": 0, "loss": 0}
    for dataset in datasets:
        ours, theirs = values[dataset][method][metric], values[dataset][rival][metric]
        if higher_is_better(metric):
            ours, theirs = ({s: -v for s, v in side.items()} for side in (ours, theirs))
        outcome = compare(ours, theirs)
        if outcome:
            counts[outcome] += 1
    if not sum(counts.values()):
        return None
    better, worse = ("larger", "smaller") if higher_is_better(metric) else ("lower", "higher")
    return (f"{better} on {counts['win']}, no significant difference on {counts['tie']}, "
            f"{worse} on {counts['loss']}")


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
            verdict = (_versus(values, metric, best, rival, datasets)
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


#: What each column of the report means (``{}``: filled from the configuration).
GLOSSARY = {
    "clean_error": "fraction of the test part that the k-NN classifier (k = {n_neighbors}) "
                   "misclassifies.",
    "noise_error@s": "the error when Gaussian noise of standard deviation s is "
                   "added to every test point (mean over {noise_draws} draws).",
    "certified_error@r": "the certified robust error at L2 radius r, the "
                       "fraction of test points misclassified or with a certified radius of "
                       "at most r. An upper bound on what any attack of norm r can do.",
    "robust_error_at_R": "the certified robust error at the reference radius R = "
                         "{relative_radius} x the data set's scale (R per data set below).",
    "data scale": "the median distance from a training point to its nearest other-class "
                  "training point, after preprocessing: radii in its units mean the same on "
                  "every data set.",
    "median_certified_radius": "the median over the test part of the certified radius: no "
                               "perturbation of smaller L2 norm changes the prediction "
                               "(0 for a misclassified point).",
    "empirical_error@r": "the fraction of attacked test points (up to "
                       "{attack_points}) that the attack misclassifies with a perturbation of "
                       "norm at most r. A lower bound on the robust error; the certified "
                       "error is an upper bound.",
    "median_attack_norm": "the median norm of the smallest perturbation the attack found.",
    "fit_seconds": "seconds of the final fit on the whole training part.",
}
#: What each method name means.
METHOD_NAMES = {
    "euclidean": "k-NN on the preprocessed features, no metric learned (the baseline).",
    "lmnn": "LMNN (Weinberger and Saul), its pull weight and drift weight tuned.",
    "lmnn-pl": "LMNN with the perturbation loss of Yang et al., LMNN's and the loss's "
               "settings tuned together.",
    "lmnn-pl-staged": "LMNN tuned first (as lmnn), then the perturbation loss's settings "
                      "with LMNN's fixed (plain LMNN among the candidates).",
    "nca": "scikit-learn's NeighborhoodComponentsAnalysis, untuned.",
    "nca-pl": "NCA with the perturbation loss, the loss's settings tuned.",
    "arml": "ARML (Wang et al. 2020), the robust metric learning peer, untuned as its authors "
            "ran it.",
}


def settings(config=None):
    """The protocol settings the report's text names: ``config``'s, else the defaults."""
    return {"n_neighbors": 3, "noise_draws": 5, "attack_points": 200, "relative_radius": 0.1,
            **(config or {})}


def glossary(records, config=None):
    """Markdown lines defining the report's columns and the method names it uses."""
    present = {name.split("@")[0] for name in metric_names(records)} | {"data scale"}
    lines = ["## Columns and names", ""]
    lines += [f"- `{name}`: {text.format(**settings(config))}" for name, text in GLOSSARY.items()
              if name.split("@")[0] in present]
    methods = sorted({record["method"] for record in records})
    lines += [""] + [f"- `{name}`: {METHOD_NAMES[name]}" for name in methods
                     if name in METHOD_NAMES]
    if any("_l" in name and "_t" in name for name in methods):
        lines.append("- `<method>_l<lambda>_t<tau>` (a trade-off run): that method untuned, "
                     "with perturbation weight lambda and margin tau x the data scale.")
    return lines + [""]


#: What a selection rule keeps, in words.
RULES = {"accuracy": "the highest accuracy",
         "certified": "the highest certified accuracy at R (the fraction of held-out points "
                      "classified correctly with a certified radius above R)"}
#: How a search cross-validates the candidates, in words.
SEARCHES = {"random": "on the whole training part",
            "halving": "with successive halving on the training part (scikit-learn's "
                       "HalvingGridSearchCV, factor 3: each round keeps the best third of the "
                       "candidates and gives them three times the data)"}


def tuning_notes(records, config=None):
    """Markdown lines: which methods were tuned, over how many candidates, by what rule."""
    spaces = {}
    for record in records:
        if record.get("search_space"):
            spaces[record["method"]] = record["search_space"]
    if not spaces:
        return ["No method was tuned: each ran with its default settings."]
    config = config or {}
    tuned = [record for record in records if record.get("search_space")]
    rules = sorted({record.get("select", "accuracy") for record in tuned})
    searches = sorted({record["search"] for record in tuned if "search" in record})
    budget = config.get("budget")
    if budget is None:
        candidates = "the candidate settings"
    elif budget == 1:
        candidates = "1 candidate setting (its defaults: no random draw)"
    else:
        candidates = (f"{budget} candidate settings (the defaults and {budget - 1} random draws "
                      "from the search space below; a staged method draws this many per stage)")
    folds = f"{config['cv_folds']}-fold" if "cv_folds" in config else "k-fold"
    lines = [f"Tuned methods ({', '.join(sorted(spaces))}): each tried {candidates}, scored "
             f"them by {folds} cross-validation "
             + " or ".join(SEARCHES.get(search, f"by {search} search") for search in searches)
             + ", and kept the one with "
             + " or ".join(RULES.get(rule, rule) for rule in rules) + "."]
    for method, space in sorted(spaces.items()):
        lines.append(f"- {method} search space: the defaults plus random draws of "
                     + ", ".join(f"{key} ~ {value}" for key, value in sorted(space.items())))
    return lines


def _selection_notes(records, datasets, config=None):
    """How hyper-parameters were chosen, over what, and the robust radius R per data set."""
    lines = tuning_notes(records, config)
    radii = defaultdict(list)
    for record in records:
        if "robust_radius" in record:
            radii[record["dataset"]].append((record["robust_radius"], record["data_scale"]))
    if radii:
        lines += ["", "robust_error_at_R is the certified robust error at R = relative radius x "
                  "the data set's scale (median distance from a training point to its nearest "
                  "other-class point, preprocessed):", "",
                  "| data set | scale (mean over splits) | R (mean over splits) |", "|---|---|---|"]
        for dataset in datasets:
            if radii[dataset]:
                values = np.array(radii[dataset])
                lines.append(f"| {dataset} | {values[:, 1].mean():.4f} | "
                             f"{values[:, 0].mean():.4f} |")
    return lines + [""]


def run_time(runs, records):
    """``(wall seconds, runs, runs cut short)`` of the runs that wrote ``records``: each run
    from its start to its end or, when it was killed before its end, to the last record it
    wrote (``finished_at``), summed over runs."""
    finished = sorted(datetime.fromisoformat(r["finished_at"]) for r in records
                      if "finished_at" in r)
    starts = [datetime.fromisoformat(e["time"]) for e in runs if e["event"] == "start"]
    seconds, cut = 0.0, 0
    for entry_index, entry in enumerate(runs):
        if entry["event"] != "start":
            continue
        begin = datetime.fromisoformat(entry["time"])
        following = runs[entry_index + 1] if entry_index + 1 < len(runs) else None
        if following is not None and following["event"] == "end":
            end = datetime.fromisoformat(following["time"])
        else:
            cut += 1
            next_start = min((t for t in starts if t > begin), default=None)
            written = [t for t in finished
                       if t >= begin and (next_start is None or t < next_start)]
            end = written[-1] if written else begin
        seconds += (end - begin).total_seconds()
    return seconds, len(starts), cut


def _cost_notes(records, runs):
    cell_seconds = sum(r.get(key, 0.0) for r in records
                       for key in ("tune_seconds", "certify_seconds", "attack_seconds"))
    lines = [f"Cost: {cell_seconds / 3600:.2f} CPU-hours of tuning, certifying and attacking, "
             "summed over the records"]
    if runs:
        seconds, count, cut = run_time(runs, records)
        lines[0] += (f"; {seconds / 3600:.2f} hours of wall time over {count} run(s)"
                     + (f" ({cut} cut short, counted to their last record)" if cut else "")
                     + " (runs.jsonl; records written before it existed are not timed)")
        if any("fit_cache" in entry for entry in runs):
            lines[0] += ("; some runs loaded fitted metrics from a fit cache (runs.jsonl), "
                         "so the cost of the fits made by earlier runs is not counted here")
    return lines + [""]


def plot_links(plots, out):
    """Markdown lines: a Plots section showing ``plots`` (paths under ``out``) by relative
    links, the summary first."""
    lines = ["## Plots", ""]
    if not plots:
        return lines + ["No plots: install matplotlib (pip install 'robustdml[plots]') and run "
                        "robustdml report again.", ""]
    for path in sorted(plots, key=lambda path: (path.stem != "summary", path.stem)):
        title = "mean over data sets" if path.stem == "summary" else path.stem
        lines += [f"![{title}]({Path(path).relative_to(out).as_posix()})", ""]
    return lines


def markdown_report(records, config=None, runs=None, plots=None, out="."):
    """The text of report.md; with ``plots`` (paths under ``out``, [] when none could be
    drawn), a section showing them."""
    values = collect(records)
    datasets = sorted(values)
    methods = sorted({m for d in values.values() for m in d})
    lines = ["# robustdml reproduce: results", ""]
    lines += headline(records, config) + glossary(records, config)
    if plots is not None:
        lines += plot_links(plots, Path(out))
    lines += ["## Protocol and tables", ""]
    if config:
        lines += ["Protocol: " + ", ".join(f"{k} = {v}" for k, v in sorted(config.items())), ""]
    lines += _cost_notes(records, runs)
    lines += ["Mean +- std over splits; best per data set in bold. Errors are fractions of the "
              "test part; radii and attack norms are L2 norms in the preprocessed space.", ""]
    lines += _selection_notes(records, datasets, config)
    for metric in metric_names(records):
        lines += [f"## {metric}", ""] + means_table(metric, datasets, methods, values)
    for focus in FOCI:
        if focus in methods:
            lines += wins_table(focus, [m for m in methods if m != focus], datasets, values,
                                metric_names(records))
    return "\n".join(lines)


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


def combined_report(runs, metrics=("robust_error_at_R", "clean_error")):
    """Markdown: the data sets of several runs (``{name: records}``, e.g. two suites' result
    directories) taken together, each (run, data set) counting once: each focus method's
    wins/ties/losses against every other method, per method the number of data sets where
    its mean is the lowest, and the means side by side (run / data set per row)."""
    records = [dict(record, dataset=f"{name}/{record['dataset']}")
               for name, run in runs.items() for record in run]
    values = collect(records)
    datasets = sorted(values)
    methods = sorted({m for d in values.values() for m in d})
    lines = [f"# {len(datasets)} data sets together: {', '.join(runs)}", "",
             "Each (run, data set) counts once, so a data set in two suites counts twice (their "
             "preprocessing differs).", ""]
    for focus in FOCI:
        if focus in methods:
            lines += wins_table(focus, [m for m in methods if m != focus], datasets, values,
                                metrics)
    complete = [d for d in datasets if all(values[d][m][metrics[0]] for m in methods)]
    lines += [f"## Lowest mean (data sets where every method has {metrics[0]}: "
              f"{len(complete)} of {len(datasets)}; ties count for each method tied)", "",
              "| metric | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for metric in metrics:
        better = max if higher_is_better(metric) else min
        lowest = dict.fromkeys(methods, 0)
        for dataset in complete:
            means = {m: np.mean(list(values[dataset][m][metric].values())) for m in methods}
            best = better(means.values())
            for method in methods:
                lowest[method] += bool(np.isclose(means[method], best))
        lines.append(f"| {metric} | " + " | ".join(str(lowest[m]) for m in methods) + " |")
    for metric in metrics:
        lines += ["", f"## {metric}: mean +- std over splits (best per row in bold)", ""]
        lines += means_table(metric, datasets, methods, values)[:-1]
    return "\n".join(lines) + "\n"


def write_csv(path, rows):
    columns = sorted({key for row in rows for key in row},
                     key=lambda c: (c not in ("dataset", "method", "split", "metric"), c))
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


#: Line styles cycled through the methods of a plot: color, marker and dash pattern all
#: differ, so that methods with equal numbers stay told apart.
STYLES = tuple(zip(("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                    "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan"),
                   "osD^vP*Xph", ("-", "--", "-.", ":") * 3))
#: Each method's points are shifted sideways by this fraction of the x range times its
#: position among the methods, so that equal curves do not hide one another.
DODGE = 0.012


def method_style(index):
    color, marker, linestyle = STYLES[index % len(STYLES)]
    return {"color": color, "marker": marker, "linestyle": linestyle, "markersize": 5,
            "markerfacecolor": "none" if index >= len(STYLES) else color}


def figure_legend(figure, axes, fontsize=8):
    """One legend for the whole figure, below its panels, from the first panel's lines
    (every panel draws the same methods in the same styles)."""
    handles, labels = axes[0].get_legend_handles_labels()
    if not labels:  # records without curves (e.g. clean error only): nothing to tell apart
        return
    figure.legend(handles, labels, loc="outside lower center", fontsize=fontsize,
                  ncol=min(len(labels), 4 if len(labels) <= 12 else 6), frameon=False)


def save_figure(figure, path, grow=False):
    """Lay out, write as PNG and close one matplotlib figure; returns ``path``. ``grow``:
    legends lie outside the axes, so the saved box grows to include them."""
    import matplotlib.pyplot as plt
    if grow:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    else:
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_reports(records, out):
    """PNG plots, one per data set and a summary, each with one legend of the methods;
    returns their paths ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    values = collect(records)
    methods = sorted({m for d in values.values() for m in d})
    plots = Path(out) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    written = []
    panels = (("noise_error", "error under Gaussian noise", "noise sigma"),
              ("certified_error", "certified robust error", "L2 radius"),
              ("empirical_error", "robust error under attack", "L2 radius"))

    def curve(dataset, method, prefix):
        """x (0: clean) and the mean error over splits at each x."""
        by = values[dataset][method]
        series = sorted((float(m.split("@")[1]), list(v.values()))
                        for m, v in by.items() if m.startswith(prefix + "@") and v)
        xs = [0.0] + [x for x, _ in series]
        ys = [list(by["clean_error"].values())] + [v for _, v in series]
        return np.array(xs), np.array([np.mean(v) for v in ys])

    def draw(axis, x, y, index, method):
        shift = DODGE * (np.max(x) or 1.0) * (index - (len(methods) - 1) / 2)
        axis.plot(x + shift, y, label=method, **method_style(index))

    def finish(figure, axes, titles):
        for axis, (title, xlabel) in zip(axes, titles):
            axis.set(title=title, xlabel=xlabel, ylabel="error")
            axis.grid(alpha=0.3)
        figure_legend(figure, axes)

    for dataset in sorted(values):
        shown = [p for p in panels if any(m.startswith(p[0] + "@")
                                          for by in values[dataset].values() for m in by)]
        if not shown:
            continue
        figure, axes = plt.subplots(1, len(shown), figsize=(4.5 * len(shown), 4),
                                    squeeze=False, layout="constrained")
        for axis, (prefix, _, _) in zip(axes[0], shown):
            for index, method in enumerate(methods):
                if method in values[dataset]:
                    draw(axis, *curve(dataset, method, prefix), index, method)
        finish(figure, axes[0], [(f"{dataset}: {title}", xlabel) for _, title, xlabel in shown])
        written.append(save_figure(figure, plots / f"{dataset}.png", grow=True))

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for axis, (prefix, _, _) in zip(axes, panels):
        for index, method in enumerate(methods):
            curves = [curve(d, method, prefix) for d in values if method in values[d]]
            if curves and all(len(c[0]) == len(curves[0][0]) for c in curves):
                draw(axis, curves[0][0], np.mean([c[1] for c in curves], axis=0), index,
                     method)
    finish(figure, axes, [("mean over data sets: " + title, xlabel)
                          for _, title, xlabel in panels[:2]])
    written.append(save_figure(figure, plots / "summary.png", grow=True))
    return written


def tuning_rule(records):
    """How ``records`` were tuned, e.g. "certified by random search" ("accuracy" for records
    that predate the selection rules)."""
    rules = sorted({record.get("select", "accuracy") for record in records})
    searches = sorted({record["search"] for record in records if "search" in record})
    return "/".join(rules) + (f" by {'/'.join(searches)} search" if searches else "")


def selection_report(records, baseline, metrics=("robust_error_at_R", "clean_error")):
    """Markdown: what tuning for robustness (``records``) changed against tuning for accuracy
    (``baseline``, the same splits; or any two tuning rules, e.g. two searches), per tuned
    method: per data set the means under both rules and the paired test of the change (a win:
    lower under ``records``' rule)."""
    values, before = collect(records), collect(baseline)
    lines = [f"## Selection: {tuning_rule(records)} against {tuning_rule(baseline)}", "",
             "Per data set: mean under the baseline's rule -> under this run's rule, and the "
             f"paired t-test over splits (level {ALPHA}; win = lower here).", ""]
    tuned = {r["method"] for r in records if r.get("search_space")}
    methods = sorted(tuned & {r["method"] for r in baseline})
    if tuned - set(methods):
        lines += [f"Not in the baseline: {', '.join(sorted(tuned - set(methods)))}.", ""]
    for method in methods:
        lines += [f"### {method}", "", "| data set | " + " | ".join(metrics) + " |",
                  "|---|" + "---|" * len(metrics)]
        counts = {metric: {"win": 0, "tie": 0, "loss": 0} for metric in metrics}
        for dataset in sorted(values):
            cells = []
            for metric in metrics:
                now = values[dataset][method][metric]
                then = before.get(dataset, {}).get(method, {}).get(metric, {})
                if not now or not then:
                    cells.append("-")
                    continue
                outcome = compare(now, then)
                if outcome:
                    counts[metric][outcome] += 1
                cells.append(f"{np.mean(list(then.values())):.4f} -> "
                             f"{np.mean(list(now.values())):.4f} ({outcome or 'n/a'})")
            lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
        lines += ["", "Wins / ties / losses: " + "; ".join(
            f"{metric} {c['win']}/{c['tie']}/{c['loss']}" for metric, c in counts.items()), ""]
    return "\n".join(lines)


def verdict_table(records, baseline, metric="robust_error_at_R", focus=FOCI[0]):
    """Markdown: per data set, ``focus``'s ``metric`` against every other method of the same
    run (paired t-tests over splits), and its clean error against the Euclidean metric's and
    against its own under the ``baseline``'s selection rule: the price of what it gains."""
    values, before = collect(records), collect(baseline)
    datasets = sorted(d for d in values if values[d][focus][metric])
    others = sorted({m for d in datasets for m in values[d]
                     if m != focus and values[d][m][metric]})
    rule = tuning_rule(baseline)
    in_baseline = any(r["method"] == focus for r in baseline)
    columns = ([f"{focus} {metric}"] + [f"vs {m}" for m in others]
               + [f"{focus} clean_error", "vs euclidean"]
               + [f"vs {focus} tuned for {rule}"] * in_baseline)
    own = (f"and {focus}'s own when tuned for {rule}" if in_baseline
           else f"({focus} is not in the baseline tuned for {rule})")
    lines = [f"## {focus} against the rest", "",
             f"{metric}: mean of {focus}, then each rival's mean and the outcome for {focus} "
             f"(paired t-test over splits, level {ALPHA}; win = lower error). Clean error: "
             f"{focus}'s, then the Euclidean metric's {own}, with the same tests.", "",
             "| data set | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    counts = defaultdict(lambda: {"win": 0, "tie": 0, "loss": 0})

    def versus(mine, rival, key):
        if not rival:
            return "-"
        outcome = compare(mine, rival)
        if outcome:
            counts[key][outcome] += 1
        return f"{np.mean(list(rival.values())):.4f} ({outcome or 'n/a'})"

    for dataset in datasets:
        ours, clean = values[dataset][focus][metric], values[dataset][focus]["clean_error"]
        cells = [f"{np.mean(list(ours.values())):.4f}"]
        cells += [versus(ours, values[dataset][m][metric], m) for m in others]
        cells += [f"{np.mean(list(clean.values())):.4f}",
                  versus(clean, values[dataset]["euclidean"]["clean_error"], "clean euclidean")]
        if in_baseline:
            own_baseline = before.get(dataset, {}).get(focus, {}).get("clean_error", {})
            cells.append(versus(clean, own_baseline, "clean baseline"))
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")

    def total(key):
        c = counts[key]
        return f"{c['win']}/{c['tie']}/{c['loss']}"
    lines.append("| wins/ties/losses | | " + " | ".join(total(m) for m in others)
                 + f" | | {total('clean euclidean')} |"
                 + f" {total('clean baseline')} |" * in_baseline)
    return "\n".join(lines) + "\n"


def write_reports(records, out, config=None, baseline=None, runs=None):
    """Write every table and plot of ``records`` into ``out``; returns the paths written.
    With ``baseline`` records (the same study tuned by another rule), ``selection.md`` compares
    the two rules; with ``runs`` (the directory's run log), report.md says what the runs cost."""
    out = Path(out)
    if not records:  # checked first: a mistyped --out leaves no empty directory behind
        raise ValueError(f"No records to report in {out}; run robustdml reproduce first.")
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "results.csv", [flatten(r) for r in records])
    write_csv(out / "summary.csv", summary_rows(records))
    plots = plot_reports(records, out)  # first: report.md links to them
    (out / "report.md").write_text(markdown_report(records, config, runs, plots, out))
    if baseline:
        focused = [focus for focus in FOCI if any(r["method"] == focus for r in records)]
        (out / "selection.md").write_text("\n".join(verdict_table(records, baseline, focus=focus)
                                                    for focus in focused) + "\n"
                                          + selection_report(records, baseline))
    return [out / "results.csv", out / "summary.csv", out / "report.md", *plots]

"""Reports across runs: several runs' data sets together, and one tuning rule against
another."""

from collections import defaultdict

import numpy as np

from .records import collect, higher_is_better, means
from .significance import ALPHA, compare, versus
from .tables import FOCI, means_table, wins_table


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

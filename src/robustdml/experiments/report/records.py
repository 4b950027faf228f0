"""Records as rows and as values: one flat row per record, the values per data set, method,
metric and split, their means, and summary.csv's rows."""

from collections import defaultdict

import numpy as np


#: The record fields listing what happened in a cell (see
#: :mod:`~robustdml.experiments.recording`): counted in a flat record, not copied.
LOGS = ("fits", "warnings")


def fit_counts(record):
    """``{"fits", "fits_not_converged", "warnings"}`` of a record: its learner fits, those that
    did not converge, and the warnings raised in the cell (in fits or not); ``{}`` for a record
    made before fits were recorded."""
    if "fits" not in record:
        return {}
    fits = record["fits"]
    raised = [w for fit in fits for w in fit["warnings"]] + record.get("warnings", [])
    return {"fits": len(fits), "fits_not_converged": sum(not fit["converged"] for fit in fits),
            "warnings": sum(w["count"] for w in raised)}


def flatten(record):
    """A record as one flat dict of scalars, e.g. ``certified_error@0.05``; its fits and
    warnings as counts (:func:`fit_counts`)."""
    flat = fit_counts(record)
    for key, value in record.items():
        if key in LOGS:
            continue
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
    """Whether a larger ``metric`` is better (radii, attack norms, scores), not an error."""
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
    """summary.csv's rows: per data set, method and metric, the mean and std over splits and
    the number of splits."""
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


def means(values, metric):
    """``{dataset: {method: mean over splits}}`` of ``metric`` (pairs without it left out)."""
    return {dataset: {method: float(np.mean(list(by[metric].values())))
                      for method, by in methods.items() if by[metric]}
            for dataset, methods in values.items()}

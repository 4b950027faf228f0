"""What happened in the cells: fits that did not converge and warnings."""

from collections import defaultdict

import numpy as np

from .records import fit_counts


#: Warning messages listed in report.md, the most frequent first.
MAX_MESSAGES = 5


def convergence_notes(records):
    """Markdown lines: per data set and method, the learner fits that did not converge and the
    warnings raised, then the most frequent warning messages; "none" when there are none, and
    nothing when no record holds its fits (records made before they were recorded)."""
    recorded = [record for record in records if "fits" in record]
    if not recorded:
        return []
    lines = ["## Convergence and warnings", ""]
    intro = (f"Every metric learner fit of the {len(recorded)} cells (cross-validation fits and "
             "the final fit, measured on the test part) and every warning raised in them")
    older = len(records) - len(recorded)
    if older:
        intro += (f" ({older} record{'s' * (older > 1)} made before fits were recorded "
                  f"{'are' if older > 1 else 'is'} not counted)")
    totals = defaultdict(lambda: np.zeros(4, dtype=int))
    messages = defaultdict(int)
    for record in recorded:
        counts = fit_counts(record)
        final = sum(not fit["converged"] for fit in record["fits"] if fit["final"])
        totals[record["dataset"], record["method"]] += (
            counts["fits"], counts["fits_not_converged"], final, counts["warnings"])
        for warning in [w for fit in record["fits"] for w in fit["warnings"]] + record.get(
                "warnings", []):
            messages[warning["category"], warning["message"]] += warning["count"]
    flagged = {pair: row for pair, row in sorted(totals.items()) if row[1] or row[3]}
    if not flagged:
        return lines + [intro + ": none. Every fit converged and no warning was raised.", ""]
    lines += [intro + ": the (data set, method) pairs with a fit that did not converge or a "
              "warning (the others had none).", "",
              "| data set | method | fits | not converged | final fits not converged | "
              "warnings |", "|---|---|---|---|---|---|"]
    lines += [f"| {dataset} | {method} | " + " | ".join(map(str, row)) + " |"
              for (dataset, method), row in flagged.items()]
    frequent = sorted(messages.items(), key=lambda item: -item[1])
    lines += ["", f"Warnings, the most frequent first ({len(frequent)} distinct "
              f"message{'s' * (len(frequent) > 1)}"
              + (f"; the first {MAX_MESSAGES}" if len(frequent) > MAX_MESSAGES else "")
              + "; records.jsonl.gz holds every one):" if frequent else "No warning.", ""]
    lines += [f"- {count} x {category}: {message}"
              for (category, message), count in frequent[:MAX_MESSAGES]]
    return lines + ([""] if frequent else [])

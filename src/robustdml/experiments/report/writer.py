"""report.md, and every file of a report written at once."""

from pathlib import Path

from .comparisons import selection_report, verdict_table
from .convergence import convergence_notes
from .costs import cost_notes
from .csv_files import write_csv
from .descriptions import glossary, selection_notes
from .plots import plot_links, plot_reports
from .records import collect, flatten, metric_names, summary_rows
from .summary import headline
from .tables import FOCI, means_table, wins_table


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
    lines += convergence_notes(records)
    lines += ["## Protocol and tables", ""]
    if config:
        lines += ["Protocol: " + ", ".join(f"{k} = {v}" for k, v in sorted(config.items())), ""]
    lines += cost_notes(records, runs)
    lines += ["Mean +- std over splits; best per data set in bold. Errors are fractions of the "
              "test part; radii and attack norms are L2 norms in the preprocessed space.", ""]
    lines += selection_notes(records, datasets, config)
    for metric in metric_names(records):
        lines += [f"## {metric}", ""] + means_table(metric, datasets, methods, values)
    for focus in FOCI:
        if focus in methods:
            lines += wins_table(focus, [m for m in methods if m != focus], datasets, values,
                                metric_names(records))
    return "\n".join(lines)


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

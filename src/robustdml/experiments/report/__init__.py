"""Reports from stored records: tables (Markdown, CSV) and plots (PNG).

``write_reports(records, out)`` writes ``results.csv`` (one row per record), ``summary.csv``
(mean and std per data set, method and metric), ``report.md`` (its conclusions, what its
columns and method names mean, its plots, how the methods were tuned, the fits that did not
converge and the warnings, then one table per metric, best in bold, and lmnn-pl's
wins/ties/losses against every other method by a paired t-test over splits) and, when
matplotlib is installed, ``plots/*.png``. ``combined_report`` counts the data sets of several
runs together (``robustdml summary``).

The parts, one module each: ``records`` (records as rows and as values), ``significance`` (the
paired tests), ``summary`` (the conclusions), ``descriptions`` (what the columns, methods and
tuning mean), ``costs``, ``convergence`` (fits that did not converge, warnings), ``tables``,
``comparisons`` (across runs and tuning rules), ``csv_files``, ``plots`` and ``writer``
(report.md and the whole report). Every public name of every part is importable from here.
"""

from .records import (LOGS, fit_counts, flatten, metric_names, higher_is_better, collect,
                      summary_rows, means)
from .significance import ALPHA, MIN_SPLITS, compare, versus
from .summary import OVERVIEW, overview, BASELINE, headline
from .descriptions import (GLOSSARY, METHOD_NAMES, settings, glossary, RULES, SEARCHES,
                           tuning_notes, selection_notes)
from .costs import run_time, cost_notes
from .convergence import MAX_MESSAGES, convergence_notes
from .tables import FOCI, means_table, wins_table
from .comparisons import combined_report, tuning_rule, selection_report, verdict_table
from .csv_files import write_csv
from .plots import (STYLES, DODGE, method_style, figure_legend, save_figure, plot_reports,
                    plot_links)
from .writer import markdown_report, write_reports

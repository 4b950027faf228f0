"""The ``robustdml`` command: ``reproduce`` the study, list ``datasets``, rebuild a ``report``."""

import argparse
import contextlib
import os
import sys
from pathlib import Path

from joblib import cpu_count

from . import __version__
from .datasets import SPECS, DataUnavailable, available
from .datasets.sources import no_fetching
from .experiments.protocol import ProtocolConfig, default_methods
from .experiments.progress import clock
from .experiments.report import combined_report, overview, write_reports
from .experiments.runner import RunInterrupted, current_records, reproduce
from .experiments.tradeoff import run_tradeoff
from .experiments.store import ConfigMismatch, ResultsLocked, ResultStore
from .experiments.suites import DEMO, SUITE_DATASETS, SUITE_DEFAULTS


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _selection(text):
    """``--select``: "accuracy", "accuracy@F" or "certified@F" (F: R in units of the data
    scale; it also sets where robust_error_at_R is measured)."""
    rule, _, fraction = text.partition("@")
    if rule not in ("accuracy", "certified"):
        raise SystemExit(f"robustdml: --select takes accuracy or certified@F, got {text!r}.")
    if not fraction:
        return {"select": rule}
    try:
        return {"select": rule, "relative_radius": float(fraction)}
    except ValueError:
        raise SystemExit(f"robustdml: --select {text!r}: {fraction!r} is not a number.") from None


def _command_reproduce(args):
    if args.australian:
        os.environ["ROBUSTDML_AUSTRALIAN"] = str(Path(args.australian).resolve())
    datasets = _names(args.datasets) if args.datasets else SUITE_DATASETS[args.suite]
    unknown = [name for name in datasets if name not in SPECS]
    if unknown:
        raise SystemExit(f"robustdml: unknown data set(s) {', '.join(unknown)}; "
                         "see 'robustdml datasets'.")
    all_methods = default_methods()
    defaults = SUITE_DEFAULTS[args.suite]
    method_names = (_names(args.methods) if args.methods
                    else defaults.get("methods", list(all_methods)))
    unknown = [name for name in method_names if name not in all_methods]
    if unknown:
        raise SystemExit(f"robustdml: unknown method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(all_methods)}.")
    jobs = args.jobs or cpu_count()
    config = ProtocolConfig(n_splits=args.splits or defaults["splits"],
                            budget=args.budget or defaults["budget"], seed=args.seed,
                            preprocessing=args.preprocessing,
                            scaling=args.scaling or defaults["scaling"],
                            n_neighbors=args.k, search=args.search,
                            cv_folds=defaults.get("cv_folds", 5), **_selection(args.select))
    methods = {name: all_methods[name] for name in method_names}
    summary = reproduce(datasets, methods, config, args.out, jobs=jobs, backend=args.backend,
                        scheduler=args.scheduler, fit_cache=args.fit_cache,
                        progress=not args.quiet)
    if summary.computed or summary.failures:
        print(f"\n{summary.computed} cells computed, {summary.reused} reused, "
              f"{len(summary.failures)} failed, in {clock(summary.seconds)}.")
    if summary.reports:
        records = [r for r in current_records(ResultStore(args.out), methods, others=False)
                   if r["dataset"] in datasets]
        print("\n" + overview(records) + "\n")
        out = Path(args.out)
        print(f"Report: {out / 'report.md'} (conclusions first, then every table)")
        print(f"Tables: {out / 'results.csv'} (one row per cell), {out / 'summary.csv'}")
        plots = [p for p in summary.reports if p.suffix == ".png"]
        if plots:
            print(f"Plots:  {out / 'plots'} ({len(plots)} PNG files; all data sets together: "
                  f"{out / 'plots' / 'summary.png'})")
        else:
            print("Plots:  none (install matplotlib: pip install 'robustdml[plots]')")
    for failure in summary.failures:
        print(f"FAILED {failure['dataset']} / {failure['method']} / split {failure['split']}: "
              f"{failure['error']}", file=sys.stderr)
    return 1 if summary.failures else 0


def _command_tradeoff(args):
    config = ProtocolConfig(n_splits=args.splits, attack_points=50, **_selection(args.select))
    run_tradeoff(_names(args.datasets), config, args.out, jobs=args.jobs,
                 progress=not args.quiet)
    out = Path(args.out)
    print(f"Pareto-optimal settings: {out / 'pareto.md'}; plots: {out / 'plots'}")
    return 0


def _command_datasets(args):
    print(f"{'name':<20} {'n':>6} {'p':>5} {'classes':>7}  {'here':<4}  source")
    for name, spec in SPECS.items():
        with contextlib.nullcontext() if args.fetch else no_fetching():
            ok, why = available(name)
        if ok:
            from .datasets import load
            data = load(name)
            print(f"{name:<20} {data.n_samples:>6} {data.n_features:>5} {data.n_classes:>7}  "
                  f"{'yes':<4}  {spec.source}; license: {spec.license}")
        else:
            print(f"{name:<20} {'-':>6} {'-':>5} {'-':>7}  {'no':<4}  {spec.source}\n"
                  f"{'':<20} to get it: {why}")
    print("\nSuites: " + "; ".join(f"{suite}: {', '.join(names)}"
                                   for suite, names in SUITE_DATASETS.items()))
    return 0


def _command_report(args):
    store = ResultStore(args.out)
    baseline = ResultStore(args.baseline).records() if args.baseline else None
    if args.baseline and not baseline:
        raise ValueError(f"No records in {args.baseline} to compare with.")
    paths = write_reports(store.records(), store.root, store.saved_config(), baseline,
                          runs=store.runs())
    if baseline:
        paths.append(store.root / "selection.md")
    print("Wrote " + ", ".join(str(p) for p in paths))
    return 0


def _command_summary(args):
    runs = {}
    for directory in args.directories:
        records = ResultStore(directory).records()
        if not records:
            raise ValueError(f"No records in {directory}; run robustdml reproduce there first.")
        runs[directory] = records
    text = combined_report(runs)
    if args.out:
        Path(args.out).write_text(text)
        print(f"Wrote {args.out}")
    else:
        print(text, end="")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="robustdml", description="Robust distance metric learning: reproduce the study "
        "of Yang et al. (certified robustness of DML) on offline data sets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("reproduce", help="run the study and write tables and plots")
    run.add_argument("--suite", choices=sorted(SUITE_DATASETS), default="demo",
                     help="data sets (and, for demo, methods and search) to run: demo "
                     f"({', '.join(DEMO['datasets'])}; {', '.join(DEMO['methods'])}; minutes), "
                     "quick (every method, six data sets), paper16, arml "
                     "(default: %(default)s)")
    run.add_argument("--datasets", help="comma-separated names instead of the suite's (which "
                     "still sets the defaults of the options below)")
    run.add_argument("--methods", help="comma-separated subset of "
                     f"{','.join(default_methods())} (default: those of demo for demo, "
                     "else all)")
    run.add_argument("--splits", type=int, help="random 70/30 splits per data set "
                     "(default: 3 for demo and quick, 20 for paper16, 10 for arml)")
    run.add_argument("--budget", type=int, help="candidates per tuned method: the defaults "
                     "and budget - 1 random draws, each cross-validated on 5 folds (3 for "
                     "demo) (default: 3 for demo, 4 for quick, 8 otherwise)")
    run.add_argument("--seed", type=int, default=0, help="seed of the splits and searches "
                     "(default: %(default)s)")
    run.add_argument("--preprocessing", choices=["train", "whole"], default="train",
                     help="fit the preprocessing on the training part or, as the authors "
                     "did, on the whole data set (default: %(default)s)")
    # "standardise", the old spelling, still accepted (with a FutureWarning) but not shown
    run.add_argument("--scaling", choices=["standardize", "minmax", "standardise"],
                     metavar="{standardize,minmax}",
                     help="standardize then unit-norm rows (the paper's) or every feature to "
                     "[0, 1] (ARML's) (default: minmax for the arml suite, else standardize)")
    run.add_argument("--k", type=int, default=3,
                     help="k of the certified k-NN, odd (default: %(default)s)")
    run.add_argument("--search", choices=["random", "halving"], default="random",
                     help="cross-validate every candidate on all the training part, or by "
                     "successive halving (cheaper, so larger budgets, e.g. 9; accuracy only: it can "
                     "rank certified accuracy in reverse) (default: %(default)s)")
    run.add_argument("--select", default="accuracy",
                     help="what tuning maximizes: accuracy (the paper's rule) or certified@F, "
                     "the certified accuracy at R = F x the data set's scale (median distance "
                     "to the nearest other-class point); robust_error_at_R is reported at R "
                     "either way, F = 0.1 unless given (default: %(default)s)")
    run.add_argument("--out", default="results",
                     help="results directory (default: %(default)s)")
    run.add_argument("--jobs", type=int, help="parallel cells, -1 for all cores "
                     "(default: the number of cores)")
    run.add_argument("--backend", choices=["loky", "dask", "threading", "sequential"],
                     default="loky", help="where the cells run (default: %(default)s)")
    run.add_argument("--scheduler", help="Dask scheduler address, with --backend dask")
    run.add_argument("--fit-cache", metavar="DIR", help="cache every fitted metric in DIR "
                     "(shared by the workers): runs that differ only in k, in the selection "
                     "rule or the radius reuse each other's fits (default: no cache)")
    run.add_argument("--australian", help="path to the authors' Australian.mat")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.set_defaults(handler=_command_reproduce)

    listing = commands.add_parser("datasets", help="list data sets and whether they are here")
    listing.add_argument("--fetch", action="store_true",
                         help="download the Debian packages of the data sets that need one "
                         "(without it, nothing is downloaded)")
    listing.set_defaults(handler=_command_datasets)

    report = commands.add_parser("report", help="rebuild tables and plots from stored records")
    report.add_argument("--out", default="results",
                        help="results directory: its records.jsonl.gz, or in a directory "
                        "of the older layout its records/<data set>/<method>/split-NNN.json "
                        "files (read as they are; the next reproduce run there converts them "
                        "into records.jsonl.gz) (default: %(default)s)")
    report.add_argument("--baseline", help="results directory of the same study tuned by "
                        "another --select rule: selection.md compares the two")
    report.set_defaults(handler=_command_report)

    summary = commands.add_parser("summary", help="wins / ties / losses over the data sets "
                                  "of several results directories together (e.g. two suites)")
    summary.add_argument("directories", nargs="+", help="results directories")
    summary.add_argument("--out", help="Markdown file to write (default: print it)")
    summary.set_defaults(handler=_command_summary)

    curves = commands.add_parser("tradeoff", help="clean error against certified robust error "
                                 "as lambda and tau move (LMNN-PL, NCA-PL, ARML + PL)")
    curves.add_argument("--datasets", required=True, help="comma-separated names")
    curves.add_argument("--splits", type=int, default=3,
                        help="random 70/30 splits per data set (default: %(default)s)")
    curves.add_argument("--select", default="accuracy@0.1",
                        help="F of R = F x the data scale, as in reproduce (default: 0.1)")
    curves.add_argument("--jobs", type=int, default=1, help="parallel cells "
                        "(default: %(default)s)")
    curves.add_argument("--out", default="tradeoff",
                        help="results directory (default: %(default)s)")
    curves.add_argument("--quiet", action="store_true", help="no progress display")
    curves.set_defaults(handler=_command_tradeoff)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ResultsLocked, ConfigMismatch, DataUnavailable, ValueError, ImportError) as error:
        print(f"robustdml: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        print(f"\nrobustdml: interrupted; {_kept(args, interrupt)}.", file=sys.stderr)
        return 130


def _kept(args, interrupt):
    """What a Ctrl-C left behind, and how to go on."""
    if not isinstance(interrupt, RunInterrupted):
        return ("no cell had started; run the same command to start"
                if args.command in ("reproduce", "tradeoff") else "nothing was lost")
    if not interrupt.stored:
        return (f"no cell had finished, so nothing was kept in {interrupt.out}; run the same "
                "command to start again")
    return (f"{interrupt.computed} cell(s) finished in this run, {interrupt.stored} of "
            f"{interrupt.total} are now kept in {interrupt.out}; run the same command to "
            "resume from them")


if __name__ == "__main__":
    sys.exit(main())

"""Run the study: every (data set, method, split) cell, in parallel, resumable.

Cells run through joblib (local processes by default, or an existing Dask cluster); each record
comes back to this process and is written atomically as soon as it arrives, so a killed run
loses only the cells in flight, and a rerun skips every record already stored.
"""

import contextlib
import hashlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy
import scipy
import sklearn
from joblib import Parallel, delayed, effective_n_jobs, parallel_config

from ..datasets import load
from .progress import Progress
from .protocol import ProtocolConfig, run_cell
from .report import write_reports
from .store import ResultStore, utc_now


@dataclass
class RunSummary:
    """What a run did: records computed and reused, failures, the files it wrote and its
    wall time."""

    computed: int = 0
    reused: int = 0
    failures: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    seconds: float = 0.0


def _cell(dataset_name, method, split, config, environment, memory):
    """One cell in a worker: returns the record (or the error as text) and its seconds."""
    os.environ.update(environment)
    start = time.perf_counter()
    try:
        record = run_cell(load(dataset_name), method, split, config, memory=memory)
    except Exception as error:  # reported by the driver, the run goes on
        record = {"dataset": dataset_name, "method": method.name, "split": split,
                  "error": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc()}
    return record, time.perf_counter() - start


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run: ``computed`` cells of it were saved, and ``stored`` of its
    ``total`` cells are now in ``out``."""

    def __init__(self, computed, stored, total, out):
        super().__init__(computed, stored, total, out)
        self.computed, self.stored, self.total, self.out = computed, stored, total, out


@contextlib.contextmanager
def _backend(backend, scheduler):
    if backend == "dask":
        if not scheduler:
            raise ValueError("--backend dask needs --scheduler ADDRESS of a running Dask "
                             "scheduler (e.g. tcp://host:8786; start one with 'dask scheduler'"
                             " and 'dask worker ADDRESS').")
        try:
            from dask.distributed import Client
        except ImportError as error:
            raise ImportError("The dask backend needs dask.distributed: "
                              "pip install 'robustdml[distributed]'") from error
        with Client(scheduler) as client, parallel_config(backend="dask"):
            yield client
    elif backend in ("loky", "threading", "sequential"):
        with parallel_config(backend=backend):
            yield None
    else:
        raise ValueError(f"Unknown backend {backend!r}; use loky, dask, threading or "
                         "sequential.")


def largest_first(cells, methods):
    """``cells`` with the costliest first (larger data sets, then searched methods): a long
    cell started last would run alone at the end while the other workers idle."""
    def cost(cell):
        dataset, method, split = cell
        return -load(dataset).n_samples, dataset, -len(methods[method].stages), method, split
    return sorted(cells, key=cost)


#: The code a metric learner's fit runs (besides NumPy, SciPy and scikit-learn).
FIT_SOURCES = ("math", "estimators", "_compat.py")


def fit_cache_location(directory):
    """Where fitted metrics are cached under ``directory``: a subdirectory named after a digest
    of the fitting code (:data:`FIT_SOURCES`) and the NumPy, SciPy and scikit-learn versions,
    so that a fit made by other code is never loaded (the cache key itself holds only the
    learner's parameters and the data)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    sources = [path for name in FIT_SOURCES for path in
               ([package / name] if name.endswith(".py") else (package / name).rglob("*.py"))]
    for source in sorted(sources):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    for module in (numpy, scipy, sklearn):
        digest.update(f"{module.__name__} {module.__version__}".encode())
    return str(Path(directory).resolve() / f"fits-{digest.hexdigest()[:16]}")


def current_records(store, methods, others=True):
    """The stored records, less those of a method in ``methods`` made before it was redefined
    (another search space; they wait for their rerun), and less those of other methods unless
    ``others``."""
    return [record for record in store.records()
            if (others and record["method"] not in methods)
            or (record["method"] in methods and methods[record["method"]].is_current(record))]


def reproduce(datasets, methods, config=None, out="results", *, jobs=1, backend="loky",
              scheduler=None, fit_cache=None, progress=True, log=print):
    """Run every missing (data set, method, split) cell and write the reports.

    Parameters
    ----------
    datasets : list of str
        Registry names (see ``robustdml datasets``).
    methods : dict of name -> :class:`~robustdml.experiments.protocol.Method`
    config : ProtocolConfig, optional
    out : path
        Results directory; records already there (same configuration) are reused.
    jobs : int
        Parallel cells (-1: all cores, or all workers of a Dask cluster).
    backend : {"loky", "dask", "threading", "sequential"}
    scheduler : str, optional
        Address of a Dask scheduler, with ``backend="dask"``.
    fit_cache : path, optional
        Directory caching every fitted metric (CV folds and refits): a run that fits the same
        learner with the same settings on the same data (another k, another selection rule, a
        staged search's first stage) loads it instead. Workers must share the directory.
    progress : bool
        Show live progress: a status line on a terminal, else plain lines (at the start, per
        finished cell, and every 30 seconds without one).
    log : callable
        Where messages go.

    Returns
    -------
    RunSummary
    """
    config = config or ProtocolConfig()
    summary = RunSummary()
    store = ResultStore(out)
    with store:
        store.check_config(config.to_dict(),
                           complete=lambda saved: ProtocolConfig.from_dict(saved).to_dict())
        for name in datasets:
            load(name)  # fail early, with the message that says what to install
        cells = [(d, m, s) for d in datasets for m in methods for s in range(config.n_splits)]
        stored = {cell: store.load(*cell) for cell in cells}
        todo = [cell for cell in cells
                if stored[cell] is None or not methods[cell[1]].is_current(stored[cell])]
        stale = sum(stored[cell] is not None for cell in todo)
        summary.reused = len(cells) - len(todo)
        if todo:
            log(f"{len(cells)} cells ({len(datasets)} data sets x {len(methods)} methods x "
                f"{config.n_splits} splits): {summary.reused} already in {store.root}, "
                + (f"{stale} stored with another search space (rerun), " if stale else "")
                + f"{len(todo)} to run with {jobs} job(s) on {backend}.")
        environment = {key: value for key, value in os.environ.items()
                       if key.startswith("ROBUSTDML_")}
        memory = None if fit_cache is None else fit_cache_location(fit_cache)
        # a rerun with nothing to do is not a run: logging it would change the report's Cost
        # line; the cache is recorded as the caller named it, not as this machine's path
        if todo:
            store.log_run("start", cells=len(todo), jobs=jobs, backend=backend,
                          **({} if memory is None else
                             {"fit_cache": str(Path(fit_cache) / Path(memory).name)}))
        start = time.perf_counter()
        try:
            with _backend(backend, scheduler):
                _run_cells(largest_first(todo, methods), methods, config, store, summary,
                           environment, memory, jobs, progress, log)
            if todo:
                store.log_run("end", computed=summary.computed, failed=len(summary.failures))
            records = current_records(store, methods)
            if records:
                summary.reports = write_reports(records, store.root, config.to_dict(),
                                                runs=store.runs())
        except KeyboardInterrupt:
            raise RunInterrupted(summary.computed, summary.reused + summary.computed,
                                 len(cells), store.root) from None
        summary.seconds = time.perf_counter() - start
        if not todo and summary.reports:
            log(f"All {len(cells)} cells already done; report rebuilt at "
                f"{store.root / 'report.md'}.")
    return summary


def _run_cells(todo, methods, config, store, summary, environment, memory, jobs, progress,
               log):
    """Run the cells of ``todo`` in parallel, saving each record as it arrives."""
    if not todo:
        return
    status = Progress(todo, effective_n_jobs(jobs), where=store.root) if progress else None
    say = log if status is None else status.message

    def tasks():  # tells the display which cells the workers were handed, as they are
        for cell in todo:
            if status is not None:
                status.dispatched(cell)
            dataset, method, split = cell
            yield delayed(_cell)(dataset, methods[method], split, config, environment, memory)

    try:
        results = Parallel(n_jobs=jobs, batch_size=1, return_as="generator_unordered")(tasks())
        for record, seconds in results:
            cell = (record["dataset"], record["method"], record["split"])
            if "error" in record:
                summary.failures.append(record)
                say(f"FAILED {'/'.join(map(str, cell))}: {record['error']}")
            else:
                store.save(dict(record, finished_at=utc_now()))
                summary.computed += 1
            if status is not None:
                status.finished(cell, seconds, "failed" if "error" in record else
                                f"clean error {record['clean_error']:.3f}")
    finally:
        if status is not None:
            status.close()

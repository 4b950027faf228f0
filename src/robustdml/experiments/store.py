"""Results that survive: every finished cell's record, stored atomically, and a run lock.

Layout of a results directory::

    config.json                          the protocol configuration of every record here
    records.jsonl.gz                     one JSON line per finished cell, gzip-compressed
    runs.jsonl                           one line when a run starts, one when it ends
    .lock                                held by the run that is writing here

A record holds what :func:`~robustdml.experiments.protocol.run_cell` returns: the cell's
numbers, and what happened in it (``fits``, ``warnings``: see
:mod:`~robustdml.experiments.recording`). The store reads any record as it was written: one
made before a field existed is read without it, and the reports do without it.

``records.jsonl.gz`` is rewritten whole (to a temporary file, then renamed over the old one)
each time a cell finishes, so it always holds every finished cell, and a killed run loses only
the cells in flight. Read it with ``zcat records.jsonl.gz`` or :meth:`ResultStore.records`.

Directories written before this layout keep one JSON file per cell,
``records/<dataset>/<method>/split-NNN.json``: they are read as they are, and the next run
holding the lock converts them to ``records.jsonl.gz``.
"""

import contextlib
import errno
import fcntl
import gzip
import json
import os
import zlib
from datetime import datetime, timezone
from pathlib import Path

from .._files import atomic_writer

#: The records of a results directory.
RECORDS_FILE = "records.jsonl.gz"
#: One record per file, the layout before :data:`RECORDS_FILE`.
LEGACY_RECORDS = "records/*/*/split-*.json"


def utc_now():
    """The time now, UTC, to the second, as ISO 8601 text."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsLocked(RuntimeError):
    """Another run holds the results directory."""


class ConfigMismatch(ValueError):
    """The results directory holds records made with another protocol configuration."""


def write_atomic(path, content):
    """Write ``content`` (bytes) so that ``path`` holds either its old content or all of the
    new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as stream:
        stream.write(content)


def write_json_atomic(path, content):
    """Write JSON so that ``path`` holds either its old content or all of the new one."""
    write_atomic(path, json.dumps(content, indent=1, sort_keys=True).encode())


def _cell(record):
    return record["dataset"], record["method"], record["split"]


class ResultStore:
    """Records of one results directory.

    The run that holds the lock (``with store:``) is the only writer: it reads the records
    once and keeps them in memory. Without the lock, every read goes to the files, so a report
    made while a run goes on sees every cell finished so far.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.path = self.root / RECORDS_FILE
        self._lock_handle = None
        self._held = None  # {cell: record} while the lock is held

    def _legacy_paths(self):
        return sorted(self.root.glob(LEGACY_RECORDS))

    def _read(self):
        """``{(dataset, method, split): record}`` from both layouts (the compact file wins:
        a run killed while converting leaves copies of its records in the old one)."""
        cells = {}
        for path in self._legacy_paths():
            dataset, method = path.relative_to(self.root / "records").parts[:2]
            try:
                cells[dataset, method, int(path.stem.removeprefix("split-"))] = json.loads(
                    path.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise ValueError(f"Damaged record {path}: {error}. Delete it and rerun to "
                                 "recompute that cell.") from error
        if self.path.is_file():
            try:
                with gzip.open(self.path, "rt", encoding="utf-8") as stream:
                    for line in stream:
                        record = json.loads(line)
                        cells[_cell(record)] = record
            except (OSError, EOFError, zlib.error, json.JSONDecodeError, KeyError) as error:
                raise ValueError(
                    f"Damaged records file {self.path}: {error!r}. Restore it from a copy "
                    "(e.g. git checkout), or delete it and rerun to recompute every cell."
                ) from error
        return cells

    def _cells(self):
        return self._read() if self._held is None else self._held

    def _write(self, cells):
        lines = "".join(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
                        for record in cells.values())
        # mtime=0: the same records give the same bytes
        write_atomic(self.path, gzip.compress(lines.encode("utf-8"), mtime=0))

    def load(self, dataset, method, split):
        """The stored record of a cell, None when there is none."""
        return self._cells().get((dataset, method, split))

    def save(self, record):
        """Store ``record``, replacing the one of the same cell if any."""
        cells = {**self._cells(), _cell(record): record}
        self._write(cells)
        if self._held is not None:  # only once written: memory never holds more than the file
            self._held = cells

    def records(self):
        """Every stored record, by data set, method and split; a damaged file is reported, not
        silently skipped."""
        return [record for _, record in sorted(self._cells().items())]

    def check_config(self, config_dict, complete=lambda saved: saved):
        """Save the configuration, or make sure it equals the one already saved (after
        ``complete`` fills in settings added since it was written, at their defaults). A saved
        configuration without any record (a run refused before its first cell) protects
        nothing and is replaced."""
        path = self.root / "config.json"
        if path.is_file() and self._cells():
            saved = complete(json.loads(path.read_text()))
            if saved != config_dict:
                changed = sorted(key for key in set(saved) | set(config_dict)
                                 if saved.get(key) != config_dict.get(key))
                raise ConfigMismatch(
                    f"{self.root} holds results of another configuration (differs in: "
                    f"{', '.join(changed)}). Use another --out, or the saved settings.")
        else:
            write_json_atomic(path, config_dict)

    def log_run(self, event, **details):
        """Append ``{"event": event, "time": now (UTC), **details}`` to ``runs.jsonl``."""
        entry = {"event": event, "time": utc_now(), **details}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "runs.jsonl", "a") as stream:
            stream.write(json.dumps(entry, sort_keys=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def runs(self):
        """The entries of ``runs.jsonl`` (a line cut short by a kill is skipped)."""
        path = self.root / "runs.jsonl"
        if not path.is_file():
            return []
        entries = []
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                entries.append(json.loads(line))
        return entries

    def saved_config(self):
        path = self.root / "config.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def __enter__(self):
        """Hold the directory's lock for the duration of a run."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            if error.errno in (errno.EAGAIN, errno.EACCES):
                raise ResultsLocked(
                    f"Another robustdml run (pid {holder}) is writing to {self.root}; wait for "
                    "it to finish or choose another --out.") from None
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle
        try:
            # files half-written by a killed run: never read, removed while we hold the lock
            for stale in [*self.root.glob(".*.tmp"), *self.root.glob("records/*/*/.*.tmp")]:
                stale.unlink(missing_ok=True)
            self._held = self._read()
            self._convert_legacy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _convert_legacy(self):
        """Move the records of the old layout into :data:`RECORDS_FILE`, which is written
        before any old file is deleted: a run killed meanwhile loses nothing."""
        legacy = self._legacy_paths()
        if legacy:
            self._write(self._held)
            for path in legacy:
                path.unlink()
        for directory, _, _ in os.walk(self.root / "records", topdown=False):
            with contextlib.suppress(OSError):  # not empty: holds files that are not records
                os.rmdir(directory)

    def __exit__(self, *exc):
        self._held = None
        self._lock_handle.truncate(0)  # no holder's pid left behind
        self._lock_handle.flush()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()
        self._lock_handle = None

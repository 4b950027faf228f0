"""Results that survive: one JSON record per cell, written atomically, and a run lock.

Layout of a results directory::

    config.json                          the protocol configuration of every record here
    records/<dataset>/<method>/split-<r>.json
    runs.jsonl                           one line when a run starts, one when it ends
    .lock                                held by the run that is writing here
"""

import contextlib
import errno
import fcntl
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path


def utc_now():
    """The time now, UTC, to the second, as ISO 8601 text."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsLocked(RuntimeError):
    """Another run holds the results directory."""


class ConfigMismatch(ValueError):
    """The results directory holds records made with another protocol configuration."""


def write_json_atomic(path, content):
    """Write JSON so that ``path`` holds either its old content or all of the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(content, stream, indent=1, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ResultStore:
    """Records of one results directory."""

    def __init__(self, root):
        self.root = Path(root)
        self._lock_handle = None

    def record_path(self, dataset, method, split):
        return self.root / "records" / dataset / method / f"split-{split:03d}.json"

    def load(self, dataset, method, split):
        """The stored record of a cell, None when there is none."""
        path = self.record_path(dataset, method, split)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"Damaged record {path}: {error}. Delete it and rerun to "
                             "recompute that cell.") from error

    def save(self, record):
        write_json_atomic(self.record_path(record["dataset"], record["method"], record["split"]),
                          record)

    def records(self):
        """Every stored record; unreadable files are reported, not silently skipped."""
        return [self.load(*path.relative_to(self.root / "records").parts[:2],
                          int(path.stem.removeprefix("split-")))
                for path in sorted((self.root / "records").glob("*/*/split-*.json"))]

    def check_config(self, config_dict, complete=lambda saved: saved):
        """Save the configuration, or make sure it equals the one already saved (after
        ``complete`` fills in settings added since it was written, at their defaults). A saved
        configuration without any record (a run refused before its first cell) protects
        nothing and is replaced."""
        path = self.root / "config.json"
        if path.is_file() and any((self.root / "records").glob("*/*/split-*.json")):
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
        # half-written records of a killed run: never read, removed while we hold the lock
        for stale in self.root.glob("records/*/*/.*.tmp"):
            stale.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc):
        self._lock_handle.truncate(0)  # no holder's pid left behind
        self._lock_handle.flush()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()
        self._lock_handle = None

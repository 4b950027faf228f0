"""The results store: one compressed file of records, written atomically; old directories
(one JSON file per cell) read as they are and converted by the next run."""

import gzip
import json
import os
import shutil
from dataclasses import replace

import pytest

from robustdml.cli import main
from robustdml.experiments.protocol import ProtocolConfig, default_methods
from robustdml.experiments.runner import reproduce
from robustdml.experiments.store import RECORDS_FILE, ConfigMismatch, ResultStore

QUIET = {"progress": False, "log": lambda *_: None}


def record(dataset, method, split, error):
    return {"dataset": dataset, "method": method, "split": split, "clean_error": error,
            "certified_error": {"0.1": error + 0.1}}


def write_old_layout(root, records):
    """Write ``records`` as the store did before the compact file: one JSON file per cell."""
    for entry in records:
        path = (root / "records" / entry["dataset"] / entry["method"]
                / f"split-{entry['split']:03d}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entry, indent=1, sort_keys=True))


def test_records_are_json_lines_in_one_gzip_file(tmp_path):
    store = ResultStore(tmp_path)
    store.save(record("wine", "lmnn", 1, 0.3))
    store.save(record("iris", "lmnn", 0, 0.2))
    store.save(record("wine", "euclidean", 0, 0.4))
    store.save(record("wine", "lmnn", 1, 0.1))  # the same cell again: replaced
    with gzip.open(tmp_path / RECORDS_FILE, "rt") as stream:
        lines = [json.loads(line) for line in stream]
    assert len(lines) == 3 and lines[0] == record("wine", "lmnn", 1, 0.1)
    assert [(r["dataset"], r["method"], r["split"]) for r in store.records()] == [
        ("iris", "lmnn", 0), ("wine", "euclidean", 0), ("wine", "lmnn", 1)]
    assert store.load("wine", "lmnn", 1)["clean_error"] == 0.1
    assert store.load("wine", "lmnn", 2) is None
    assert list(tmp_path.iterdir()) == [tmp_path / RECORDS_FILE]  # no temporary file left
    # the same records give the same bytes: no time stamp (bytes 4 to 7) in the gzip header
    assert (tmp_path / RECORDS_FILE).read_bytes()[4:8] == bytes(4)


def test_a_write_cut_short_leaves_the_previous_records(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.save(record("iris", "lmnn", 0, 0.2))
    before = (tmp_path / RECORDS_FILE).read_bytes()

    def crash(descriptor):
        raise OSError("disk full")

    with store:
        monkeypatch.setattr(os, "fsync", crash)
        with pytest.raises(OSError, match="disk full"):
            store.save(record("iris", "lmnn", 1, 0.3))
        assert store.load("iris", "lmnn", 1) is None  # the run knows it was not stored
    assert (tmp_path / RECORDS_FILE).read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [tmp_path / ".lock", tmp_path / RECORDS_FILE]


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["022", "002"])
def test_atomic_writes_get_the_mode_of_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        store = ResultStore(tmp_path)
        store.save(record("iris", "lmnn", 0, 0.2))
        store.check_config({"n_splits": 1})
        (tmp_path / "plain.txt").write_text("created by open()")
    finally:
        os.umask(previous)
    modes = {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()}
    assert modes == dict.fromkeys([RECORDS_FILE, "config.json", "plain.txt"], 0o666 & ~umask)


def test_a_damaged_file_says_what_to_do(tmp_path):
    store = ResultStore(tmp_path)
    for split in range(50):
        store.save(record("iris", "lmnn", split, 0.2))
    content = (tmp_path / RECORDS_FILE).read_bytes()
    for damaged in (content[:len(content) // 2], b"not gzip", gzip.compress(b"{\n")):
        (tmp_path / RECORDS_FILE).write_bytes(damaged)
        with pytest.raises(ValueError, match="Damaged records file .* git checkout"):
            store.records()


def test_a_run_keeps_its_records_in_memory_and_clears_stale_files(tmp_path):
    store = ResultStore(tmp_path)
    store.save(record("iris", "lmnn", 0, 0.2))
    stale = tmp_path / f".{RECORDS_FILE}.x1y2.tmp"
    stale.write_bytes(b"\x1f\x8b")
    with store:
        assert not stale.exists()
        (tmp_path / RECORDS_FILE).unlink()  # only the lock holder writes: not read again
        assert store.load("iris", "lmnn", 0)["clean_error"] == 0.2
        store.save(record("iris", "lmnn", 1, 0.3))
    assert len(ResultStore(tmp_path).records()) == 2


def test_old_layout_reads_and_converts_without_loss(tmp_path):
    old = [record("iris", "lmnn", split, 0.1 * split) for split in range(3)]
    write_old_layout(tmp_path, old)
    (tmp_path / "records" / "iris" / "lmnn" / ".split-003.json.7.tmp").write_text("{")
    (tmp_path / "records" / "notes.txt").write_text("mine")
    store = ResultStore(tmp_path)
    assert store.records() == old and store.load("iris", "lmnn", 2) == old[2]
    # a conversion killed after writing the compact file: both hold the cell, nothing lost
    newer = record("iris", "lmnn", 1, 0.5)
    ResultStore(tmp_path / "compact").save(newer)
    shutil.copy(tmp_path / "compact" / RECORDS_FILE, tmp_path / RECORDS_FILE)
    assert store.records() == [old[0], newer, old[2]]
    with store:
        pass
    assert not list(tmp_path.glob("records/*/*")) and not (tmp_path / "records/iris").exists()
    assert (tmp_path / "records" / "notes.txt").read_text() == "mine"  # not ours: kept
    assert ResultStore(tmp_path).records() == [old[0], newer, old[2]]


def test_an_old_layout_run_resumes_converts_and_reports_the_same(tmp_path):
    """A run in the old layout, its report, then a rerun: nothing is recomputed, the records
    move into the compact file, and ``robustdml report`` writes the same tables."""
    methods = {name: default_methods()[name] for name in ("euclidean", "lmnn")}
    config = ProtocolConfig(n_splits=2, budget=1, cv_folds=3, noise_draws=1, attack_points=20)
    compact, old = tmp_path / "compact", tmp_path / "old"
    reproduce(["iris"], methods, config, compact, **QUIET)
    old.mkdir()
    for name in ("config.json", "runs.jsonl"):
        shutil.copy(compact / name, old / name)
    write_old_layout(old, ResultStore(compact).records())
    tables = ("results.csv", "summary.csv", "report.md")
    assert main(["report", "--out", str(old)]) == 0
    from_files = {name: (old / name).read_text() for name in tables}
    assert all(from_files[name] == (compact / name).read_text() for name in tables[:2])

    summary = reproduce(["iris"], methods, config, old, **QUIET)
    assert summary.computed == 0 and summary.reused == 4
    assert not (old / "records").exists() and (old / RECORDS_FILE).is_file()
    assert ResultStore(old).records() == ResultStore(compact).records()
    assert main(["report", "--out", str(old)]) == 0
    assert {name: (old / name).read_text() for name in tables} == from_files
    with pytest.raises(ConfigMismatch, match="budget"):  # the configuration check still holds
        reproduce(["iris"], methods, replace(config, budget=2), old, **QUIET)

"""What the runs cost: CPU time over the records, wall time over the runs."""

from datetime import datetime


def run_time(runs, records):
    """``(wall seconds, runs, runs cut short)`` of the runs that wrote ``records``: each run
    from its start to its end or, when it was killed before its end, to the last record it
    wrote (``finished_at``), summed over runs."""
    finished = sorted(datetime.fromisoformat(r["finished_at"]) for r in records
                      if "finished_at" in r)
    starts = [datetime.fromisoformat(e["time"]) for e in runs if e["event"] == "start"]
    seconds, cut = 0.0, 0
    for entry_index, entry in enumerate(runs):
        if entry["event"] != "start":
            continue
        begin = datetime.fromisoformat(entry["time"])
        following = runs[entry_index + 1] if entry_index + 1 < len(runs) else None
        if following is not None and following["event"] == "end":
            end = datetime.fromisoformat(following["time"])
        else:
            cut += 1
            next_start = min((t for t in starts if t > begin), default=None)
            written = [t for t in finished
                       if t >= begin and (next_start is None or t < next_start)]
            end = written[-1] if written else begin
        seconds += (end - begin).total_seconds()
    return seconds, len(starts), cut


def cost_notes(records, runs):
    """Markdown lines: the CPU time summed over ``records`` and, with ``runs`` (the run log),
    the wall time of the runs."""
    cell_seconds = sum(r.get(key, 0.0) for r in records
                       for key in ("tune_seconds", "certify_seconds", "attack_seconds"))
    lines = [f"Cost: {cell_seconds / 3600:.2f} CPU-hours of tuning, certifying and attacking, "
             "summed over the records"]
    if runs:
        seconds, count, cut = run_time(runs, records)
        lines[0] += (f"; {seconds / 3600:.2f} hours of wall time over {count} run(s)"
                     + (f" ({cut} cut short, counted to their last record)" if cut else "")
                     + " (runs.jsonl; records written before it existed are not timed)")
        if any("fit_cache" in entry for entry in runs):
            lines[0] += ("; some runs loaded fitted metrics from a fit cache (runs.jsonl), "
                         "so the cost of the fits made by earlier runs is not counted here")
    return lines + [""]

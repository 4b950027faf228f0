"""Live progress of a run: cells done / total, elapsed, estimated time left, cells in flight.

On a terminal, one status line is redrawn in place (every second, so the clock moves while a
long cell runs); otherwise (output redirected to a file or a pipe) plain lines are written with
no carriage return: one when the run starts, one per finished cell, and a heartbeat when no line
was written for a while, so that a log shows the run is alive while long cells run.
"""

import shutil
import sys
import threading
import time
from collections import defaultdict


def clock(seconds):
    """``seconds`` as m:ss (or h:mm:ss)."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def label(cell):
    """A cell ``(data set, method, split)`` as text."""
    dataset, method, split = cell
    return f"{dataset}/{method}/{split}"


class Progress:
    """Progress of ``cells`` (in the order they are handed out) run by ``workers`` workers.

    The driver of a joblib run learns when a cell is handed out (``dispatched``) and when it
    finishes (``finished``), not when it starts: workers take cells first in, first out, so
    the cells in flight are the first ``workers`` handed out and not finished.

    The time left is the expected cost of the cells not finished, over the workers: a cell
    is expected to take as long as the finished cells of its data set and method took on
    average (or, before any of those finished, the finished cells' average), less what the
    cells in flight have already run.

    ``refresh`` is the seconds between redraws on a terminal; ``heartbeat`` the seconds
    without a line after which plain output gets a line with the cells in flight and how long
    each has run. ``where`` (e.g. the results directory) is named in the first plain line.
    """

    def __init__(self, cells, workers, stream=None, interactive=None, refresh=1.0,
                 heartbeat=30.0, where=None):
        self.total = len(cells)
        self.workers = max(1, workers)
        self.stream = sys.stderr if stream is None else stream
        self.interactive = (self.stream.isatty() if interactive is None else interactive)
        self.done = 0
        self._pending = list(cells)
        self._handed = {}  # an ordered set: the cells handed out and not finished
        self._started = {}  # cell in flight -> when it (probably) started
        self._durations = defaultdict(list)
        self._start = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_line = self._start
        if not self.interactive:
            self._line(f"{self.total} cells to run with {self.workers} worker(s)"
                       + (f"; records go to {where}" if where is not None else ""))
        self._ticker = threading.Thread(
            target=self._tick if self.interactive else self._beat,
            args=(refresh if self.interactive else heartbeat,), daemon=True)
        self._ticker.start()

    def in_flight(self):
        """The cells running now (the first ``workers`` handed out and not finished)."""
        return list(self._handed)[:self.workers]

    def remaining(self):
        """Estimated seconds left, None before the first cell finished."""
        if not self._durations:
            return None
        means = {key: sum(values) / len(values) for key, values in self._durations.items()}
        every = [seconds for values in self._durations.values() for seconds in values]
        overall = sum(every) / len(every)
        now = time.perf_counter()
        flying = {cell: now - self._started.get(cell, now) for cell in self.in_flight()}
        left = 0.0
        for cell in self._pending:
            expected = means.get(cell[:2], overall)
            left += max(expected - flying.get(cell, 0.0), 0.0)
        return left / self.workers

    def status(self, news="", ages=False):
        """The status as one line of text, ``news`` after the count; with ``ages``, how long
        each cell in flight has run."""
        now = time.perf_counter()
        remaining = self.remaining()
        left = "~?:?? left" if remaining is None else f"~{clock(remaining)} left"
        running = ", ".join(
            label(cell) + (f" ({clock(now - self._started.get(cell, now))})" if ages else "")
            for cell in self.in_flight())
        elapsed = now - self._start
        return (f"[{self.done}/{self.total} cells] {news}{clock(elapsed)} elapsed, {left}"
                + (f"; running {running}" if running else ""))

    def dispatched(self, cell):
        """``cell`` was handed to the workers."""
        with self._lock:
            self._handed[cell] = None
            self._mark_started()
            self._draw()

    def finished(self, cell, seconds, note=""):
        """``cell`` finished after ``seconds`` of work; ``note`` goes into its line."""
        with self._lock:
            self.done += 1
            self._durations[cell[:2]].append(seconds)
            self._handed.pop(cell, None)
            self._started.pop(cell, None)
            self._pending.remove(cell)
            self._mark_started()
            if self.interactive:
                self._draw()
            else:
                news = f"{label(cell)} done" + (f" ({note})" if note else "")
                self._line(self.status(news + "; "))

    def message(self, text):
        """Write a line of its own (e.g. a failure) without mixing it into the status line."""
        with self._lock:
            if self.interactive:
                self.stream.write("\r\x1b[K")
                self.stream.write(text + "\n")
                self._draw()
            else:
                self._line(text)

    def close(self):
        """Stop redrawing and leave the last status on its own line."""
        self._stop.set()
        self._ticker.join()
        with self._lock:
            if self.interactive:
                self._draw()
                self.stream.write("\n")
                self.stream.flush()

    def _line(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = time.perf_counter()

    def _mark_started(self):
        now = time.perf_counter()
        for cell in self.in_flight():
            self._started.setdefault(cell, now)

    def _draw(self):
        if self.interactive:  # cut to the terminal's width: a wrapped line is not redrawn
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r\x1b[K" + self.status()[:width])
            self.stream.flush()

    def _tick(self, refresh):
        while not self._stop.wait(refresh):
            with self._lock:
                self._draw()

    def _beat(self, heartbeat):
        """Write a status line whenever ``heartbeat`` seconds passed without a line."""
        wait = heartbeat
        while not self._stop.wait(wait):
            with self._lock:
                quiet = time.perf_counter() - self._last_line
                if quiet >= heartbeat:
                    self._line(self.status("still running; ", ages=True))
                    quiet = 0.0
            wait = heartbeat - quiet

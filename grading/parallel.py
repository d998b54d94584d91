"""Grading in parallel: shards of an assignment across machines, shares of a shard across workers.

- A *shard* (``SHARD=i/K``) is the part of the students one machine grades. A student's shard
  follows from the student id alone (a checksum), so K machines that share the course folder
  and the gradebook split an assignment with no other coordination, and a submission that
  arrives late lands in the same shard everywhere.
- A *worker* grades one share of this machine's students in its own nbgrader process, with its
  own sandbox slot (its own uid, kernel specs and budget notes).
- ``Progress`` prints one line: graded / total, failures, in flight, estimated time left.
"""

import os
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text):
        """``"i/K"`` (0 <= i < K) as a Shard; an empty text is the whole assignment."""
        if not text:
            return cls()
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            index = count = -1
        if not 0 <= index < count:
            raise ValueError(f"SHARD={text!r} is not of the form i/K with 0 <= i < K: "
                             "for example SHARD=0/4 ... SHARD=3/4 on four machines")
        return cls(index, count)

    def holds(self, student):
        # os.fsencode: a folder name that is not UTF-8 still has bytes, and a shard
        return zlib.crc32(os.fsencode(student)) % self.count == self.index


def usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers():
    """settings.WORKERS, or (when 0) one worker per core this process may use."""
    from grading import settings

    return settings.WORKERS or usable_cores()


def shares(items, workers):
    """Deal ``items`` round-robin into at most ``workers`` non-empty shares, in order."""
    dealt = [items[start::workers] for start in range(max(1, workers))]
    return [share for share in dealt if share]


def graded_since(course, assignment, student, since):
    """Whether nbgrader wrote this student's graded notebook after ``since`` (a time.time())."""
    graded = Path(course) / "autograded" / student / assignment / f"{assignment}.ipynb"
    try:
        return graded.stat().st_mtime >= since - 1
    except OSError:
        return False


class Progress:
    """A live line for one assignment: how many submissions are graded, failed, in flight, and time left.

    On a terminal the line is redrawn in place every second; in a log (CI, a pipe) a line is
    printed when a count changes and at least every ``every`` seconds while grading goes on, and
    always at the end. A submission counts as graded once its grading is over: a worker's batch
    says in its live output which student it grades now (``watch``); that one is in flight, and
    those it graded before it are done.
    """

    def __init__(self, course, assignment, outcomes, out=sys.stderr, every=10):
        self.course, self.assignment, self.outcomes = course, assignment, outcomes
        self.out, self.every = out, every
        self.started = time.time()
        self.finished = set()  # students whose grading is over, whatever the result
        self.current = {}  # worker -> the student its nbgrader process grades now
        self._followed = {}  # worker -> [its nbgrader output file, characters read]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last_counts, self._last_time = None, 0.0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._show(final=True)

    def finish(self, student):
        with self._lock:
            self.finished.add(student)

    def watch(self, worker, output):
        """Follow the live output file of ``worker``'s nbgrader process, to see which student it grades."""
        with self._lock:
            self._followed[worker] = [Path(output), 0]

    def unwatch(self, worker):
        with self._lock:
            self._followed.pop(worker, None)
            self.current.pop(worker, None)

    def _follow(self):
        from grading.run import STUDENT_LINES

        for worker, followed in self._followed.items():
            try:
                with open(followed[0], errors="replace") as handle:
                    handle.seek(followed[1])
                    text = handle.read()
                    followed[1] = handle.tell()
            except OSError:
                continue
            for line in text.splitlines():
                found = next((m for m in (pattern.search(line) for pattern in STUDENT_LINES) if m), None)
                if found:
                    self.current[worker] = found.group(1)

    def counts(self):
        """(graded, failed, in flight)."""
        with self._lock:
            self._follow()
            flying = set(self.current.values()) - self.finished
            done = sum(o.student in self.finished or (o.student not in flying and graded_since(
                self.course, self.assignment, o.student, self.started)) for o in self.outcomes)
        failed = sum(bool(o.problem) for o in self.outcomes)
        return done, failed, len(flying)

    def line(self, counts=None):
        done, failed, flying = counts or self.counts()
        total = len(self.outcomes)
        elapsed = time.time() - self.started
        left = f", about {elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        return (f"{self.assignment}: {done}/{total} graded, {failed} failed, {flying} in flight, "
                f"{elapsed:.0f} s{left}")

    def _run(self):
        while not self._stop.wait(1):
            self._show()

    def _show(self, final=False):
        counts = self.counts()
        text = self.line(counts)
        if self.out.isatty():
            self.out.write("\r" + text + ("\n" if final else ""))
        elif final or counts != self._last_counts or time.time() - self._last_time >= self.every:
            self.out.write(text + "\n")
            self._last_counts, self._last_time = counts, time.time()
        self.out.flush()

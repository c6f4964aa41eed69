"""What a process used: peak resident memory and CPU time, read the same way in the
bot's process and in the fake platform's (a module of its own, so the fake does not
import the results table). CPU time over a run's wall time says whether a process was
the bottleneck: near 100% for a single-threaded asyncio process means it was busy the
whole time (SQLite's worker thread can add a little more)."""

from __future__ import annotations

import contextlib
import cProfile
import resource
from collections.abc import Iterator
from pathlib import Path


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's peak resident memory in MB: ``VmHWM`` from /proc, or ``ru_maxrss``
    of this process where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds() -> float:
    """User and system CPU time of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """cProfile this thread (the event loop: the bot's whole work but the database
    driver's thread) while the block runs, into ``path`` (``python -m pstats path``)."""
    if path is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)

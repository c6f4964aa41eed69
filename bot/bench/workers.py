"""``supportbot bench --workers N``: the bench's stack as a receiving process plus N
``supportbot worker`` processes on PostgreSQL, as ``supportbot serve --workers N`` runs it.

The bench's own process is the receiving side (``processing = "workers"``: a customer's
message is stored in the inbox and the call returns); the workers run the dialogue and
write the replies to the outbox, which the bench's process sends. Each worker is a real
``python -m bot.cli worker`` with the bench's settings passed in the environment (the
environment overrides the settings file, as for any deployment).

``--kill-worker`` SIGKILLs one worker when half the customers' messages were sent and
starts it again a moment later: the run's lost / duplicated / out-of-order counts then
say whether a crash costs anything (it must not).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.bench.usage import peak_rss_mb
from bot.errors import ConfigError
from bot.settings import Settings

RESTART_AFTER = 1.0  # seconds between the SIGKILL and the new worker's start
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def worker_environment(settings: Settings, config: Path | None) -> dict[str, str]:
    """The bench's settings for a worker: what the bench changed, over the same file."""
    flood = str(settings.abuse.messages_per_minute)
    env = {**os.environ, "SUPPORTBOT_PROCESSING": "workers",
           "SUPPORTBOT_DATABASE_URL": settings.database_url, "SUPPORTBOT_DESK": settings.desk,
           "SUPPORTBOT_ABUSE__MESSAGES_PER_MINUTE": flood}  # fmt: skip
    if settings.kb_path is not None:
        env["SUPPORTBOT_KB_PATH"] = str(settings.kb_path)
    if config is not None:
        env["SUPPORTBOT_CONFIG"] = str(config)
    return env


@dataclass
class WorkerPool:
    """N worker processes; their peak memory and CPU time survive a kill and restart."""

    settings: Settings
    size: int
    config: Path | None = None
    kills: int = 0
    _processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    _peak_mb: float = 0.0
    _cpu_done: float = 0.0  # CPU seconds of processes that have ended
    _cpu_base: float = 0.0  # CPU seconds spent starting up

    async def start(self, ready_within: float = 60.0) -> None:
        """Start them and wait until each has started up (imports, knowledge base,
        database) and sits idle, so that the run measures work, not start-up."""
        self._processes = [await self._spawn() for _ in range(self.size)]
        loop = asyncio.get_running_loop()
        deadline, before = loop.time() + ready_within, -1.0
        while loop.time() < deadline:
            await asyncio.sleep(0.5)
            if any(p.returncode is not None for p in self._processes):
                raise ConfigError("a bench worker exited at start-up; run `supportbot worker` "
                                  "with the same settings to see why")  # fmt: skip
            now = sum(self._observe(p) for p in self._processes)
            if now - before < 0.05 * self.size:
                self._cpu_base = now  # start-up is not the run's work
                return
            before = now

    async def _spawn(self) -> asyncio.subprocess.Process:
        command = [sys.executable, "-m", "bot.cli", "worker"]
        return await asyncio.create_subprocess_exec(
            *command, env=worker_environment(self.settings, self.config)
        )

    def _observe(self, process: asyncio.subprocess.Process) -> float:
        """Record the process's peak memory; return its CPU seconds so far."""
        if process.returncode is not None:
            return 0.0
        self._peak_mb = max(self._peak_mb, peak_rss_mb(process.pid))
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    async def kill_one(self) -> None:
        """SIGKILL the first worker in the middle of its work and start a new one."""
        victim = self._processes[0]
        self._cpu_done += self._observe(victim)
        with contextlib.suppress(ProcessLookupError):
            victim.send_signal(signal.SIGKILL)
        await victim.wait()
        self.kills += 1
        await asyncio.sleep(RESTART_AFTER)
        self._processes[0] = await self._spawn()

    def usage(self) -> tuple[float, float]:
        """(peak resident MB of any one worker, CPU seconds of all of them since they
        were ready)."""
        running = sum(self._observe(p) for p in self._processes)
        return self._peak_mb, self._cpu_done + running - self._cpu_base

    async def stop(self) -> None:
        for process in self._processes:  # a last look before they exit
            self._cpu_done += self._observe(process)
        self._processes = [p for p in self._processes if p.returncode is None]
        for process in self._processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                await process.wait()

"""Running one contender as a child process and measuring it: wall time, memory, sandbox load.

Memory is the peak of the summed RSS of the child's whole process tree, sampled with psutil
every 50 ms. Without psutil the kernel's figure (`wait4`'s `ru_maxrss`) stands in, an upper
bound only: it is the largest single process, and it counts the harness's own pages that the
child shared between fork and exec (the sandbox's caches: hundreds of megabytes).

The sandbox serves from this process, so the CPU time this process spends while the child runs
is the sandbox's (plus the sampler's few per cent).
"""

import contextlib
import json
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # the kernel's figure stands in
    psutil = None

RESULT_PREFIX = "BENCH_RESULT "
SAMPLE_SECONDS = 0.05


@dataclass
class ProcessRun:
    """What one child process did, as measured from outside."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_rss_bytes: int
    """Peak of the summed RSS of the process tree (psutil), else `wait4`'s upper bound."""
    cpu_s: float
    """CPU time (user + system) of the child and the descendants it waited for (`wait4`)."""
    harness_cpu_s: float
    """CPU time of the harness process meanwhile: the sandbox serving the child."""
    stdout: str
    stderr: str
    result: dict[str, Any] | None
    """The child's own ``BENCH_RESULT`` line, when it prints one."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(text[-lines:])


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(name="bench-rss-sampler", daemon=True)
        self.pid = pid
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        if psutil is None:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_process(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path,
                timeout: float = 1800.0) -> ProcessRun:
    """Run `argv` to completion in its own session; kill its group if it overruns `timeout`."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    cpu_before = time.process_time()
    with out_path.open("w+") as out, err_path.open("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        sampler = _TreeSampler(process.pid)
        sampler.start()
        timer = threading.Timer(timeout, _kill_group, args=(process.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = time.process_time() - cpu_before
    peak = sampler.peak if psutil is not None else usage.ru_maxrss * 1024  # kB on Linux
    return ProcessRun(argv=list(argv), returncode=process.returncode, wall_s=wall,
                      peak_rss_bytes=peak, cpu_s=usage.ru_utime + usage.ru_stime,
                      harness_cpu_s=cpu, stdout=stdout, stderr=stderr,
                      result=_result_line(stdout))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _result_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            with contextlib.suppress(ValueError):
                return json.loads(line[len(RESULT_PREFIX):])
    return None


# -- one measured run and a cell of runs ---------------------------------------------------


@dataclass
class Measurement:
    """One run of one contender, in the units the report shows."""

    wall_s: float
    items: int
    requests: int
    not_modified: int
    peak_rss_mb: float | None
    """None: not measured (a figure taken inside the harness)."""
    rows_written: int
    rows_total: int | None = None
    sandbox_cpu_s: float = 0.0
    cpu_s: float = 0.0
    """The contender's own CPU time: near `wall_s` means it was CPU-bound (one core)."""
    sync_s: float | None = None
    """The sync's own duration as the contender reports it (no interpreter start-up)."""
    by_status: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def items_per_s(self) -> float:
        return self.items / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_load(self) -> float:
        """Cores the contender kept busy on average."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def sandbox_load(self) -> float:
        """Share of one core the sandbox used while serving this run."""
        return self.sandbox_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "items_per_s": round(self.items_per_s, 1),
                "cpu_load": round(self.cpu_load, 3), "sandbox_load": round(self.sandbox_load, 3)}


NUMERIC = ("wall_s", "items", "requests", "not_modified", "peak_rss_mb", "rows_written",
           "sandbox_cpu_s", "cpu_s", "items_per_s", "cpu_load", "sandbox_load")


@dataclass
class Cell:
    """Every run of one contender on one configuration of a workload."""

    workload: str
    contender: str
    label: str
    """What the row of the table says, e.g. ``importer`` or ``importer (80,480 items)``."""
    params: dict[str, Any] = field(default_factory=dict)
    runs: list[Measurement] = field(default_factory=list)
    skipped: str | None = None
    errors: list[str] = field(default_factory=list)

    def median(self, name: str) -> float | None:
        values = [getattr(run, name) for run in self.runs]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def spread(self, name: str) -> tuple[float, float] | None:
        values = [getattr(run, name) for run in self.runs if getattr(run, name) is not None]
        return (min(values), max(values)) if values else None

    def as_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "contender": self.contender, "label": self.label,
                "params": self.params, "skipped": self.skipped, "errors": self.errors,
                "median": {name: self.median(name) for name in (*NUMERIC, "sync_s")},
                "runs": [run.as_dict() for run in self.runs]}

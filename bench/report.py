"""The printed tables, the JSON document and the chart of one invocation."""

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import Cell
from bench.targets import Target
from bench.workloads import Context


def _fmt(value: float | None, pattern: str = "{:,.0f}") -> str:
    return "-" if value is None else pattern.format(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


CELL_HEADERS = ("workload", "contender", "runs", "wall s (min-max)", "sync s", "items/s",
                "requests", "304", "peak RSS MB", "rows written", "CPU", "sandbox")


def cell_row(cell: Cell) -> list[str]:
    if not cell.runs:
        status = f"skipped: {cell.skipped}" if cell.skipped else \
            f"FAILED: {(cell.errors or ['?'])[0].splitlines()[0]}"
        status = status if len(status) <= 40 else status[:39] + "…"
        return [cell.workload, cell.label, "0", status, *[""] * (len(CELL_HEADERS) - 4)]
    low, high = cell.spread("wall_s") or (0, 0)
    wall = f"{cell.median('wall_s'):.2f}"
    if len(cell.runs) > 1:
        wall += f" ({low:.2f}-{high:.2f})"
    return [cell.workload, cell.label, str(len(cell.runs)), wall,
            _fmt(cell.median("sync_s"), "{:.2f}"), _fmt(cell.median("items_per_s") or None),
            _fmt(cell.median("requests")), _fmt(cell.median("not_modified")),
            _fmt(cell.median("peak_rss_mb")), _fmt(cell.median("rows_written")),
            _fmt(cell.median("cpu_load"), "{:.0%}"), _fmt(cell.median("sandbox_load"), "{:.0%}")]


LEGEND = """\
wall s: median (and range) of the runs, process start to exit; sync s: the sync itself as the
contender reports it (no interpreter start-up); CPU: the contender's CPU time over its wall time
(100% = one core busy); sandbox: the sandbox's CPU over the same time (it has one core at most)."""


def results_table(cells: Sequence[Cell]) -> str:
    table = _table(CELL_HEADERS, [cell_row(c) for c in cells],
                   right={2, 4, 5, 6, 7, 8, 9, 10, 11})
    problems = [f"  {c.workload} {c.label}: {error.splitlines()[0][:160]}"
                for c in cells for error in c.errors[:2]]
    return table + ("\n\nerrors (the JSON has them whole):\n" + "\n".join(problems)
                    if problems else "")


def targets_table(targets: Sequence[Target]) -> str:
    rows = [[t.status, t.name, t.goal, t.measured or "-", t.note] for t in targets]
    return _table(("result", "target", "goal", "measured", "note"), rows, right=set())


def sandbox_summary(cells: Sequence[Cell]) -> str:
    drains = [c for c in cells if c.contender == "drain" and c.runs]
    loads = [(run.sandbox_load, c.label) for c in cells if c.contender != "drain"
             for run in c.runs]
    lines = []
    for cell in drains:
        lines.append(f"  {cell.workload} {cell.label}: {cell.median('items_per_s'):,.0f} items/s "
                     f"served ({cell.params.get('items', 0):,} items, 4 connections, no parsing)")
    if loads:
        load, label = max(loads)
        lines.append(f"  busiest measured run kept the sandbox {load:.0%} busy (of one core, "
                     f"{label}); below ~90% the sandbox was not the bottleneck")
    return "\n".join(lines)


def document(ctx: Context, targets: Sequence[Target], meta: dict[str, Any]) -> dict[str, Any]:
    return {"meta": meta, "cells": [c.as_dict() for c in ctx.cells],
            "targets": [t.as_dict() for t in targets]}


def source_tree() -> dict[str, Any]:
    """Which importer was measured: the commit, and whether the working tree differed."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "gofap_assets"],
                                 cwd=root, capture_output=True, text=True,
                                 timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit or None, "gofap_assets_files_changed": len(changed)}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return info


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def write_chart(path: Path, cells: Sequence[Cell]) -> str | None:
    """Items/s and peak memory against world size, per service and contender."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        return "matplotlib is not installed: no chart (pip install matplotlib)"
    series: dict[str, list[tuple[int, float, float]]] = {}
    for cell in cells:
        if cell.workload.endswith("-full") and cell.contender != "drain" and cell.runs:
            service = cell.workload.removesuffix("-full")
            series.setdefault(f"{service} {cell.contender}", []).append(
                (cell.params["items"], cell.median("items_per_s") or 0,
                 cell.median("peak_rss_mb") or 0))
    if not series:
        return "no full-sync figures to chart"
    figure, (speed, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in sorted(series.items()):
        points.sort()
        xs = [p[0] for p in points]
        speed.plot(xs, [p[1] for p in points], marker="o", label=label)
        memory.plot(xs, [p[2] for p in points], marker="o", label=label)
    for axis, title, unit in ((speed, "throughput", "items/s"),
                              (memory, "peak RSS of the process tree", "MB")):
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xticks(sorted({p[0] for points in series.values() for p in points}))
        axis.set_xlabel("items in the world")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
    memory.legend(fontsize=8)
    figure.suptitle("gofap-import full sync against the sandbox (median of runs)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None

"""The importer's performance targets (issues #7 and #10), judged from one invocation's figures.

Every comparison is a ratio of medians measured in the same invocation; a target whose figures
were not measured this time (workload not selected, contender skipped) is ``n/a``.
"""

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from bench.measure import Cell
from bench.workloads import ITEM_TYPES, Context
from gofap_assets.github.sync import REPOSITORY_ENDPOINTS

PASS, FAIL, NA, INFO = "PASS", "FAIL", "n/a", "info"


@dataclass
class Target:
    name: str
    goal: str
    measured: str = ""
    ratio: float | None = None
    status: str = NA
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(cell: Cell | None, name: str) -> float | None:
    return cell.median(name) if cell is not None and cell.runs else None


def _why_missing(*cells: tuple[str, Cell | None]) -> str:
    for label, cell in cells:
        if cell is None:
            return f"{label} not measured (workload not run)"
        if cell.skipped:
            return f"{label} skipped: {cell.skipped}"
        if not cell.runs:
            return f"{label} failed: {(cell.errors or ['no runs'])[0][:120]}"
    return ""


def _ratio(name: str, goal: str, top: tuple[str, Cell | None], bottom: tuple[str, Cell | None],
           limit: float, *, at_least: bool = False, field: str = "wall_s") -> Target:
    """`top`'s median over `bottom`'s: PASS when <= limit (or >= limit with `at_least`)."""
    target = Target(name, goal)
    a, b = _median(top[1], field), _median(bottom[1], field)
    if a is None or b is None or b == 0:
        target.note = _why_missing(top, bottom)
        return target
    target.ratio = a / b
    unit = "s" if field.endswith("_s") else " MB"
    target.measured = f"{target.ratio:.2f}x ({a:.1f}{unit} / {b:.1f}{unit})"
    target.status = PASS if (target.ratio >= limit if at_least else target.ratio <= limit) \
        else FAIL
    return target


def _judge(target: Target, ok: bool) -> Target:
    target.status = PASS if ok else FAIL
    return target


def _requests_vs_pages(ctx: Context, service: str, workload: str) -> Target:
    target = Target(f"{service}: full sync requests <= pages that exist",
                    "requests / pages <= 1.00")
    importer = ctx.find(workload, "importer", scale="full")
    requests = _median(importer, "requests")
    pages = importer.params.get("pages") if importer else None
    source = "pages counted from the world"
    if pages is None:
        floor = ctx.find(workload, "floor", scale="full")
        pages = _median(floor, "requests")
        source = "pages the floor read (each page once, no retries)"
    if requests is None or not pages:
        target.note = _why_missing(("importer", importer)) or "no page count (floor not run)"
        return target
    target.ratio = requests / pages
    target.measured = f"{requests:.0f} requests / {pages:.0f} pages"
    target.note = source
    return _judge(target, target.ratio <= 1.0)


def _listings(ctx: Context, service: str) -> tuple[int, str] | None:
    """Requests an incremental sync with no change may make: one per partition and listing."""
    size = ctx.options.github if service == "github" else ctx.options.linear
    sandbox = (ctx.worlds.get(github=size) if service == "github"
               else ctx.worlds.get(linear=size))
    if service == "github":
        repos = len(sandbox.github.repositories())
        listings = len(REPOSITORY_ENDPOINTS)  # reviews cost nothing while no pull request moved
        return (math.ceil(repos / 100) + listings * repos,
                f"1 repository listing + {listings} listings x {repos} repositories")
    teams = ctx.options.linear.teams
    return 3 + teams, f"teams, users, projects + 1 issue listing x {teams} teams"


def _incremental(ctx: Context, service: str) -> Iterator[Target]:
    workload = f"{service}-incremental"
    unchanged = ctx.find(workload, "importer", phase="unchanged")
    steady = ctx.find(workload, "importer", phase="steady")
    changed = ctx.find(workload, "importer", phase="changed")

    target = Target(f"{service}: no-change sync <= 1 request per partition and listing",
                    "requests / listings <= 1.00")
    requests = _median(unchanged, "requests")
    if requests is None:
        target.note = _why_missing(("no-change sync", unchanged))
    else:
        allowed, how = _listings(ctx, service) or (0, "")
        target.ratio = requests / allowed
        target.measured = f"{requests:.0f} requests / {allowed} listings"
        target.note = how
        _judge(target, target.ratio <= 1.0)
    yield target

    target = Target(f"{service}: steady state >= 90% of requests answered 304",
                    "304 share >= 0.90")
    if service == "linear":
        target.note = "Linear's GraphQL API has no conditional requests"
    elif steady is None or not steady.runs:
        target.note = _why_missing(("steady-state sync", steady))
    else:
        share = sorted(r.not_modified / r.requests if r.requests else 0.0 for r in steady.runs)
        target.ratio = share[len(share) // 2]
        requests_ = _median(steady, "requests") or 0
        target.measured = f"{target.ratio:.0%} of {requests_:.0f} requests"
        _judge(target, target.ratio >= 0.9)
    yield target

    percent = f"{100 * ctx.options.change_fraction:g}%"
    target = Target(f"{service}: {percent} changed rewrites only the changed rows",
                    "rows written / items changed in 0.90..1.10")
    if changed is None or not changed.runs:
        target.note = _why_missing((f"{percent}-changed sync", changed))
    else:
        ratios, notes = [], []
        for run in changed.runs:
            by_type = run.extra.get("written_by_type", {})
            written = sum(by_type.get(t, 0) for t in ITEM_TYPES[service])
            expected = run.extra.get("changed_items") or 0
            ratios.append(written / expected if expected else math.inf)
            others = {k: v for k, v in by_type.items() if k not in ITEM_TYPES[service]}
            notes.append(f"{written}/{expected}" + (f" (+{others})" if others else ""))
        ratios.sort()
        target.ratio = ratios[len(ratios) // 2]
        target.measured = f"{target.ratio:.2f}x"
        target.note = "per run, item rows written / items changed: " + ", ".join(notes)
        _judge(target, 0.9 <= target.ratio <= 1.1)
    yield target

    full = ctx.find(f"{service}-full", "importer", scale="full") or ctx.find(
        workload, "importer", phase="full")
    yield _ratio(f"{service}: {percent}-changed sync wall <= 10% of the full sync's",
                 "changed / full <= 0.10", (f"{percent}-changed sync", changed),
                 ("full sync", full), 0.10)


def _memory(ctx: Context, service: str) -> Target:
    workload = f"{service}-full"
    small = ctx.find(workload, "importer", scale="small")
    full = ctx.find(workload, "importer", scale="full")
    target = _ratio(f"{service}: peak RSS at full size <= 1.3x at a tenth",
                    "RSS(full) / RSS(small) <= 1.30", ("full-size sync", full),
                    ("small sync", small), 1.3, field="peak_rss_mb")
    if small is None and full is not None:
        target.note = "the smaller size was not run (--quick runs one size)"
    if target.ratio is not None:
        a, b = _median(full, "peak_rss_mb"), _median(small, "peak_rss_mb")
        items = (full.params.get("items"), small.params.get("items")) if full and small else ()
        target.measured = f"{target.ratio:.2f}x ({a:.0f} MB / {b:.0f} MB)"
        if items:
            target.note = f"{items[0]:,} items against {items[1]:,}"
    return target


def _latency(ctx: Context) -> Target:
    cell = ctx.find("github-latency", "importer")
    target = Target(f"github: with {ctx.options.latency_ms:g} ms latency, wall <= half of "
                    "requests x latency", "wall / (requests x latency) <= 0.50")
    wall, requests = _median(cell, "wall_s"), _median(cell, "requests")
    if wall is None or not requests:
        target.note = _why_missing(("latency sync", cell))
        return target
    serial = requests * ctx.options.latency_ms / 1000
    target.ratio = wall / serial
    target.measured = f"{target.ratio:.2f} ({wall:.1f}s / {serial:.1f}s)"
    same = _median(ctx.find("github-full", "importer", scale="full"), "wall_s")
    if same is not None:
        added = wall - same
        target.note = (f"latency added {added:+.1f}s to the same sync without it ({same:.1f}s): "
                       f"{max(0.0, 1 - added / serial):.0%} of the serial latency is hidden")
    return _judge(target, target.ratio <= 0.5)


def _fixed_cost(ctx: Context) -> Target:
    """Reported, not judged: what a run costs before any data (start-up, instance, runs,
    checks), against the floor's no-change sync of the same one repository."""
    cell = ctx.find("fixed-cost", "importer")
    floor = ctx.find("fixed-cost", "floor")
    target = Target("github: fixed cost of a gofap-import run (no-change sync, 1 repository)",
                    "reported: as low as it goes")
    wall, sync = _median(cell, "wall_s"), _median(cell, "sync_s")
    if wall is None:
        target.note = _why_missing(("fixed-cost sync", cell))
        return target
    target.status = INFO
    target.measured = f"{wall:.2f}s wall, {_median(cell, 'cpu_s') or 0:.2f}s CPU"
    floor_wall = _median(floor, "wall_s")
    target.note = (f"start-up before the sync {wall - sync:.2f}s, the sync {sync:.2f}s"
                   if sync is not None else "")
    if floor_wall is not None:
        target.ratio = wall / floor_wall
        target.note += f"; the floor's {floor_wall:.2f}s"
    return target


def _growth(ctx: Context) -> list[Target]:
    name = "github-10x"
    small_full = ctx.find(name, "importer", scale="1x", phase="full")
    big_full = ctx.find(name, "importer", scale="10x", phase="full")
    small_idle = ctx.find(name, "importer", scale="1x", phase="unchanged")
    big_idle = ctx.find(name, "importer", scale="10x", phase="unchanged")
    return [
        _ratio("growth: full sync at 10x the data <= 11x as long", "wall(10x) / wall(1x) <= 11",
               ("10x full sync", big_full), ("1x full sync", small_full), 11.0),
        _ratio("growth: peak RSS at 10x the data <= 1.3x", "RSS(10x) / RSS(1x) <= 1.30",
               ("10x full sync", big_full), ("1x full sync", small_full), 1.3,
               field="peak_rss_mb"),
        _ratio("growth: no-change sync of the 10x warehouse <= 1.2x the 1x one's",
               "wall(10x) / wall(1x) <= 1.20", ("10x no-change sync", big_idle),
               ("1x no-change sync", small_idle), 1.2),
    ]


def _budget(ctx: Context) -> list[Target]:
    """The pool finishes what one token does, the reserve holds, and a pool too small for one
    hour stops cleanly and finishes in as many windows as its budget implies."""
    one = ctx.find("budget", "importer", phase="one")
    pool = ctx.find("budget", "importer", phase="pool")
    spent = ctx.find("budget", "importer", phase="spent")
    targets = [_ratio("budget: a pool of 3 (40% each) completes the sync <= 1.2x one token's wall",
                      "pool / one token <= 1.20", ("pool sync", pool), ("one-token sync", one),
                      1.2)]
    if targets[0].ratio is not None and pool and one:
        rows = (_median(pool, "rows_total"), _median(one, "rows_total"))
        targets[0].note = f"rows {rows[0]:,.0f} / {rows[1]:,.0f}"
        if rows[0] != rows[1]:
            targets[0].status = FAIL
    reserve = Target("budget: the reserve is never crossed, no request refused (403/429)",
                     "lowest remaining >= reserve on every token; 0 refusals")
    measured = [run for cell in (pool, spent) if cell for run in cell.runs]
    if not measured:
        reserve.note = _why_missing(("pool sync", pool), ("spent pool", spent))
    else:
        lowest = min(min(run.extra["lowest_remaining"]) for run in measured)
        refused = sum(run.by_status.get(code, 0) for run in measured for code in ("403", "429"))
        floor = measured[0].extra["reserve"]
        reserve.measured = f"lowest remaining {lowest} (reserve {floor}), {refused} refused"
        _judge(reserve, lowest >= floor and refused == 0)
    targets.append(reserve)
    windows = Target("budget: a pool holding 45% of a sync an hour stops cleanly and completes in "
                     "3 windows, spending <= 1.1x one sync", "windows <= 3; spend / one <= 1.10; "
                     "rows == one token's")
    if not (spent and spent.runs and one and one.runs):
        windows.note = _why_missing(("spent pool", spent), ("one-token sync", one))
    else:
        run, base = spent.runs[-1], one.runs[-1]
        used, need = sum(run.extra["spent"]), base.extra["spent"][0]
        windows.ratio = used / need
        windows.measured = (f"{run.extra['windows']} windows, {run.extra['deferred_after_first']} "
                            f"partitions deferred after the first; spent {used:,} / {need:,} "
                            f"({windows.ratio:.2f}x)")
        windows.note = f"rows {run.rows_total:,} / {base.rows_total:,}"
        _judge(windows, run.extra["windows"] <= 3 and windows.ratio <= 1.1
               and run.rows_total == base.rows_total)
    targets.append(windows)
    return targets


def _webhooks(ctx: Context) -> list[Target]:
    """Every delivery accepted, answered inside the senders' timeouts even while a sync writes
    (Linear waits 5 s, GitHub 10 s), and a change reaches the warehouse within a minute."""
    idle = ctx.find("webhooks", "receiver", phase="idle")
    busy = ctx.find("webhooks", "receiver", phase="busy")
    latency = ctx.find("webhooks", "receiver", phase="latency")
    accepted = Target("webhooks: every delivery accepted, idle and while a sync writes",
                      "accepted == sent")
    answered = Target("webhooks: p99 answer while a sync writes <= 5 s (Linear's timeout)",
                      "p99 <= 5 s")
    if not (idle and idle.runs and busy and busy.runs):
        accepted.note = answered.note = _why_missing(("idle receiver", idle),
                                                     ("busy receiver", busy))
    else:
        runs = [*idle.runs, *busy.runs]
        took, sent = sum(r.rows_written for r in runs), sum(r.items for r in runs)
        accepted.measured = f"{took:,} / {sent:,}"
        _judge(accepted, took == sent)
        p99 = max(r.extra["p99_ms"] for r in busy.runs)
        calm = max(r.extra["p99_ms"] for r in idle.runs)
        answered.measured = (f"p99 {p99:,.0f} ms busy, {calm:,.0f} ms idle; "
                             f"{_median(busy, 'items_per_s'):,.0f} / "
                             f"{_median(idle, 'items_per_s'):,.0f} deliveries/s")
        _judge(answered, p99 <= 5000)
    reached = Target("webhooks: a sandbox change reaches the warehouse <= 60 s (webhooks process)",
                     "seconds <= 60")
    seconds = _median(latency, "wall_s")
    if seconds is None:
        reached.note = _why_missing(("event to warehouse", latency))
    else:
        reached.measured = f"{seconds:.1f} s for {_median(latency, 'items'):,.0f} deliveries"
        reached.note = "the sensor adds up to its 30 s interval"
        _judge(reached, seconds <= 60)
    return [accepted, answered, reached]


def evaluate(ctx: Context) -> list[Target]:
    targets: list[Target] = []
    importer = ctx.find("github-full", "importer", scale="full")
    floor = ctx.find("github-full", "floor", scale="full")
    dlt = ctx.find("github-full", "dlt", scale="full")
    targets.append(_ratio("github: full sync wall <= 1.5x the floor's", "importer / floor <= 1.50",
                          ("importer", importer), ("floor", floor), 1.5))
    targets.append(_ratio("github: full sync >= 3x faster than dlt", "dlt / importer >= 3.00",
                          ("dlt", dlt), ("importer", importer), 3.0, at_least=True))
    targets.append(_ratio("github: full sync CPU <= 2x the floor's", "importer / floor <= 2.00",
                          ("importer", importer), ("floor", floor), 2.0, field="cpu_s"))
    targets.append(_ratio("github: no-change sync wall <= 4x the floor's",
                          "importer / floor <= 4.00",
                          ("importer", ctx.find("github-incremental", "importer",
                                                phase="unchanged")),
                          ("floor", ctx.find("github-incremental", "floor", phase="unchanged")),
                          4.0))
    targets.append(_fixed_cost(ctx))
    targets.append(_requests_vs_pages(ctx, "github", "github-full"))
    targets.extend(_incremental(ctx, "github"))
    targets.append(_latency(ctx))
    targets.append(_memory(ctx, "github"))
    targets.append(_ratio("dagster: 100 partitions through Dagster <= 1.2x direct calls",
                          "Dagster / direct <= 1.20",
                          ("Dagster path", ctx.find("dagster-overhead", "importer")),
                          ("direct calls", ctx.find("dagster-overhead", "direct")), 1.2))
    postgres = ctx.find("github-postgres", "importer", database="postgresql")
    sqlite = ctx.find("github-postgres", "importer", database="sqlite") or importer
    targets.append(_ratio("postgres: full sync <= 1.3x SQLite's", "PostgreSQL / SQLite <= 1.30",
                          ("PostgreSQL sync", postgres), ("SQLite sync", sqlite), 1.3))
    linear_importer = ctx.find("linear-full", "importer", scale="full")
    linear_floor = ctx.find("linear-full", "floor", scale="full")
    targets.append(_ratio("linear: full sync wall <= 1.5x the floor's", "importer / floor <= 1.50",
                          ("importer", linear_importer), ("floor", linear_floor), 1.5))
    targets.append(_requests_vs_pages(ctx, "linear", "linear-full"))
    targets.append(_memory(ctx, "linear"))
    targets.extend(_incremental(ctx, "linear"))
    targets.extend(_growth(ctx))
    targets.extend(_budget(ctx))
    targets.extend(_webhooks(ctx))
    return targets


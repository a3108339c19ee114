"""The named workloads: what each one runs, against which world, with which contenders.

Within a workload the contenders take turns run by run (importer, floor, peer, importer, ...),
so a slow minute on a shared machine falls on all of them rather than on one.
"""

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import contenders as c
from bench import webhooks as wh
from bench.measure import Cell, Measurement
from bench.worlds import (
    IDLE_LINEAR,
    GitHubSize,
    LinearSize,
    Worlds,
    github_items,
    github_pages,
    linear_items,
)
from gofap_assets.github.sync import CURSOR_OVERLAP as GITHUB_OVERLAP
from gofap_assets.sandbox import Sandbox
from gofap_assets.sandbox.github import GitHubApp
from gofap_assets.warehouse import Warehouse

CONTENDERS = ("importer", "floor", "dlt")
DEFAULT_GITHUB = GitHubSize(repos=20, issues_per_repo=2_000, commits_per_repo=2_000)
DEFAULT_LINEAR = LinearSize(teams=10, issues_per_team=5_000)
TENFOLD_GITHUB_DEFAULT = GitHubSize(repos=200, issues_per_repo=2_000, commits_per_repo=2_000)


@dataclass
class Options:
    """Every knob of a benchmark invocation; `quick()` is the smoke-test version."""

    runs: int = 3
    seed: int = 1
    github: GitHubSize = DEFAULT_GITHUB
    linear: LinearSize = DEFAULT_LINEAR
    small_factor: float = 0.1
    """The smaller world of the memory comparison has this share of the items."""
    scales: tuple[str, ...] = ("small", "full")
    settle: bool = True
    """Let GitHub changes age past the importer's cursor overlap before syncing them (a sync
    normally runs long after the changes it picks up; within the overlap they are read twice)."""
    tenfold: GitHubSize = TENFOLD_GITHUB_DEFAULT
    """The github-10x workload's larger world."""
    latency_ms: float = 50.0
    partitions: int = 100
    partition_items: int = 40
    """Issue numbers and commits in each repository of the partition workload."""
    concurrency: int = 4
    change_fraction: float = 0.01
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/test"
    contenders: tuple[str, ...] = CONTENDERS
    peer_runs: int | None = None
    """Runs of dlt at the full size (about a minute each); None: as many as the others."""
    timeout_s: float = 1800.0
    webhook_deliveries: int = 2_000
    """Deliveries per receiver run of the webhooks workload."""
    workdir: Path = Path("bench-work")

    @classmethod
    def quick(cls, **overrides: Any) -> "Options":
        return replace(cls(runs=1, github=GitHubSize(4, 150, 150), linear=LinearSize(2, 600),
                           scales=("full",), settle=False, latency_ms=20.0, partitions=12,
                           partition_items=20, timeout_s=300.0, webhook_deliveries=200),
                       **overrides)


@dataclass
class Context:
    options: Options
    worlds: Worlds
    cells: list[Cell] = field(default_factory=list)
    synced: dict[tuple[Any, ...], c.Database] = field(default_factory=dict)
    """A warehouse one full importer sync brought up to date with a running world."""
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)
    _counter: int = 0

    def cell(self, workload: str, contender: str, label: str, **params: Any) -> Cell:
        cell = Cell(workload, contender, label, params)
        self.cells.append(cell)
        return cell

    def find(self, workload: str, contender: str, **params: Any) -> Cell | None:
        for cell in self.cells:
            if (cell.workload, cell.contender) == (workload, contender) and all(
                    cell.params.get(k) == v for k, v in params.items()):
                return cell
        return None

    def directory(self, *parts: str) -> Path:
        self._counter += 1
        path = self.options.workdir.joinpath(*parts[:-1], f"{parts[-1]}-{self._counter}")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def measure(self, cell: Cell, action: Callable[[], Measurement], note: str = "") -> \
            Measurement | None:
        """Run once into `cell`; a failure or skip is recorded, never raised."""
        if cell.skipped:
            return None
        try:
            measurement = action()
        except c.ContenderSkipped as exc:
            cell.skipped = str(exc)
            self.log(f"  [{cell.workload}] {cell.label}: skipped: {exc}")
            return None
        except Exception as exc:
            cell.errors.append(f"{type(exc).__name__}: {exc}")
            self.log(f"  [{cell.workload}] {cell.label}: FAILED: {exc}")
            return None
        cell.runs.append(measurement)
        m = measurement
        speed = f"{m.items_per_s:,.0f} items/s, " if m.items else ""
        memory = "RSS not measured" if m.peak_rss_mb is None else f"{m.peak_rss_mb:.0f} MB"
        self.log(f"  [{cell.workload}] {cell.label}{note}: {m.wall_s:.2f}s, {speed}"
                 f"{m.requests} requests "
                 f"({m.not_modified} 304), {memory}, {m.rows_written:,} rows "
                 f"written, sandbox {100 * m.sandbox_load:.0f}% of a core")
        return measurement

    def wanted(self, contender: str) -> bool:
        return contender in self.options.contenders

    def runs_for(self, contender: str, full_size: bool) -> int:
        if contender == "dlt" and full_size and self.options.peer_runs is not None:
            return min(self.options.runs, self.options.peer_runs)
        return self.options.runs


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    run: Callable[[Context], None]
    order: int


WORKLOADS: dict[str, Workload] = {}


def workload(name: str, summary: str) -> Callable[[Callable[[Context], None]],
                                                   Callable[[Context], None]]:
    def register(function: Callable[[Context], None]) -> Callable[[Context], None]:
        WORKLOADS[name] = Workload(name, summary, function, len(WORKLOADS))
        return function
    return register


@contextmanager
def _sqlite(ctx: Context, *parts: str, keep: bool = False) -> Iterator[c.Database]:
    database = c.sqlite_database(ctx.directory(*parts))
    try:
        yield database
    finally:
        if not keep:
            database.dispose()


def _run(ctx: Context, sandbox: Any, service: str, items: int, *parts: str) -> c.Run:
    return c.Run(sandbox, service, items, ctx.directory(*parts), ctx.options.concurrency,
                 ctx.options.timeout_s)


def _sizes(ctx: Context, service: str) -> list[tuple[str, Any]]:
    full = ctx.options.github if service == "github" else ctx.options.linear
    small = full.scaled(ctx.options.small_factor, ctx.options.concurrency)
    return [(name, size) for name, size in (("small", small), ("full", full))
            if name in ctx.options.scales]


def _full_syncs(ctx: Context, service: str, name: str) -> None:
    """Importer, floor and (GitHub) dlt full syncs at the small and the full size."""
    for scale, size in _sizes(ctx, service):
        sandbox = (ctx.worlds.get(github=size) if service == "github"
                   else ctx.worlds.get(linear=size))
        if service == "github":
            items, pages = github_items(sandbox.github), github_pages(sandbox.github)
        else:
            items, pages = linear_items(sandbox.linear), None
        ctx.log(f"[{name}] {scale}: {items:,} items")
        drain = ctx.cell(name, "drain", f"sandbox drain ({scale})", scale=scale, items=items)
        ctx.measure(drain, lambda s=sandbox, i=items: c.drain(_run(ctx, s, service, i, name,
                                                                   "drain")))
        names = [n for n in CONTENDERS if ctx.wanted(n) and (service == "github" or n != "dlt")]
        cells = {n: ctx.cell(name, n, f"{n} ({scale})", scale=scale, items=items, pages=pages)
                 for n in names}
        for index in range(ctx.options.runs):
            for contender, cell in cells.items():
                if index >= ctx.runs_for(contender, scale == "full"):
                    continue
                last = index == ctx.options.runs - 1
                keep = contender == "importer" and scale == "full" and last
                with _sqlite(ctx, name, contender, keep=keep) as database:
                    run = _run(ctx, sandbox, service, items, name, contender)
                    action = {
                        "importer": lambda r=run, d=database: c.importer(r, d, full=True),
                        "floor": lambda r=run, d=database: c.floor(r, d),
                        "dlt": lambda r=run, d=database: c.dlt_peer(r, d),
                    }[contender]
                    ok = ctx.measure(cell, action, f" run {index + 1}")
                    if keep and ok:
                        ctx.synced[(service, size)] = database


@workload("github-full", "GitHub full sync (20 repos x 2,000 issue numbers + 2,000 commits) "
          "and a tenth of it: importer, floor, dlt")
def github_full(ctx: Context) -> None:
    _full_syncs(ctx, "github", "github-full")


@workload("github-latency", "the GitHub full sync with 50 ms of latency on every request")
def github_latency(ctx: Context) -> None:
    name, size = "github-latency", ctx.options.github
    sandbox = ctx.worlds.get(github=size, latency_ms=ctx.options.latency_ms)
    items = github_items(sandbox.github)
    cell = ctx.cell(name, "importer", f"importer ({ctx.options.latency_ms:g} ms)",
                    latency_ms=ctx.options.latency_ms, items=items)
    for index in range(ctx.options.runs):
        with _sqlite(ctx, name, "importer") as database:
            run = _run(ctx, sandbox, "github", items, name, "importer")
            ctx.measure(cell, lambda r=run, d=database: c.importer(r, d, full=True),
                        f" run {index + 1}")


@workload("github-postgres", "the GitHub full sync into PostgreSQL against SQLite")
def github_postgres(ctx: Context) -> None:
    name, size = "github-postgres", ctx.options.github
    sandbox = ctx.worlds.get(github=size)
    items = github_items(sandbox.github)
    postgres = ctx.cell(name, "importer", "importer (PostgreSQL)", database="postgresql",
                        items=items)
    problem = c.postgres_reachable(ctx.options.postgres_url)
    if problem:
        postgres.skipped = problem
        ctx.log(f"  [{name}] skipped: {problem}")
        return
    sqlite = ctx.find("github-full", "importer", scale="full")
    if sqlite is None or not sqlite.runs:
        sqlite = ctx.cell(name, "importer", "importer (SQLite)", database="sqlite", items=items)
    else:
        ctx.log(f"  [{name}] SQLite figures: the importer's github-full runs of this invocation")
        sqlite = None
    for index in range(ctx.options.runs):
        try:
            with c.postgres_database(ctx.options.postgres_url) as database:
                run = _run(ctx, sandbox, "github", items, name, "postgres")
                ctx.measure(postgres, lambda r=run, d=database: c.importer(r, d, full=True),
                            f" run {index + 1}")
        except Exception as exc:  # the server went away between runs: keep what was measured
            postgres.errors.append(f"{type(exc).__name__}: {exc}")
            ctx.log(f"  [{name}] PostgreSQL: {type(exc).__name__}: {exc}")
        if sqlite is not None:
            with _sqlite(ctx, name, "sqlite") as database:
                run = _run(ctx, sandbox, "github", items, name, "sqlite")
                ctx.measure(sqlite, lambda r=run, d=database: c.importer(r, d, full=True),
                            f" run {index + 1}")


@workload("linear-full", "Linear full sync (10 teams x 5,000 issues) and a tenth of it: "
          "importer, floor")
def linear_full(ctx: Context) -> None:
    _full_syncs(ctx, "linear", "linear-full")


@workload("dagster-overhead", "100 repository partitions through Dagster (gofap-import sync) "
          "against the same functions called directly in a thread pool")
def dagster_overhead(ctx: Context) -> None:
    name = "dagster-overhead"
    per_repo = ctx.options.partition_items
    size = GitHubSize(max(1, ctx.options.partitions - 3), per_repo, per_repo)
    sandbox = ctx.worlds.get(github=size)
    items = github_items(sandbox.github)
    partitions = len(sandbox.github.repositories())
    ctx.measure(ctx.cell(name, "drain", "sandbox drain", items=items),
                lambda: c.drain(_run(ctx, sandbox, "github", items, name, "drain")))
    cells = {"importer": ctx.cell(name, "importer", f"Dagster path ({partitions} partitions)",
                                  partitions=partitions, items=items),
             "direct": ctx.cell(name, "direct", f"direct calls ({partitions} partitions)",
                                partitions=partitions, items=items)}
    for index in range(ctx.options.runs):
        for contender, cell in cells.items():
            with _sqlite(ctx, name, contender) as database:
                run = _run(ctx, sandbox, "github", items, name, contender)
                function = c.importer if contender == "importer" else c.direct
                ctx.measure(cell, lambda r=run, d=database, f=function: f(r, d, full=True),
                            f" run {index + 1}")


def _incremental(ctx: Context, service: str, name: str) -> None:
    """From a synced warehouse, per run: change a share of the world and sync, then sync twice
    more with nothing changed (the second of those is the steady state)."""
    size = ctx.options.github if service == "github" else ctx.options.linear
    sandbox = (ctx.worlds.get(github=size) if service == "github"
               else ctx.worlds.get(linear=size))
    world = sandbox.github if service == "github" else sandbox.linear
    items = github_items(world) if service == "github" else linear_items(world)
    percent = f"{100 * ctx.options.change_fraction:g}%"
    cells = {
        "changed": ctx.cell(name, "importer", f"{percent} changed", phase="changed",
                            items=items, fraction=ctx.options.change_fraction),
        "unchanged": ctx.cell(name, "importer", "no change", phase="unchanged", items=items),
        "steady": ctx.cell(name, "importer", "steady state (2nd no-change)", phase="steady",
                           items=items),
    }
    floor = _floor_no_change(ctx, sandbox, name) if service == "github" else None
    base = ctx.synced.get((service, size))
    directory = ctx.directory(name, "warehouse")
    if base is not None:
        database = c.copy_database(base, directory)
        ctx.log(f"  [{name}] starting from the warehouse of this invocation's full sync")
    else:
        database = c.sqlite_database(directory)
        setup = ctx.cell(name, "importer", "full sync (setup)", phase="full", items=items)
        ctx.measure(setup, lambda: c.importer(_run(ctx, sandbox, service, items, name, "full"),
                                              database, full=True))
        if not setup.runs:
            for cell in cells.values():
                cell.skipped = setup.skipped or "the setup full sync failed"
            database.dispose()
            return
    try:
        for index in range(ctx.options.runs):
            changed = world.mutate(fraction=ctx.options.change_fraction,
                                   seed=ctx.options.seed * 1000 + index)
            mutated = time.monotonic()
            if service == "github" and ctx.options.settle:
                time.sleep(max(0.0, GITHUB_OVERLAP.total_seconds() + 1
                               - (time.monotonic() - mutated)))
            for phase, cell in cells.items():
                run = _run(ctx, sandbox, service, 0, name, phase)  # no items/s: not a full read
                measurement = ctx.measure(cell, lambda r=run: c.importer(r, database,
                                                                         full=False),
                                          f" run {index + 1}")
                if measurement is not None and phase == "changed":
                    measurement.extra["mutation"] = changed
                    measurement.extra["changed_items"] = changed_items(service, changed)
            if floor is not None:
                floor(index)
    finally:
        database.dispose()


def _floor_no_change(ctx: Context, sandbox: Any, name: str) -> Callable[[int], None] | None:
    """The floor's no-change sync (each listing conditional on its last ETag), measured after
    an unmeasured run that takes in what the world's last change did."""
    if not ctx.wanted("floor"):
        return None
    cell = ctx.cell(name, "floor", "floor no change", phase="unchanged")
    directory = ctx.directory(name, "floor")
    database, etags = c.sqlite_database(directory), directory / "etags.json"

    def run(index: int) -> None:
        catch_up = _run(ctx, sandbox, "github", 0, name, "floor")
        try:
            c.floor(catch_up, database, etags)
        except Exception as exc:
            cell.errors.append(f"{type(exc).__name__}: {exc}")
            return
        ctx.measure(cell, lambda: c.floor(_run(ctx, sandbox, "github", 0, name, "floor"),
                                          database, etags), f" run {index + 1}")

    return run


ITEM_TYPES = {"github": ("issue", "pull_request", "commit"), "linear": ("issue",)}
"""The per-repository or per-team listings; the rest (repositories, teams, users, projects)
are listings that are re-read whole, their changes counted apart."""


def changed_items(service: str, counts: dict[str, int]) -> int:
    """Issues, pull requests and commits an incremental sync can see changed or added.

    Deletions are invisible to an incremental listing (a full sync reconciles them).
    """
    if service == "github":
        return sum(v for k, v in counts.items()
                   if k.startswith(("issues_", "pulls_", "commits_")) and k != "issues_deleted")
    return sum(v for k, v in counts.items()
               if k in ("edited", "state_changed", "reassigned", "moved", "archived", "trashed",
                        "added"))


@workload("github-incremental", "GitHub incremental syncs: 1% changed, no change, steady "
          "state (304s)")
def github_incremental(ctx: Context) -> None:
    _incremental(ctx, "github", "github-incremental")


@workload("linear-incremental", "Linear incremental syncs: 1% changed, no change, steady state")
def linear_incremental(ctx: Context) -> None:
    _incremental(ctx, "linear", "linear-incremental")


@workload("fixed-cost", "what every `gofap-import sync` pays whatever the data: a no-change "
          "sync of one repository (imports, instance, runs, checks)")
def fixed_cost(ctx: Context) -> None:
    name, size = "fixed-cost", GitHubSize(1, 1, 1)
    sandbox = ctx.worlds.get(github=size)
    cell = ctx.cell(name, "importer", "no-change sync of 1 repository", phase="unchanged")
    floor = ctx.cell(name, "floor", "floor no change (1 repository)", phase="unchanged")
    directory = ctx.directory(name, "warehouse")
    database, floor_db = c.sqlite_database(directory), c.sqlite_database(directory, "floor.db")
    etags = directory / "etags.json"
    try:
        c.importer(_run(ctx, sandbox, "github", 0, name, "setup"), database, full=True)
        c.floor(_run(ctx, sandbox, "github", 0, name, "setup"), floor_db, etags)
        for index in range(ctx.options.runs):
            ctx.measure(cell, lambda: c.importer(_run(ctx, sandbox, "github", 0, name, "sync"),
                                                 database, full=False), f" run {index + 1}")
            if ctx.wanted("floor"):
                ctx.measure(floor, lambda: c.floor(_run(ctx, sandbox, "github", 0, name,
                                                        "floor"), floor_db, etags),
                            f" run {index + 1}")
    finally:
        database.dispose()
        floor_db.dispose()


@workload("github-10x", "growth: the GitHub full sync and a no-change sync at 10x github-full "
          "(200 repos, ~800,000 items) against the same at 1x")
def github_tenfold(ctx: Context) -> None:
    """Full and no-change syncs at both sizes, each in its own warehouse and in this workload,
    so the growth ratios compare runs made minutes apart (the 10x size runs once)."""
    name = "github-10x"
    for scale, size in (("1x", ctx.options.github), ("10x", ctx.options.tenfold)):
        sandbox = ctx.worlds.get(github=size)
        items = github_items(sandbox.github)
        ctx.log(f"[{name}] {scale}: {items:,} items")
        full = ctx.cell(name, "importer", f"full sync ({scale})", scale=scale, phase="full",
                        items=items)
        unchanged = ctx.cell(name, "importer", f"no change ({scale})", scale=scale,
                             phase="unchanged", items=items)
        directory = ctx.directory(name, scale)
        database = c.sqlite_database(directory)
        try:
            for index in range(ctx.options.runs if scale == "1x" else 1):
                database.dispose()
                first = _run(ctx, sandbox, "github", items, name, scale)
                ctx.measure(full, lambda r=first, d=database: c.importer(r, d, full=True),
                            f" run {index + 1}")
                if not full.runs:
                    break
                again = _run(ctx, sandbox, "github", 0, name, scale)
                ctx.measure(unchanged, lambda r=again, d=database: c.importer(r, d, full=False),
                            f" run {index + 1}")
        finally:
            database.dispose()


BUDGET_TOKENS = 3
BUDGET_RESERVE = 25
POOL_SHARE, SPENT_SHARE = 0.4, 0.15
"""Each pool token's usable budget as a share of one sync's spend: together 120% (the sync
completes on the pool) and 45% (it stops cleanly, and the rest follows in later windows)."""
MAX_WINDOWS = 6


@workload("budget", "rate limits as a budget: a GitHub full sync on one token, on a pool of 3 "
          "each holding 40% of it (reserve 25), and on a pool that holds 45% an hour (a clean "
          "stop, then one sync per new window until complete)")
def budget(ctx: Context) -> None:
    name, seed = "budget", ctx.options.seed
    size = ctx.options.github.scaled(ctx.options.small_factor, ctx.options.concurrency)
    with Sandbox(seed=seed, github=size.world(seed), linear=IDLE_LINEAR.world(seed),
                 github_tokens=BUDGET_TOKENS) as sandbox:
        app = sandbox.server.apps["/github"]
        assert isinstance(app, GitHubApp)
        tokens = sandbox.github_tokens
        items = github_items(sandbox.github)
        ctx.log(f"[{name}] {items:,} items, {BUDGET_TOKENS} tokens, reserve {BUDGET_RESERVE}")
        one = ctx.cell(name, "importer", "one token", phase="one", items=items)
        pool = ctx.cell(name, "importer", f"pool of {BUDGET_TOKENS}, {POOL_SHARE:.0%} each",
                        phase="pool", items=items)
        spent = ctx.cell(name, "importer", f"pool of {BUDGET_TOKENS}, {SPENT_SHARE:.0%} each "
                         "per window: windows until complete", phase="spent", items=items)
        reserve = {"GOFAP_GITHUB_RATE_LIMIT_RESERVE": str(BUDGET_RESERVE)}

        def sync(label: str, database: c.Database, *, full: bool,
                 settings: dict[str, str]) -> Measurement:
            measured = c.importer(_run(ctx, sandbox, "github", items, name, label), database,
                                  full=full, settings=settings)
            measured.extra.update(budget_use(app, tokens, database.url))
            return measured

        for index in range(ctx.options.runs):
            note = f" run {index + 1}"
            app.reset_budgets({})
            with _sqlite(ctx, name, "one") as database:
                first = ctx.measure(one, lambda d=database: sync(
                    "one", d, full=True, settings={"GITHUB_TOKEN": tokens[0]}), note)
            if first is None:
                return
            need = first.extra["spent"][0]

            def limits(share: float, need: int = need) -> dict[str, int]:
                return {t: math.ceil(share * need) + BUDGET_RESERVE for t in tokens}

            app.reset_budgets(limits(POOL_SHARE))
            with _sqlite(ctx, name, "pool") as database:
                ctx.measure(pool, lambda d=database: sync("pool", d, full=True,
                                                          settings=reserve), note)

            def windows(database: c.Database, share: float = SPENT_SHARE) -> Measurement:
                """One sync per window (a fresh budget each) until nothing is deferred."""
                runs: list[Measurement] = []
                while not runs or runs[-1].extra["deferred"]:
                    if len(runs) == MAX_WINDOWS:
                        raise RuntimeError(f"still deferred after {MAX_WINDOWS} windows")
                    app.reset_budgets(limits(share))
                    runs.append(sync("spent", database, full=not runs, settings=reserve))
                return combined(runs)

            with _sqlite(ctx, name, "spent") as database:
                ctx.measure(spent, lambda d=database: windows(d), note)
            app.reset_budgets({})


def budget_use(app: GitHubApp, tokens: list[str], url: str) -> dict[str, Any]:
    """What a sync spent of each token, how close it came to 0, and what it left deferred."""
    store = Warehouse(url)
    try:
        deferred = len(store.deferred_partitions("github"))
    finally:
        store.dispose()
    budgets = [app.budget(t) for t in tokens]
    return {"spent": [b.used for b in budgets], "lowest_remaining": [b.lowest for b in budgets],
            "reserve": BUDGET_RESERVE, "deferred": deferred}


def combined(runs: list[Measurement]) -> Measurement:
    """Several syncs as one figure: times, requests and spend summed, the last one's rows."""
    last = runs[-1]
    by_status: dict[str, int] = {}
    for run in runs:
        for status, count in run.by_status.items():
            by_status[status] = by_status.get(status, 0) + count
    return Measurement(
        wall_s=sum(r.wall_s for r in runs), items=last.items,
        requests=sum(r.requests for r in runs), not_modified=sum(r.not_modified for r in runs),
        peak_rss_mb=max((r.peak_rss_mb for r in runs if r.peak_rss_mb is not None),
                        default=None),
        rows_written=sum(r.rows_written for r in runs), rows_total=last.rows_total,
        sandbox_cpu_s=sum(r.sandbox_cpu_s for r in runs), cpu_s=sum(r.cpu_s for r in runs),
        sync_s=sum(r.sync_s or 0.0 for r in runs), by_status=by_status,
        extra={"windows": len(runs), "spent": [sum(s) for s in zip(
            *(r.extra["spent"] for r in runs), strict=True)],
            "lowest_remaining": [min(s) for s in zip(
                *(r.extra["lowest_remaining"] for r in runs), strict=True)],
            "deferred_after_first": runs[0].extra["deferred"], "deferred": last.extra["deferred"],
            "reserve": BUDGET_RESERVE})


WEBHOOK_SENDERS = 16


@workload("webhooks", "the webhook receiver (its own process, 16 senders with keep-alive): "
          "deliveries/s and answer times, idle and while a sync writes; a sandbox change to the "
          "warehouse through `webhooks process`")
def webhook_receiver(ctx: Context) -> None:
    name, deliveries = "webhooks", ctx.options.webhook_deliveries
    cells = {busy: ctx.cell(name, "receiver", "receiver, " + ("during a sync" if busy
                                                             else "idle warehouse"),
                            phase="busy" if busy else "idle", items=deliveries)
             for busy in (False, True)}
    latency = ctx.cell(name, "receiver", "a change to the warehouse (webhooks process)",
                       phase="latency")
    for index in range(ctx.options.runs):
        note = f" run {index + 1}"
        for busy, cell in cells.items():
            ctx.measure(cell, lambda b=busy: receiver_figures(
                wh.receiver_throughput(ctx.directory(name, "receiver"), deliveries,
                                       WEBHOOK_SENDERS, b)), note)
        ctx.measure(latency, lambda: latency_figures(
            wh.event_to_warehouse(ctx.directory(name, "latency"))), note)


def receiver_figures(result: dict[str, Any]) -> Measurement:
    """One receiver run; its memory and CPU are the receiver process's."""
    sent = result["deliveries"]
    return Measurement(wall_s=sent / result["per_second"], items=sent, requests=sent,
                       not_modified=0, peak_rss_mb=result["receiver_peak_rss_mb"],
                       cpu_s=result["receiver_cpu_s"] or 0.0, rows_written=result["accepted"],
                       extra=result)


def latency_figures(result: dict[str, Any]) -> Measurement:
    """Sandbox, receiver and `webhooks process` all run in the harness: no memory figure."""
    return Measurement(wall_s=result["event_to_warehouse_s"], items=result["deliveries"],
                       requests=result["deliveries"], not_modified=0, peak_rss_mb=None,
                       rows_written=sum(result["outcomes"].values()), extra=result)


QUICK_EXCLUDED = ("github-10x",)
"""Too long for a smoke test at any size that says something."""
DEFAULT_WORKLOADS = tuple(WORKLOADS)

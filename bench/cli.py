"""`python -m bench`: run workloads, print the results and the targets, write JSON and a chart."""

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.contenders import dlt_available
from bench.targets import evaluate
from bench.workloads import CONTENDERS, QUICK_EXCLUDED, WORKLOADS, Context, Options
from bench.worlds import GitHubSize, LinearSize, Worlds

RESULTS = Path(__file__).resolve().parent / "results"
EPILOG = """\
examples:
  python -m bench --quick                       smoke run of every workload but github-10x
  python -m bench                               every workload at the default sizes
  python -m bench --workload github-full --runs 5 --json out.json
  python -m bench --workload github-latency --latency-ms 100 --repos 5
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", "-w", action="append", default=[], metavar="NAME",
                   help="a workload to run (repeat or comma-separate); default: all")
    p.add_argument("--all", action="store_true", help="run every workload (the default)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--quick", action="store_true",
                   help="tiny worlds and one run each: a smoke test, not a measurement")
    p.add_argument("--runs", type=int, help="runs per figure; each figure is their median "
                   "(default 3, quick 1)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="write the results here, and the chart beside it (default: "
                        "bench/results/bench-<time>.json, ignored by git)")
    p.add_argument("--contenders", help=f"comma-separated subset of {','.join(CONTENDERS)}")
    p.add_argument("--peer-runs", type=int,
                   help="runs of dlt at full size, if fewer than --runs (about a minute each)")
    size = p.add_argument_group("sizes (defaults: 20 x 2,000 + 2,000 GitHub; 10 x 5,000 Linear)")
    size.add_argument("--repos", type=int)
    size.add_argument("--issues-per-repo", type=int, help="issue numbers per repository "
                      "(every 7th a pull request)")
    size.add_argument("--commits-per-repo", type=int)
    size.add_argument("--linear-teams", type=int)
    size.add_argument("--linear-issues-per-team", type=int)
    size.add_argument("--small-factor", type=float,
                      help="share of the items in the smaller world of the memory comparison")
    size.add_argument("--partitions", type=int, help="repositories of dagster-overhead")
    size.add_argument("--partition-items", type=int,
                      help="issue numbers and commits per repository of dagster-overhead")
    knobs = p.add_argument_group("conditions")
    knobs.add_argument("--latency-ms", type=float, help="latency of github-latency (50)")
    knobs.add_argument("--concurrency", type=int, help="GOFAP_CONCURRENCY of the importer (4)")
    knobs.add_argument("--change-fraction", type=float, help="share changed between "
                       "incremental syncs (0.01)")
    knobs.add_argument("--postgres-url", help="server for github-postgres; a database is "
                       "created and dropped per run")
    knobs.add_argument("--seed", type=int)
    knobs.add_argument("--timeout", type=float, help="seconds before a contender is killed")
    knobs.add_argument("--workdir", type=Path, help="where warehouses are written (default: a "
                       "temporary folder, removed afterwards)")
    knobs.add_argument("--keep", action="store_true", help="keep the work folder")
    return p


def options_from(args: argparse.Namespace, workdir: Path) -> Options:
    options = Options.quick() if args.quick else Options()
    g, li = options.github, options.linear
    github = GitHubSize(args.repos or g.repos, args.issues_per_repo or g.issues_per_repo,
                        args.commits_per_repo or g.commits_per_repo)
    linear = LinearSize(args.linear_teams or li.teams,
                        args.linear_issues_per_team or li.issues_per_team)
    chosen = options.contenders
    if args.contenders:
        chosen = tuple(n.strip() for n in args.contenders.split(",") if n.strip())
        unknown = set(chosen) - set(CONTENDERS)
        if unknown:
            raise SystemExit(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    overrides = {
        "runs": args.runs, "seed": args.seed, "small_factor": args.small_factor,
        "latency_ms": args.latency_ms, "partitions": args.partitions,
        "partition_items": args.partition_items, "concurrency": args.concurrency,
        "change_fraction": args.change_fraction, "postgres_url": args.postgres_url,
        "peer_runs": args.peer_runs, "timeout_s": args.timeout,
    }
    return replace(options, github=github, linear=linear, contenders=chosen, workdir=workdir,
                   **{k: v for k, v in overrides.items() if v is not None})


def selected(args: argparse.Namespace) -> list[str]:
    names = [n.strip() for value in args.workload for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; see --list")
    if args.all or not names:
        names = [n for n in WORKLOADS if not (args.quick and n in QUICK_EXCLUDED)]
    return sorted(set(names), key=lambda n: WORKLOADS[n].order)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for workload in WORKLOADS.values():
            print(f"{workload.name:20} {workload.summary}")
        return 0
    if args.runs is not None and args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    names = selected(args)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gofap-bench-"))
    options = options_from(args, workdir.resolve())
    stamp = datetime.now(UTC)
    json_path = args.json or RESULTS / f"bench-{stamp:%Y%m%d-%H%M%S}.json"
    started = time.perf_counter()
    meta = {"started": stamp.isoformat(), "workloads": names, "quick": args.quick,
            "argv": sys.argv[1:], "machine": report.machine(), "source": report.source_tree(),
            "options": {k: str(v) for k, v in vars(options).items()}}
    load = meta["machine"]["load_average"][0]
    print(f"gofap-import benchmark: {', '.join(names)}; {options.runs} run(s) per figure; "
          f"work folder {workdir}", file=sys.stderr)
    if load > 1.0:
        print(f"note: the machine is busy (1-minute load {load:.1f} on "
              f"{meta['machine']['cpus']} CPUs); figures will be noisier", file=sys.stderr)
    if "dlt" in options.contenders and not dlt_available():
        print("note: dlt is not installed; the peer contender is skipped "
              "(pip install 'dlt[sqlalchemy]')", file=sys.stderr)
    try:
        with Worlds(options.seed) as worlds:
            ctx = Context(options, worlds)
            for name in names:
                print(f"\n== {name}: {WORKLOADS[name].summary}", file=sys.stderr, flush=True)
                try:
                    WORKLOADS[name].run(ctx)
                except Exception as exc:  # one broken workload must not lose the others
                    print(f"  [{name}] aborted: {type(exc).__name__}: {exc}", file=sys.stderr)
                    ctx.cell(name, "harness", "workload").errors.append(
                        f"{type(exc).__name__}: {exc}")
            targets = evaluate(ctx)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    meta["seconds"] = round(elapsed, 1)
    meta["machine"]["load_average_end"] = report.machine()["load_average"]
    print("\n" + report.results_table(ctx.cells) + "\n\n" + report.LEGEND)
    summary = report.sandbox_summary(ctx.cells)
    if summary:
        print("\nsandbox (serving from the harness process, one core at most):\n" + summary)
    if args.quick:
        print("\n--quick is a smoke test: at its sizes start-up dominates and the targets say "
              "little")
    print("\n" + report.targets_table(targets))
    passed = sum(t.status == "PASS" for t in targets)
    failed = sum(t.status == "FAIL" for t in targets)
    print(f"\n{passed} targets pass, {failed} fail, {len(targets) - passed - failed} n/a; "
          f"{elapsed:.0f}s in all")
    report.write_json(json_path, report.document(ctx, targets, meta))
    note = report.write_chart(json_path.with_suffix(".png"), ctx.cells)
    print(f"results: {json_path}" + (f"; {note}" if note else
                                     f"; chart: {json_path.with_suffix('.png')}"))
    return 0

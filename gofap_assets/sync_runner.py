"""Runs a service's sync through Dagster, in this process, as few runs as possible.

A sync is one run for the service's unpartitioned listing assets (which refresh the dynamic
partitions) and one single-run backfill over every partition for the partitioned assets: a whole
organization costs two in-process runs, not a process spawn per repository. Both are runs of the
service's named job (`github_sync_job`, `linear_sync_job`), tagged with what started them, so
the UI shows which service ran and why, as it does for the schedules' runs.
"""

import fcntl
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

SERVICES = ("linear", "github")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
TRIGGER_TAG = "gofap/trigger"
"""Tag on every sync run saying what started it: `cli`, `schedule` or `sensor`."""


def sync_job_name(service: str) -> str:
    return f"{service}_sync_job"


@dataclass(frozen=True)
class ServicePlan:
    """Which assets make up a service's sync, in order."""

    service: str
    listing_assets: tuple[str, ...]
    partitioned_assets: tuple[str, ...]
    partitions: str
    later_assets: tuple[str, ...] = ()
    """Partitioned assets that read what the others just wrote (reviews follow the pull
    requests' rows, comments name issues): run after them, in a run of their own, rather than
    as Dagster dependencies, whose one failed partition would skip them for every repository."""

    @property
    def every_partitioned(self) -> tuple[str, ...]:
        return (*self.partitioned_assets, *self.later_assets)


PLANS = {
    "github": ServicePlan("github", ("github_repositories",),
                          ("github_issues", "github_pull_requests", "github_commits",
                           "github_labels", "github_milestones", "github_releases"),
                          "github_repositories",
                          ("github_issue_comments", "github_pull_request_reviews",
                           "github_review_comments")),
    "linear": ServicePlan("linear", ("linear_teams", "linear_users", "linear_projects",
                                     "linear_labels"),
                          ("linear_issues", "linear_cycles", "linear_workflow_states"),
                          "linear_teams", ("linear_comments",)),
}


@dataclass
class RunSummary:
    asset: str
    ok: bool
    metadata: dict[str, object] = field(default_factory=dict)
    error: str | None = None


@dataclass
class ServiceSync:
    service: str
    skipped: str | None = None
    runs: list[RunSummary] = field(default_factory=list)
    seconds: float = 0.0

    failed_checks: list[str] = field(default_factory=list)
    """Blocking checks that failed (integrity): the sync's data needs attention."""
    warnings: list[str] = field(default_factory=list)
    """Health checks that warned (freshness, success rate, connection)."""

    @property
    def ok(self) -> bool:
        return self.skipped is not None or (all(r.ok for r in self.runs)
                                            and not self.failed_checks)

    @property
    def deferred(self) -> int:
        """Partitions the rate-limit budget stopped (not failures): the next sync resumes them."""
        return sum(int(str(r.metadata.get("partitions_deferred") or 0)) for r in self.runs)

    @property
    def deferred_until(self) -> str | None:
        """When the earliest deferred partition can go on (UTC, ISO 8601)."""
        times = [str(r.metadata["deferred_until"]) for r in self.runs
                 if r.metadata.get("deferred_until")]
        return min(times) if times else None


def open_instance() -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME when set, so runs show in the UI; otherwise a throwaway one.

    Opening a new home creates and stamps its storage; two syncs starting at once would both
    stamp it (leaving two alembic heads that break every later start), so they take turns.
    """
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    Path(home).mkdir(parents=True, exist_ok=True)
    with open(Path(home) / ".gofap-open.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return dg.DagsterInstance.get()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(job: dg.JobDefinition, assets: Sequence[str], *, full: bool, log_level: str,
         instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    """One in-process run of the service's job over `assets` (their checks come along)."""
    return job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(name) for name in assets],
        run_config=_run_config(assets, full, log_level), tags=tags, raise_on_error=False)


def _run_config(assets: Sequence[str], full: bool, log_level: str) -> dict[str, object]:
    return {
        "ops": {name: {"config": {"full": full}} for name in assets},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


def _summaries(result: dg.ExecuteInProcessResult, assets: Sequence[str]) -> list[RunSummary]:
    summaries = []
    failures = {event.step_key: event for event in result.all_events
                if event.event_type_value == "STEP_FAILURE"}
    for name in assets:
        metadata: dict[str, object] = {}
        for materialization in result.asset_materializations_for_node(name):
            metadata = {k: v.value for k, v in materialization.metadata.items()}
        failure = failures.get(name)
        error = None
        if failure is not None and failure.step_failure_data is not None:
            error_info = failure.step_failure_data.error
            user = failure.step_failure_data.user_failure_data
            error = (user.description if user and user.description else
                     _root_cause(error_info) if error_info else "failed")
        summaries.append(RunSummary(name, failure is None, metadata, error))
    return summaries


def _record_checks(report: ServiceSync, result: dg.ExecuteInProcessResult) -> None:
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        if evaluation.severity == dg.AssetCheckSeverity.ERROR:
            report.failed_checks.append(name)
        else:
            report.warnings.append(name)


def _root_cause(error: Any) -> str:
    """The user code's own error, not Dagster's "error occurred while executing op" wrapper."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    message = error.message.strip()
    prefix = f"{error.cls_name}: " if error.cls_name else ""
    return message.split(prefix, 1)[1] if prefix and prefix in message else message


def sync_service(defs: dg.Definitions, service: str, *, full: bool = False,
                 instance: dg.DagsterInstance, log_level: str = "WARNING",
                 trigger: str = "cli") -> ServiceSync:
    plan = PLANS[service]
    report = ServiceSync(service)
    started = time.monotonic()
    resource = defs.resources.get(service) if defs.resources else None
    if resource is None or not getattr(resource, "configured", False):
        report.skipped = f"{service} is not configured (credential unset)"
        return report
    job = defs.resolve_job_def(sync_job_name(service))
    tags = {TRIGGER_TAG: trigger}
    listing = _run(job, plan.listing_assets, full=full, log_level=log_level, instance=instance,
                   tags=tags)
    report.runs += _summaries(listing, plan.listing_assets)
    _record_checks(report, listing)
    if not report.runs[0].ok or report.deferred:
        # Without a fresh listing every partition would fail the same way; with the budget
        # spent on the listing, every one would only be deferred.
        report.seconds = time.monotonic() - started
        return report
    keys = instance.get_dynamic_partitions(plan.partitions)
    if keys:
        for selection in (plan.partitioned_assets, plan.later_assets):
            if not selection:
                continue
            partitioned = _run(job, selection, full=full, log_level=log_level,
                               instance=instance,
                               tags={**tags, RANGE_START: keys[0], RANGE_END: keys[-1]})
            report.runs += _summaries(partitioned, selection)
            _record_checks(report, partitioned)
    report.seconds = time.monotonic() - started
    return report

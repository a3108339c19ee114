"""`gofap-import webhooks process`: what the sensor does on a tick, with the runs made here,
in-process, through the same assets and sync path as `gofap-import sync`."""

from collections import Counter
from dataclasses import dataclass, field

import dagster as dg

from gofap_assets.config import Settings
from gofap_assets.logs import redact
from gofap_assets.warehouse import Warehouse
from gofap_assets.webhooks import deliveries
from gofap_assets.webhooks.process import catalog_of, decide, settle_runs


@dataclass
class ProcessReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    """Deliveries per outcome kind (synced, deleted, ignored, failed)."""
    runs: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _kind(outcome: str) -> str:
    return outcome.split(":", 1)[0]


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        data = event.step_failure_data if event.event_type_value == "STEP_FAILURE" else None
        if data is not None:
            user = data.user_failure_data
            if user and user.description:
                return f"{event.step_key}: {user.description}"
            if data.error is not None:
                error = data.error
                while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
                    error = error.cause
                return f"{event.step_key}: {error.message.strip().splitlines()[-1]}"
    return "the run failed"


def process_once(defs: dg.Definitions, warehouse: Warehouse, instance: dg.DagsterInstance,
                 settings: Settings | None = None, log_level: str = "WARNING") -> ProcessReport:
    report = ProcessReport()
    report.outcomes["synced"] += settle_runs(instance, warehouse)
    assets = list(defs.assets or [])
    plan, targets = decide(warehouse, catalog_of(assets), instance, settings)
    for outcome in plan.outcomes.values():
        report.outcomes[_kind(outcome)] += 1
        if outcome.startswith("failed: "):
            report.failures.append(outcome)
    for name, keys in plan.new_partitions.items():
        instance.add_dynamic_partitions(name, keys)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    settled: dict[int, str] = {}  # a delivery some runs share is failed if one of them failed
    for target, ids in targets.items():
        run_key = target.run_key(ids)
        result = dg.materialize(assets, selection=list(target.assets),
                                resources=dict(defs.resources or {}), instance=instance,
                                raise_on_error=False, partition_key=target.partition_key,
                                tags=target.tags(run_key),
                                run_config=run_config)
        where = f" {target.first}..{target.last}" if target.partitioned else ""
        label = f"{target.service}: {', '.join(target.assets)}{where}"
        if result.success:
            outcome = "synced"
        else:
            outcome = f"failed: {redact(_failure_message(result))}"
            report.failures.append(f"{label}: {outcome}")
        for delivery_id in ids:
            if settled.get(delivery_id, "synced") == "synced":
                settled[delivery_id] = outcome
        report.runs.append(f"{label} ({len(ids)} deliveries): {outcome}")
    deliveries.finish(warehouse, settled)
    report.outcomes.update(_kind(outcome) for outcome in settled.values())
    return report

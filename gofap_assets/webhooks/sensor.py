"""`webhook_sensor`: every 30 s, applies what the receiver has committed since the last tick."""

from collections import defaultdict

import dagster as dg

from gofap_assets.github.assets import github_assets
from gofap_assets.linear.assets import linear_assets
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.webhooks import deliveries
from gofap_assets.webhooks.process import Catalog, catalog_of, decide, settle_runs

WEBHOOK_INTERVAL_SECONDS = 30


def _by_value(waits: dict[int, list[str]]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for delivery_id, keys in waits.items():
        grouped[" ".join(keys)].append(delivery_id)
    return grouped


def webhook_tick(context: dg.SensorEvaluationContext, warehouse: Warehouse,
                 catalog: Catalog) -> dg.SensorResult | dg.SkipReason:
    """Settle finished runs, apply deletions, and request one run per coalesced target."""
    if not warehouse.schema_ready():
        return dg.SkipReason("the warehouse has no tables yet: nothing has been received")
    settled = settle_runs(context.instance, warehouse)
    plan, targets = decide(warehouse, catalog, context.instance)
    requests = []
    waits: dict[int, list[str]] = defaultdict(list)
    for target, ids in targets.items():
        run_key = target.run_key(ids)
        for delivery_id in ids:
            waits[delivery_id].append(run_key)
        requests.append(dg.RunRequest(
            run_key=run_key, asset_selection=[dg.AssetKey(name) for name in target.assets],
            partition_key=target.partition_key, tags=target.tags(run_key)))
    for keys, ids in _by_value(waits).items():
        deliveries.hand_to_run(warehouse, ids, keys)
    added = [dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=keys)
             for name, keys in plan.new_partitions.items()]
    decided = len(plan.outcomes)
    if not requests and not added:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"no deliveries to sync ({decided} decided directly, {settled} settled by their "
            "runs)"))
    context.log.info(f"webhooks: {len(requests)} targeted sync runs, {decided} deliveries "
                     f"decided directly, {settled} settled")
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=added)


@dg.sensor(
    name="webhook_sensor",
    asset_selection=dg.AssetSelection.groups("github", "linear"),
    minimum_interval_seconds=WEBHOOK_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Applies received webhooks: targeted incremental syncs of the partitions they "
    "name (coalesced), deletions marked at once, and each delivery's outcome recorded.",
)
def webhook_sensor(context: dg.SensorEvaluationContext,
                   warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    return webhook_tick(context, warehouse.warehouse,
                        catalog_of([*github_assets, *linear_assets]))

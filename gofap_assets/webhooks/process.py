"""Applying received deliveries: one plan for both the sensor and `gofap-import webhooks process`.

Changes become targeted incremental syncs of exactly the affected assets and partitions,
coalesced (fifty events on one repository are one run), which read the API's current state: so
a late or repeated event can only make data fresher, never older, and a delete followed by a
stale edit cannot resurrect anything. Deletions are marked directly, through the same warehouse
calls a full sync's reconciliation uses.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.github.sync import validate_repository_key
from gofap_assets.lib.scheduling import partition_ranges, range_tags, service_state
from gofap_assets.linear.sync import validate_team_key
from gofap_assets.logs import redact
from gofap_assets.sync_runner import PLANS
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import imported_data
from gofap_assets.webhooks import deliveries, events
from gofap_assets.webhooks.deliveries import Stored
from gofap_assets.webhooks.events import Delete, Refresh

WEBHOOK_TAG = "gofap/webhook_run"
"""Tag on every run that applies deliveries: its value is the run key the deliveries hold
(`webhook_deliveries.run_key`: the keys of every run a delivery waits for, space-separated)."""

Catalog = dict[str, str | None]
"""Asset name -> the dynamic partitions it is split by (None: a listing asset)."""


def catalog_of(assets: Iterable[dg.AssetsDefinition]) -> Catalog:
    """What this code location defines, so events about assets it lacks are ignored."""
    catalog: Catalog = {}
    for definition in assets:
        partitions = definition.partitions_def
        name = partitions.name if isinstance(partitions, dg.DynamicPartitionsDefinition) else None
        for key in definition.keys:
            catalog[key.to_user_string()] = name
    return catalog


@dataclass(frozen=True)
class Target:
    """One run's worth of work: these assets, for one partition range or none."""

    service: str
    assets: tuple[str, ...]
    first: str | None = None
    last: str | None = None

    @property
    def partitioned(self) -> bool:
        return self.first is not None

    def run_key(self, delivery_ids: Sequence[int]) -> str:
        digest = hashlib.sha1(repr((self, sorted(delivery_ids))).encode()).hexdigest()[:12]
        return f"webhooks-{self.service}-{min(delivery_ids)}-{max(delivery_ids)}-{digest}"

    @property
    def partition_key(self) -> str | None:
        """The one partition of a single-partition run (a range has tags instead)."""
        return self.first if self.first is not None and self.first == self.last else None

    def tags(self, run_key: str) -> dict[str, str]:
        tags = {WEBHOOK_TAG: run_key}
        if self.first is not None and self.last is not None and self.first != self.last:
            tags.update(range_tags(self.first, self.last))
        return tags


@dataclass
class Plan:
    outcomes: dict[int, str] = field(default_factory=dict)
    """Deliveries decided without a sync: ignored, failed, or (once applied) deleted."""
    deletions: list[tuple[Stored, Delete]] = field(default_factory=list)
    refreshes: dict[tuple[str, str | None], set[str]] = field(default_factory=dict)
    """(service, partition key or None) -> assets to re-read."""
    waiting: dict[tuple[str, str | None], list[int]] = field(default_factory=dict)
    """The deliveries each refresh settles."""
    new_partitions: dict[str, list[str]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    """Repositories renamed or transferred in this batch: old name -> new name."""
    gone: set[str] = field(default_factory=set)
    """Repositories deleted in this batch: nothing of theirs is left to sync."""

    def targets(self, ordered: Callable[[str], Sequence[str]]) -> dict[Target, list[int]]:
        """Coalesce refreshes into runs: per service and asset set, one run per contiguous
        range of partitions (in the partitions' own order), and one for the listings.

        A service's `later_assets` (reviews follow the pull requests' rows) get runs of their
        own, ordered after all the others: in that order the daemon's queue and `process`
        run them."""
        grouped: dict[tuple[str, tuple[str, ...]], dict[str | None, list[int]]] = defaultdict(
            dict)
        for stage in (False, True):
            for (service, key), assets in self.refreshes.items():
                chosen = tuple(sorted(a for a in assets
                                      if (a in PLANS[service].later_assets) == stage))
                if chosen:
                    grouped[(service, chosen)][key] = self.waiting[(service, key)]
        runs: dict[Target, list[int]] = {}
        for (service, assets), by_key in grouped.items():
            if None in by_key:
                runs[Target(service, assets)] = by_key.pop(None)
            if not by_key:
                continue
            name = PLANS[service].partitions
            order = list(ordered(name))
            known = set(order)
            order += [key for key in self.new_partitions.get(name, []) if key not in known]
            position = {key: n for n, key in enumerate(order)}
            for first, last in partition_ranges(order, set(by_key)):
                span = order[position[first]:position[last] + 1]
                runs[Target(service, assets, first, last)] = sorted(
                    {i for key in span for i in by_key[key]})
        return runs


def _team_key(warehouse: Warehouse, payload: dict) -> str | None:
    """The team of a Linear entity whose payload names only ids: from what we imported."""
    team_id, issue_id = events.linear_references(payload)
    t = imported_data.c
    with warehouse.engine.connect() as conn:
        if team_id:
            row = conn.execute(sa.select(t.processed_data).where(
                t.source == "linear", t.data_type == "team", t.external_id == team_id)).first()
            if row and isinstance(row.processed_data, dict) and row.processed_data.get("key"):
                return str(row.processed_data["key"])
        if issue_id:
            return conn.execute(sa.select(t.parent_key).where(
                t.source == "linear", t.data_type == "issue",
                t.external_id == issue_id)).scalar()
    return None


def _valid_key(service: str, key: str) -> str:
    return validate_repository_key(key) if service == "github" else validate_team_key(key)


def make_plan(pending: Sequence[Stored], warehouse: Warehouse, catalog: Catalog,
              known_partitions: Callable[[str], Collection[str]],
              settings: Settings | None = None) -> Plan:
    """What to do about each pending delivery."""
    plan = Plan()
    for delivery in pending:
        if delivery.service == "github":
            old, new = events.repository_fate(delivery.event, delivery.payload)
            if old is not None and new is None:
                plan.gone.add(old)
            elif old is not None and new is not None:
                plan.renamed[old] = new
    inactive = {service: service_state(warehouse, service, settings).inactive_reason()
                for service in PLANS}
    known: dict[str, set[str]] = {}
    for delivery in pending:
        reason = inactive.get(delivery.service)
        if reason is not None:
            plan.outcomes[delivery.id] = f"ignored: {reason}"
            continue
        if delivery.service == "github" and delivery.event in events.GITHUB_CHANGES:
            meaning = events.github_meaning(delivery.event, delivery.payload)
        elif delivery.service == "linear" and delivery.event in events.LINEAR_TYPES:
            meaning = events.linear_meaning(delivery.event, delivery.payload)
        else:
            plan.outcomes[delivery.id] = (events.receipt_outcome(delivery.service,
                                                                 delivery.event)
                                          or f"ignored: unknown service {delivery.service!r}")
            continue
        if meaning.ignored is not None:
            plan.outcomes[delivery.id] = meaning.ignored
            continue
        problems: list[str] = []
        refreshed = False
        for action in meaning.actions:
            if isinstance(action, Delete):
                plan.deletions.append((delivery, action))
                continue
            problem = _add_refresh(plan, delivery, action, warehouse, catalog, known,
                                   known_partitions)
            if problem is None:
                refreshed = True
            else:
                problems.append(problem)
        failures = [p for p in problems if p.startswith("failed: ")]
        if failures:
            plan.outcomes[delivery.id] = failures[0]
        elif not refreshed and problems and not any(
                isinstance(a, Delete) for a in meaning.actions):
            plan.outcomes[delivery.id] = problems[0]
    for key in list(plan.waiting):
        plan.waiting[key] = [i for i in plan.waiting[key] if i not in plan.outcomes]
        if not plan.waiting[key]:
            del plan.waiting[key], plan.refreshes[key]
    return plan


def _add_refresh(plan: Plan, delivery: Stored, action: Refresh, warehouse: Warehouse,
                 catalog: Catalog, known: dict[str, set[str]],
                 known_partitions: Callable[[str], Collection[str]]) -> str | None:
    """Schedule one refresh; or why not (`ignored: ...` / `failed: ...`)."""
    service = delivery.service
    partitions = PLANS[service].partitions
    if action.every_partitioned:
        assets = [name for name, split in catalog.items() if split == partitions]
    elif action.assets[0] not in catalog:
        return (f"ignored: {action.assets[0]} is not in this code location (yet); the "
                "scheduled syncs will import it once it is")
    else:
        assets = [name for name in action.assets if name in catalog]
    if not assets:
        return f"ignored: this code location has no asset partitioned by {partitions}"
    for split in (False, True):
        chosen = [a for a in assets if (catalog[a] is not None) == split]
        if not chosen:
            continue
        key: str | None = None
        if split:
            key = action.partition_key
            if key is None and service == "linear":
                key = _team_key(warehouse, delivery.payload)
            if key is not None and service == "github":
                key = plan.renamed.get(key, key)
                if key in plan.gone:
                    return f"ignored: repository {key} has been deleted since"
            if key is None:
                where = "repository" if service == "github" else "team"
                return (f"failed: cannot tell which {where} the {delivery.event} is in; the "
                        "scheduled sync will bring it")
            try:
                key = _valid_key(service, key)
            except ValueError as exc:  # each service's InvalidPartitionKey
                return f"failed: {exc}"
            names = known.setdefault(partitions, set(known_partitions(partitions)))
            if key not in names:
                names.add(key)
                plan.new_partitions.setdefault(partitions, []).append(key)
        plan.refreshes.setdefault((service, key), set()).update(chosen)
        plan.waiting.setdefault((service, key), []).append(delivery.id)
    return None


def apply_deletions(warehouse: Warehouse, plan: Plan) -> dict[int, str]:
    """Mark what the deletions name, exactly as a full sync's reconciliation would."""
    outcomes: dict[int, str] = {}
    for delivery, deletion in plan.deletions:
        delivery_id, service = delivery.id, delivery.service
        # Deleted when it was received, at the latest: a sync that read the item before
        # then cannot revive it (only a version changed after the deletion can).
        try:
            warehouse.mark_deleted(service, deletion.data_type, [deletion.external_id],
                                   parent_key=deletion.parent_key,
                                   deleted_at=delivery.received_at)
            if deletion.children:
                warehouse.mark_orphans_deleted(service, deletion.data_type,
                                               deletion.children,
                                               parent_prefix=deletion.children_prefix,
                                               deleted_at=delivery.received_at)
        except Exception as exc:
            outcomes[delivery_id] = f"failed: {redact(str(exc))}"
        else:
            outcomes.setdefault(delivery_id, "deleted")
    waiting = {i for ids in plan.waiting.values() for i in ids}
    return {i: outcome for i, outcome in outcomes.items()
            if i not in waiting or outcome.startswith("failed: ")}


def decide(warehouse: Warehouse, catalog: Catalog, instance: dg.DagsterInstance,
           settings: Settings | None = None) -> tuple[Plan, dict[Target, list[int]]]:
    """Plan the pending deliveries, apply their deletions, record what is decided (then in
    `plan.outcomes`), and return the runs still to make; new partitions are in
    `plan.new_partitions`, not yet added."""
    pending = deliveries.pending(warehouse)
    plan = make_plan(pending, warehouse, catalog, instance.get_dynamic_partitions, settings)
    for delivery_id, outcome in apply_deletions(warehouse, plan).items():
        if outcome.startswith("failed: ") or delivery_id not in plan.outcomes:
            plan.outcomes[delivery_id] = outcome
    deliveries.finish(warehouse, plan.outcomes)
    return plan, plan.targets(instance.get_dynamic_partitions)


def settle_runs(instance: dg.DagsterInstance, warehouse: Warehouse) -> int:
    """Record the outcome of deliveries whose run has ended; hand back those whose run was
    never created (the tick that requested it was lost). Returns how many were settled."""
    states: dict[str, str | None] = {}

    def state(run_key: str) -> str | None:
        """`synced`, `failed: ...`, `missing`, or None while the run is still going."""
        if run_key not in states:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={WEBHOOK_TAG: run_key}),
                                     limit=1)
            status = runs[0].status if runs else None
            states[run_key] = (
                "missing" if status is None else "synced"
                if status == dg.DagsterRunStatus.SUCCESS else
                f"failed: run {runs[0].run_id} {status.value.lower()}; the scheduled sync "
                "will catch up" if status in (dg.DagsterRunStatus.FAILURE,
                                              dg.DagsterRunStatus.CANCELED) else None)
        return states[run_key]

    outcomes: dict[int, str] = {}
    lost: list[int] = []
    for delivery in deliveries.handed_to_runs(warehouse):
        found = [state(key) for key in str(delivery.run_key).split()]
        if "missing" in found:
            lost.append(delivery.id)
        elif None not in found:
            outcomes[delivery.id] = next((s for s in found if s and s != "synced"), "synced")
    deliveries.hand_to_run(warehouse, lost, None)
    deliveries.finish(warehouse, outcomes)
    return len(outcomes)

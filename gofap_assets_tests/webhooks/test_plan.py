"""The plan on its own: what each delivery means, coalescing, new partitions, deletions."""

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.github.assets import github_assets
from gofap_assets.linear.assets import linear_assets
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.warehouse.schema import imported_data
from gofap_assets.webhooks import deliveries
from gofap_assets.webhooks.deliveries import Delivery
from gofap_assets.webhooks.process import Target, catalog_of, decide, make_plan
from gofap_assets.webhooks.sensor import webhook_sensor
from gofap_assets_tests.orchestration import record, seed
from gofap_assets_tests.webhooks.helpers import issue_payload, linear_issue_payload

SETTINGS = Settings.from_env({"GITHUB_TOKEN": "ghp_x", "LINEAR_API_KEY": "lin_api_x"})
CATALOG = catalog_of([*github_assets, *linear_assets])


@pytest.fixture
def store(database_url: str) -> Iterator[Warehouse]:
    warehouse = Warehouse(database_url)
    warehouse.create_schema()
    yield warehouse
    warehouse.dispose()


def receive(store: Warehouse, *items: tuple[str, str, dict]) -> None:
    from gofap_assets.webhooks import events

    batch = []
    for n, (service, event, payload) in enumerate(items):
        partition = (events.github_partition(payload) if service == "github"
                     else events.linear_partition(payload))
        batch.append(Delivery(service, f"{service}-{n}", event, payload.get("action"),
                              partition, payload, events.receipt_outcome(service, event)))
    deliveries.insert_all(store, batch)


def deleted(store: Warehouse, data_type: str) -> set[str]:
    t = imported_data.c
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(t.external_id).where(
            t.data_type == data_type, t.deleted_at.is_not(None))).scalars())


def test_fifty_events_on_one_repository_are_one_run(store: Warehouse) -> None:
    receive(store, *[("github", "issues", issue_payload("edited", issue_id=n))
                     for n in range(50)],
            ("github", "pull_request", {"action": "closed", "number": 3,
                                        "repository": {"full_name": "acme/api"}}))
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: ["acme/api"],
                     SETTINGS)
    targets = plan.targets(lambda _: ["acme/api"])
    assert targets == {Target("github", ("github_issues", "github_pull_requests"),
                              "acme/api", "acme/api"): list(range(1, 52))}


def test_a_review_re_reads_its_pull_request_first_then_the_reviews(store: Warehouse) -> None:
    """The reviews sync reads only pull requests whose row changed: the pull requests' run
    comes first, the reviews' (a later asset) in a run of its own after it."""
    review = {"action": "submitted", "review": {"id": 9, "state": "approved"},
              "pull_request": {"id": 4, "number": 3},
              "repository": {"full_name": "acme/api"}}
    comment = {"action": "created", "comment": {"id": 8}, "issue": {"id": 5, "number": 2},
               "repository": {"full_name": "acme/api"}}
    receive(store, ("github", "pull_request_review", review),
            ("github", "issue_comment", comment))
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: ["acme/api"],
                     SETTINGS)
    targets = list(plan.targets(lambda _: ["acme/api"]).items())
    assert targets == [
        (Target("github", ("github_issues", "github_pull_requests"), "acme/api", "acme/api"),
         [1, 2]),
        (Target("github", ("github_issue_comments", "github_pull_request_reviews"),
                "acme/api", "acme/api"), [1, 2])]


def test_contiguous_partitions_share_a_run_and_new_ones_are_added(store: Warehouse) -> None:
    receive(store, *[("github", "issues", issue_payload(repo=repo))
                     for repo in ("acme/a", "acme/b", "acme/new", "acme/d")])
    order = ["acme/a", "acme/b", "acme/c", "acme/d"]
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: order, SETTINGS)
    assert plan.new_partitions == {"github_repositories": ["acme/new"]}
    ranges = {(t.first, t.last) for t in plan.targets(lambda _: order)}
    assert ranges == {("acme/a", "acme/b"), ("acme/d", "acme/new")}


def test_an_event_for_an_asset_not_defined_here_is_ignored_with_the_reason(
        store: Warehouse) -> None:
    receive(store, ("github", "label", {"action": "created", "label": {"id": 5, "name": "bug"},
                                        "repository": {"full_name": "acme/api"}}))
    catalog = {name: split for name, split in CATALOG.items() if name != "github_labels"}
    plan = make_plan(deliveries.pending(store), store, catalog, lambda _: ["acme/api"],
                     SETTINGS)
    assert plan.outcomes == {1: "ignored: github_labels is not in this code location (yet); "
                                "the scheduled syncs will import it once it is"}
    assert not plan.refreshes


def test_a_bad_repository_name_fails_that_delivery_only(store: Warehouse) -> None:
    receive(store, ("github", "issues", issue_payload(repo="acme/../etc")),
            ("github", "issues", issue_payload(repo="acme/api")))
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: ["acme/api"],
                     SETTINGS)
    assert plan.outcomes[1].startswith("failed: not a repository partition key")
    assert list(plan.refreshes) == [("github", "acme/api")]


def test_a_linear_comment_finds_its_team_through_its_issue(store: Warehouse) -> None:
    seed(store, record("linear", "issue", "issue-1", parent="OPS"))
    receive(store, ("linear", "Comment", {"action": "create", "type": "Comment",
                                          "data": {"id": "c1", "issueId": "issue-1"}}))
    plan = make_plan(deliveries.pending(store), store, {"linear_comments": "linear_teams"},
                     lambda _: ["OPS"], SETTINGS)
    assert plan.refreshes == {("linear", "OPS"): {"linear_comments"}}


def test_deletions_are_marked_at_once_and_a_repository_takes_its_items(
        store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed(store, record("github", "repository", "7", title="acme/api", parent="acme"),
         record("github", "repository", "8", title="acme/web", parent="acme"),
         record("github", "issue", "101", parent="acme/api"),
         record("github", "issue", "201", parent="acme/web"),
         record("github", "label", "5", parent="acme/web"),
         record("linear", "issue", "lin-1", parent="ENG"))
    receive(store,
            ("github", "repository", {"action": "deleted",
                                      "repository": {"id": 7, "full_name": "acme/api"}}),
            ("github", "label", {"action": "deleted", "label": {"id": 5},
                                 "repository": {"full_name": "acme/web"}}),
            ("github", "issues", issue_payload("edited", repo="acme/api")),
            ("linear", "Issue", linear_issue_payload("remove", issue_id="lin-1")))
    plan, targets = decide(store, CATALOG, instance, SETTINGS)
    assert not targets, "the edit of an issue of a deleted repository has nothing to sync"
    assert plan.outcomes == {1: "deleted", 2: "deleted", 4: "deleted",
                             3: "ignored: repository acme/api has been deleted since"}
    assert deleted(store, "repository") == {"7"}
    assert deleted(store, "issue") == {"101", "lin-1"}
    assert deleted(store, "label") == {"5"}
    assert deliveries.counts(store) == {"deleted": 3,
                                        "ignored: repository acme/api has been deleted since": 1}


def test_the_sensor_adds_a_new_partition_with_its_run(store: Warehouse, database_url: str,
                                                      instance: dg.DagsterInstance,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    receive(store, ("github", "issues", issue_payload(repo="acme/brand-new")),
            ("github", "ping", {"zen": "hi"}))
    resources = {"warehouse": WarehouseResource(database_url=database_url)}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = webhook_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (added,) = result.dynamic_partitions_requests or []
    assert isinstance(added, dg.AddDynamicPartitionsRequest)
    assert (added.partitions_def_name, list(added.partition_keys)) == (
        "github_repositories", ["acme/brand-new"])
    (request,) = result.run_requests or []
    assert [k.to_user_string() for k in request.asset_selection or []] == ["github_issues"]
    assert request.partition_key == "acme/brand-new"
    (handed,) = deliveries.handed_to_runs(store)
    assert handed.run_key == request.run_key
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        again = webhook_sensor(context)
    assert isinstance(again, dg.SensorResult) and len(again.run_requests or []) == 1, \
        "a run that was never launched (the tick was lost) is requested again"


def test_a_disabled_or_unconfigured_service_is_skipped(store: Warehouse) -> None:
    store.set_service("linear", enabled=False)
    receive(store, ("linear", "Issue", linear_issue_payload()),
            ("github", "issues", issue_payload()))
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: ["acme/api", "ENG"],
                     Settings.from_env({"LINEAR_API_KEY": "lin_api_x"}))
    assert plan.outcomes[1].startswith("ignored: linear syncs are disabled")
    assert plan.outcomes[2].startswith("ignored: github is not configured")
    assert not plan.refreshes


def test_a_bad_linear_team_key_fails_that_delivery_only(store: Warehouse) -> None:
    receive(store, ("linear", "Issue", linear_issue_payload(team="no such key!")))
    plan = make_plan(deliveries.pending(store), store, CATALOG, lambda _: ["ENG"], SETTINGS)
    assert plan.outcomes[1].startswith("failed: not a Linear team key")
    assert not plan.refreshes


def test_a_transferred_issue_is_marked_in_its_old_repository_and_synced_in_the_new(
        store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed(store, record("github", "issue", "101", parent="acme/api"))
    payload = {**issue_payload("transferred", repo="acme/api", issue_id=101),
               "changes": {"new_issue": {"id": 555, "number": 9},
                           "new_repository": {"full_name": "acme/web"}}}
    receive(store, ("github", "issues", payload))
    instance.add_dynamic_partitions("github_repositories", ["acme/api", "acme/web"])
    plan, targets = decide(store, CATALOG, instance, SETTINGS)
    assert deleted(store, "issue") == {"101"}
    assert targets == {Target("github", ("github_issues",), "acme/web", "acme/web"): [1]}
    assert plan.outcomes == {}, "the delivery waits for the run that syncs the new repository"

"""The sandbox posts each change as GitHub and Linear would: signed (the receiver accepts
every one), and for GitHub valid against the OpenAPI description's `x-webhooks` schemas."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from gofap_assets.config import Settings
from gofap_assets.sandbox import Sandbox, WebhookTarget
from gofap_assets.sandbox.github import GitHubWorld
from gofap_assets.sandbox.linear import LinearWorld
from gofap_assets.warehouse import Warehouse
from gofap_assets.webhooks.receiver import create_app
from gofap_assets.webhooks.server import ReceiverServer
from gofap_assets_tests.webhooks.helpers import GITHUB_SECRET, LINEAR_SECRET, rows

URI = "urn:github-openapi-subset"


def _schema_name(event: str, action: str | None) -> str:
    name = event.replace("_", "-")
    return name if action is None else f"{name}-{action}"


def _validator(document: dict[str, Any], name: str) -> OAS30Validator:
    registry = Registry().with_resource(
        URI, Resource.from_contents(document, default_specification=DRAFT4))
    post = document["x-webhooks"][name]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return OAS30Validator({"$ref": URI + ref}, registry=registry,
                          format_checker=oas30_format_checker)


def test_every_mutation_posts_a_signed_delivery_valid_against_the_schemas(
        tmp_path: Path, shared_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    settings = Settings.from_env({"DATABASE_URL": url, "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
                                  "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET})
    github = GitHubWorld(2, repos=5, issues_per_repo=30, commits_per_repo=10)
    linear = LinearWorld(2, teams=2, issues_per_team=40, users=5, projects=2)
    with ReceiverServer(create_app(settings)) as receiver, Sandbox(
            github=github, linear=linear,
            webhooks=WebhookTarget(receiver.url, GITHUB_SECRET, LINEAR_SECRET)) as sandbox:
        changed = github.mutate(0.4, seed=3, delete_repos=True)
        linear.mutate(0.2, seed=3)
        assert sandbox.webhooks is not None
        sent = sandbox.webhooks.flush()
    assert {s.status for s in sent} == {200}
    found = rows(store)
    assert len(found) == len(sent), "one delivery per change, each stored once"
    kinds = Counter((r["event"], r["action"]) for r in found if r["service"] == "github")
    assert kinds[("issues", "deleted")] == changed["issues_deleted"] > 0
    assert kinds[("issues", "opened")] == changed["issues_created"]
    assert kinds[("repository", "deleted")] == changed["repos_deleted"] == 1
    assert kinds[("repository", "renamed")] == changed["repos_renamed"] == 1
    assert kinds[("push", None)] > 0
    assert sum(n for (event, _), n in kinds.items() if event == "pull_request") > 0
    for (event, action), key in {
            ("issue_comment", "created"): "comments_created",
            ("issue_comment", "edited"): "comments_edited",
            ("pull_request_review", "submitted"): "reviews_submitted",
            ("pull_request_review_comment", "created"): "review_comments_created",
            ("pull_request_review_comment", "edited"): "review_comments_edited",
            ("pull_request_review_comment", "deleted"): "review_comments_deleted",
            ("label", "created"): "labels_created", ("label", "edited"): "labels_edited",
            ("label", "deleted"): "labels_deleted",
            ("milestone", "created"): "milestones_created",
            ("milestone", "edited"): "milestones_edited",
            ("milestone", "deleted"): "milestones_deleted",
            ("release", "created"): "releases_created", ("release", "edited"): "releases_edited",
            ("release", "deleted"): "releases_deleted",
            ("release", "published"): "releases_created"}.items():
        assert kinds[(event, action)] == changed[key] > 0, (event, action)
    # Deleted comments, and those that went with their deleted issue, each with a delivery.
    said_gone = {("issue_comment", str(r["payload"]["comment"]["id"])) for r in found
                 if (r["event"], r["action"]) == ("issue_comment", "deleted")}
    assert said_gone <= github.deleted_ids()
    assert len(said_gone) == kinds[("issue_comment", "deleted")] >= changed["comments_deleted"]
    on_pulls = [r["payload"] for r in found if r["event"] == "issue_comment"
                and "pull_request" in r["payload"]["issue"]]
    assert all(p["comment"]["html_url"].split("/")[-2] == "pull" for p in on_pulls)

    document = json.loads((shared_dir / "api" / "github-openapi-subset.json").read_text())
    validators: dict[str, OAS30Validator] = {}
    for row in found:
        if row["service"] != "github":
            continue
        name = _schema_name(row["event"], row["action"])
        validator = validators.setdefault(name, _validator(document, name))
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                    for e in validator.iter_errors(row["payload"])]
        assert problems == [], name

    linear_rows = [r for r in found if r["service"] == "linear"]
    assert {r["action"] for r in linear_rows} == {"create", "update", "remove"}
    for row in linear_rows:
        payload = row["payload"]
        assert payload["type"] == row["event"] and payload["action"] == row["action"]
        assert isinstance(payload["webhookTimestamp"], int)
        assert payload["organizationId"] == linear.organization["id"]
        assert isinstance(payload["data"]["id"], str)
        if row["event"] == "Issue":
            assert row["partition_key"] == payload["data"]["team"]["key"]
            assert payload["data"]["teamId"] == payload["data"]["team"]["id"]
    assert {(r["event"], r["action"]) for r in linear_rows} >= {
        ("Comment", "create"), ("Comment", "update"), ("Comment", "remove"),
        ("Cycle", "update"), ("Cycle", "remove"), ("IssueLabel", "update"),
        ("IssueLabel", "remove")}
    for row in linear_rows:
        if row["event"] == "Comment" and row["payload"]["data"]["issue"] is not None:
            issue = row["payload"]["data"]["issue"]
            assert row["payload"]["data"]["issueId"] == issue["id"]
            assert row["partition_key"] == issue["team"]["key"]
    types = {"Issue": "issue", "Comment": "comment", "Cycle": "cycle", "IssueLabel": "label"}
    removed = {(types[r["event"]], r["payload"]["data"]["id"]) for r in linear_rows
               if r["action"] == "remove"}
    assert removed == linear.deleted_keys()
    store.dispose()

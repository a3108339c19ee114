"""Malformed API objects and bodies: a record with its identity always lands (an odd field stored
as null, with a field-level note in `import_errors`), a record without one is quarantined with its
reason and raw text, every good record still lands, and nothing a server sends makes the importer
crash.

Property tests generate the damage: missing and null required fields, wrong types, huge and
unusual strings (NUL, lone surrogates, SQL), unknown fields, impossible timestamps, and bodies
that are not JSON at all.
"""

import copy
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gofap_assets.github.client import GitHubClient
from gofap_assets.github.models import (
    commit_record,
    issue_comment_record,
    issue_record,
    label_record,
    milestone_record,
    pull_request_record,
    release_record,
    repository_record,
    review_comment_record,
    review_record,
)
from gofap_assets.github.sync import ISSUES, sync_repository_endpoint
from gofap_assets.http import ApiClient, ApiError
from gofap_assets.ingest import Page, PartitionOutcome, ingest_pages
from gofap_assets.linear.models import (
    comment_record,
    cycle_record,
    project_record,
    team_record,
    user_record,
    workflow_state_record,
)
from gofap_assets.linear.models import issue_record as linear_issue_record
from gofap_assets.linear.models import label_record as linear_label_record
from gofap_assets.linear.queries import (
    COMMENTS,
    CYCLES,
    LABELS,
    PROJECTS,
    TEAMS,
    USERS,
    WORKFLOW_STATES,
)
from gofap_assets.linear.queries import ISSUES as LINEAR_ISSUES
from gofap_assets.sandbox.app import Request
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.warehouse import CursorUpdate, Record, Warehouse
from gofap_assets_tests.reliability.harness import (
    GITHUB_TOKEN,
    both_sandbox,
    linear_client,
    linear_world,
    small_world,
)

# -- templates: real objects as the sandbox emulators render them ---------------------------------


def _github_objects() -> dict[str, dict[str, Any]]:
    world = GitHubWorld(4, repos=1, issues_per_repo=80, commits_per_repo=3)
    app = GitHubApp(world, token=GITHUB_TOKEN)

    def get(path: str, **query: str) -> Any:
        response = app.handle(Request("GET", path, {k: [v] for k, v in query.items()},
                                      {"authorization": f"Bearer {GITHUB_TOKEN}"}, b"",
                                      "http://sandbox.test/github"))
        return json.loads(response.body)

    repo = world.repositories()[0].full_name
    issues = get(f"/repos/{repo}/issues", state="all")
    reviewed = next(r for p in get(f"/repos/{repo}/pulls", state="all")
                    if (r := get(f"/repos/{repo}/pulls/{p['number']}/reviews")))
    return {
        "issue": next(i for i in issues if "pull_request" not in i),
        "pull_request": get(f"/repos/{repo}/pulls", state="all")[0],
        "commit": get(f"/repos/{repo}/commits")[0],
        "repository": get(f"/orgs/{world.org}/repos")[0],
        "issue_comment": get(f"/repos/{repo}/issues/comments")[0],
        "review_comment": get(f"/repos/{repo}/pulls/comments")[0],
        "pull_request_review": reviewed[0],
        "label": get(f"/repos/{repo}/labels")[0],
        "milestone": next(m for m in get(f"/repos/{repo}/milestones", state="all")
                          if m["description"]),
        "release": get(f"/repos/{repo}/releases")[0],
    }


def _linear_objects() -> dict[str, dict[str, Any]]:
    """Nodes exactly as the importer's own queries get them from the Linear emulator."""
    world = linear_world(4)
    found: dict[str, dict[str, Any]] = {}
    with both_sandbox(small_world(4, repos=0), world) as server:
        client = linear_client(server, sleep=lambda _s: None)
        try:
            for name, listing in (("team", TEAMS), ("user", USERS), ("project", PROJECTS),
                                  ("issue", LINEAR_ISSUES), ("comment", COMMENTS),
                                  ("cycle", CYCLES), ("workflow_state", WORKFLOW_STATES),
                                  ("label", LABELS)):
                nodes = next(iter(client.pages(listing))).nodes
                # The fullest node: its nested references (cycle, project...) are there.
                found[name] = max(nodes, key=lambda n: sum(v is not None for v in n.values()))
        finally:
            client.close()
    return found


@dataclass(frozen=True)
class Kind:
    """One API object type: where it goes, how it maps, and which of its fields matter."""

    source: str
    data_type: str
    template: dict[str, Any]
    mapper: Callable[[dict[str, Any]], Record | None]
    view: str
    identity: tuple[str, ...]
    """Top-level fields without which the record is quarantined whole."""
    required: tuple[tuple[str, ...], ...]
    timestamps: tuple[tuple[str, ...], ...]
    texts: tuple[tuple[str, ...], ...]
    numbers: tuple[tuple[str, ...], ...]


REPO = "acme/hostile"
_GITHUB, _LINEAR = _github_objects(), _linear_objects()
KINDS: dict[str, Kind] = {
    "github_issue": Kind(
        "github", "issue", _GITHUB["issue"], lambda raw: issue_record(raw, REPO), "github_issues",
        identity=("id",),
        required=(("id",), ("number",), ("title",), ("state",), ("created_at",),
                  ("updated_at",)),
        timestamps=(("created_at",), ("updated_at",), ("closed_at",)),
        texts=(("id",), ("title",), ("body",), ("state",), ("user", "login")),
        numbers=(("id",), ("number",), ("comments",), ("user", "id"))),
    "github_pull_request": Kind(
        "github", "pull_request", _GITHUB["pull_request"],
        lambda raw: pull_request_record(raw, REPO), "github_pull_requests",
        identity=("id",),
        required=(("id",), ("number",), ("title",), ("state",), ("created_at",),
                  ("updated_at",)),
        timestamps=(("created_at",), ("updated_at",), ("merged_at",), ("closed_at",)),
        texts=(("id",), ("title",), ("body",), ("state",), ("head", "ref")),
        numbers=(("id",), ("number",), ("user", "id"))),
    "github_commit": Kind(
        "github", "commit", _GITHUB["commit"], lambda raw: commit_record(raw, REPO),
        "github_commits",
        identity=("sha",),
        required=(("sha",), ("commit",), ("commit", "message")),
        timestamps=(("commit", "author", "date"), ("commit", "committer", "date")),
        texts=(("sha",), ("commit", "message"), ("commit", "author", "name")),
        numbers=(("author", "id"),)),
    "github_repository": Kind(
        "github", "repository", _GITHUB["repository"], repository_record,
        "github_repositories",
        identity=("id", "full_name"),
        required=(("id",), ("name",), ("full_name",)),
        timestamps=(("created_at",), ("updated_at",), ("pushed_at",)),
        texts=(("id",), ("full_name",), ("name",), ("description",), ("default_branch",)),
        numbers=(("id",), ("owner", "id"))),
    "github_issue_comment": Kind(
        "github", "issue_comment", _GITHUB["issue_comment"],
        lambda raw: issue_comment_record(raw, REPO), "github_issue_comments",
        identity=("id",),
        required=(("id",), ("issue_url",), ("created_at",), ("updated_at",)),
        timestamps=(("created_at",), ("updated_at",)),
        texts=(("id",), ("body",), ("issue_url",), ("html_url",), ("user", "login")),
        numbers=(("id",), ("user", "id"))),
    "github_review_comment": Kind(
        "github", "review_comment", _GITHUB["review_comment"],
        lambda raw: review_comment_record(raw, REPO), "github_review_comments",
        identity=("id",),
        required=(("id",), ("pull_request_url",), ("created_at",), ("updated_at",)),
        timestamps=(("created_at",), ("updated_at",)),
        texts=(("id",), ("body",), ("path",), ("pull_request_url",)),
        numbers=(("id",), ("pull_request_review_id",), ("in_reply_to_id",))),
    "github_pull_request_review": Kind(
        "github", "pull_request_review", _GITHUB["pull_request_review"],
        lambda raw: review_record(raw, REPO, 7), "github_pull_request_reviews",
        identity=("id",),
        required=(("id",), ("state",)),
        timestamps=(("submitted_at",),),
        texts=(("id",), ("body",), ("state",), ("commit_id",)),
        numbers=(("id",), ("user", "id"))),
    "github_label": Kind(
        "github", "label", _GITHUB["label"], lambda raw: label_record(raw, REPO),
        "github_labels", identity=("id",),
        required=(("id",), ("name",)), timestamps=(),
        texts=(("id",), ("name",), ("description",), ("color",)), numbers=(("id",),)),
    "github_milestone": Kind(
        "github", "milestone", _GITHUB["milestone"], lambda raw: milestone_record(raw, REPO),
        "github_milestones", identity=("id",),
        required=(("id",), ("number",), ("title",), ("state",), ("created_at",),
                  ("updated_at",)),
        timestamps=(("created_at",), ("updated_at",), ("due_on",), ("closed_at",)),
        texts=(("id",), ("title",), ("description",), ("state",)),
        numbers=(("id",), ("number",), ("open_issues",))),
    "github_release": Kind(
        "github", "release", _GITHUB["release"], lambda raw: release_record(raw, REPO),
        "github_releases", identity=("id",),
        required=(("id",), ("tag_name",), ("draft",), ("prerelease",), ("created_at",)),
        timestamps=(("created_at",), ("published_at",)),
        texts=(("id",), ("name",), ("tag_name",), ("body",)),
        numbers=(("id",), ("author", "id"))),
    "linear_issue": Kind(
        "linear", "issue", _LINEAR["issue"], linear_issue_record, "linear_issues",
        identity=("id", "team"),
        required=(("id",), ("identifier",), ("number",), ("title",), ("team",), ("state",),
                  ("team", "key"), ("state", "name"), ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("archivedAt",), ("completedAt",)),
        texts=(("id",), ("title",), ("description",), ("identifier",), ("team", "key"),
               ("state", "name"), ("dueDate",)),
        numbers=(("number",), ("priority",), ("estimate",), ("cycle", "number"))),
    "linear_team": Kind(
        "linear", "team", _LINEAR["team"], team_record, "linear_teams",
        identity=("id", "key"),
        required=(("id",), ("key",), ("name",), ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("archivedAt",)),
        texts=(("id",), ("key",), ("name",), ("description",)),
        numbers=(("private",),)),
    "linear_user": Kind(
        "linear", "user", _LINEAR["user"], user_record, "linear_users",
        identity=("id",),
        required=(("id",), ("name",), ("active",), ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("archivedAt",)),
        texts=(("id",), ("name",), ("email",), ("displayName",)),
        numbers=(("active",),)),
    "linear_project": Kind(
        "linear", "project", _LINEAR["project"], project_record, "linear_projects",
        identity=("id",),
        required=(("id",), ("name",), ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("completedAt",), ("archivedAt",)),
        texts=(("id",), ("name",), ("description",), ("state",), ("startDate",)),
        numbers=(("progress",),)),
    "linear_comment": Kind(
        "linear", "comment", _LINEAR["comment"], comment_record, "linear_comments",
        identity=("id", "issue"),
        required=(("id",), ("body",), ("url",), ("issue",), ("issue", "team"),
                  ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("editedAt",)),
        texts=(("id",), ("body",), ("issueId",), ("parentId",), ("user", "id")),
        numbers=(("body",), ("issueId",))),
    "linear_cycle": Kind(
        "linear", "cycle", _LINEAR["cycle"], cycle_record, "linear_cycles",
        identity=("id", "team"),
        required=(("id",), ("number",), ("startsAt",), ("endsAt",), ("isActive",),
                  ("isFuture",), ("isPast",), ("progress",), ("team",), ("team", "key"),
                  ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("startsAt",), ("endsAt",),
                    ("completedAt",)),
        texts=(("id",), ("name",), ("description",), ("team", "key")),
        numbers=(("number",), ("progress",), ("isActive",))),
    "linear_workflow_state": Kind(
        "linear", "workflow_state", _LINEAR["workflow_state"], workflow_state_record,
        "linear_workflow_states", identity=("id", "team"),
        required=(("id",), ("name",), ("type",), ("team",), ("team", "key"), ("createdAt",),
                  ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("archivedAt",)),
        texts=(("id",), ("name",), ("type",), ("description",), ("color",)),
        numbers=(("position",),)),
    "linear_label": Kind(
        "linear", "label", _LINEAR["label"], linear_label_record, "linear_labels",
        identity=("id",),
        required=(("id",), ("name",), ("createdAt",), ("updatedAt",)),
        timestamps=(("createdAt",), ("updatedAt",), ("archivedAt",)),
        texts=(("id",), ("name",), ("description",), ("color",)),
        numbers=(("isGroup",),)),
}


# -- strategies -----------------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from([
    "", "\x00", "a\x00b", "\ud800", "x\udfffy", "'; DROP TABLE imported_data; --", "%_\\'\"",
    "\\u0000", "\u202etxt.exe", "😀" * 10, "\r\n\t", "x" * 65, "y" * 256])
HOSTILE_TEXT = st.one_of(
    NASTY_TEXT,
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=20),  # surrogates too
    st.integers(1, 4).map(lambda n: "ж" * (70_000 * n)),
)
HOSTILE_NUMBERS = st.one_of(
    st.sampled_from([2**63, -(2**63) - 1, 2**80, math.nan, math.inf, -math.inf, 1.5, True, "12"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)
BAD_TIMESTAMPS = st.one_of(
    st.sampled_from(["", "yesterday", "2026-13-45T00:00:00Z", "2026-02-30T00:00:00Z",
                     "2026-01-01T25:61:00Z", "2026-01-01T00:00:00", "0001-01-01T00:30:00+01:00",
                     "9999-12-31T23:30:00-01:00", "1969-12-31T23:59:59Z", "+275760-09-13",
                     "2026-01-01T00:00:00.123456789Z", "NaN", 10**20, -(10**20)]),
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(), HOSTILE_TEXT)
def _paths(value: Any, prefix: tuple[str, ...] = (), depth: int = 2) -> list[tuple[str, ...]]:
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            if depth > 1:
                found += _paths(inner, (*prefix, key), depth - 1)
    return found


PATHS = {name: _paths(kind.template) for name, kind in KINDS.items()}
Change = tuple[str, tuple[str, ...], Any]
"""What to do (delete, null, ...), where (a path into the object), and the new value."""


@st.composite
def damage(draw: st.DrawFn, name: str) -> Change:
    """One change to a valid object: what, where, and the new value."""
    kind = KINDS[name]
    how = draw(st.sampled_from(["delete", "null", "text", "text", "number", "timestamp",
                                "unknown", "retype"]))
    if how in ("delete", "null"):
        return how, draw(st.sampled_from(kind.required + tuple(PATHS[name]))), None
    if how == "text":
        return how, draw(st.sampled_from(kind.texts)), draw(HOSTILE_TEXT)
    if how == "number":
        return how, draw(st.sampled_from(kind.numbers)), draw(HOSTILE_NUMBERS)
    if how == "timestamp" and kind.timestamps:
        return how, draw(st.sampled_from(kind.timestamps)), draw(BAD_TIMESTAMPS)
    if how == "unknown" or how == "timestamp":
        return how, (draw(st.text(min_size=1, max_size=12)),), draw(JSON_VALUES)
    return how, draw(st.sampled_from(PATHS[name])), draw(JSON_VALUES)


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _apply(obj: dict[str, Any], how: str, where: tuple[str, ...], value: Any) -> dict[str, Any]:
    target: Any = obj
    for key in where[:-1]:
        if not isinstance(target, dict) or key not in target:
            return obj
        target = target[key]
    if not isinstance(target, dict):
        return obj
    if how == "delete":
        target.pop(where[-1], None)
    elif how != "unknown" or where[-1] not in target:
        target[where[-1]] = value
    return obj


@st.composite
def batches(draw: st.DrawFn, name: str) -> list[tuple[Any, Change | None]]:
    """A page of objects, each either intact or damaged once, plus the odd non-object."""
    size = draw(st.integers(1, 6))
    page: list[tuple[Any, Change | None]] = []
    for _ in range(size):
        if draw(st.integers(0, 9)) == 0:
            page.append((draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict))), None))
            continue
        change = draw(st.none() | damage(name))
        page.append((copy.deepcopy(KINDS[name].template), change))
    return page


_identities = itertools.count(1)


def _identify(name: str, obj: dict[str, Any]) -> None:
    """Give each object of a page its own identity, so every one can be found afterwards."""
    n = next(_identities)
    if name == "github_commit":
        obj["sha"] = f"{n:040x}"
    elif name.startswith("github"):
        obj["id"] = 5_000_000_000 + n
        if name == "github_repository":
            obj["full_name"] = f"acme/repo-{n}"
    else:
        obj["id"] = f"00000000-0000-4000-8000-{n:012d}"
        if name == "linear_team":
            obj["key"] = f"K{n}"


def _rows(store: Warehouse, sql: str, **params: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


# -- the property ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_bad_records_are_quarantined_and_good_ones_land(database_url: str, name: str) -> None:
    kind = KINDS[name]
    store = Warehouse(database_url)
    store.create_schema()
    examples = 80 if database_url.startswith("sqlite") else 40
    partitions = itertools.count(1)

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(page=batches(name))
    def check(page: list[tuple[Any, Change | None]]) -> None:
        partition = f"p{next(partitions)}"
        items, intact = [], []
        for obj, change in page:
            if isinstance(obj, dict):
                _identify(name, obj)
                if change is None:
                    intact.append(copy.deepcopy(obj))
                else:
                    _apply(obj, *change)
            items.append(obj)
        outcome = PartitionOutcome(kind.source, kind.data_type, partition)
        ingest_pages(store, outcome, [Page(items, last=True, cursor=CursorUpdate("c1"))],
                     kind.mapper)

        # Every intact object landed, exactly as a clean sync would store it.
        for obj in intact:
            record = kind.mapper(obj)
            if record is None:
                continue
            found = _rows(store, "SELECT title, content_hash FROM imported_data WHERE "
                          "source = :s AND data_type = :t AND external_id = :e", s=kind.source,
                          t=kind.data_type, e=record.external_id)
            assert found == [(record.title, record.content_hash())]

        # Every object is accounted for: stored, quarantined, or (a PR in the issues) skipped;
        # field-level notes are counted apart, each naming a stored record and a field.
        errors = _rows(store, "SELECT external_id, reason, raw_text FROM import_errors "
                       "WHERE source = :s AND partition_key = :p ORDER BY id", s=kind.source,
                       p=partition)
        notes = [e for e in errors if e[1].startswith("field ")]
        quarantined = [e for e in errors if not e[1].startswith("field ")]
        assert outcome.counts.quarantined == len(quarantined)
        assert outcome.counts.field_notes == len(notes)
        skipped = sum(1 for obj in items if name == "github_issue" and isinstance(obj, dict)
                      and obj.get("pull_request") is not None)
        assert outcome.counts.seen + len(quarantined) + skipped == len(items)
        for _external_id, reason, raw in quarantined:
            assert reason.strip() and raw.strip()
        stored = {r[0] for r in _rows(store, "SELECT external_id FROM imported_data WHERE "
                                      "source = :s AND data_type = :t", s=kind.source,
                                      t=kind.data_type)}
        assert all(e[0] in stored for e in notes), notes

        for obj, change in page:
            if not change or not isinstance(obj, dict):
                continue
            how, where, value = change
            if where[0] in kind.identity:
                # A missing or null identity is never imported.
                if how in ("delete", "null") and len(where) == 1:
                    assert any(raw == _sanitised(obj) for _e, _r, raw in quarantined), change
                continue
            if not _storable(value) or (name == "github_issue" and "pull_request" in obj
                                        and obj["pull_request"] is not None):
                continue
            # Any other damage: the record lands, and a required field lost is noted.
            record = kind.mapper(obj)
            assert record is not None and record.external_id in stored, change
            if how in ("delete", "null") and where in kind.required and len(where) == 1:
                assert any(e[0] == record.external_id and f"'{where[0]}'" in e[1]
                           for e in notes), (change, notes)

        # The page's cursor committed with it, and the typed view still reads.
        assert store.partition_state(kind.source, kind.data_type, partition).cursor == "c1"
        _rows(store, f"SELECT * FROM {kind.view}")

    check()
    store.dispose()


def test_an_issue_with_odd_fields_lands_with_nulls_and_a_note_per_field(
        database_url: str) -> None:
    """The case from the field: labels null, title a number, body an object, user a string."""
    store = Warehouse(database_url)
    store.create_schema()
    raw = {**copy.deepcopy(KINDS["github_issue"].template), "id": 7_000_000_001,
           "labels": None, "title": 42, "body": {"text": "hi"}, "user": "octocat"}
    outcome = PartitionOutcome("github", "issue", REPO)
    ingest_pages(store, outcome, [Page([raw], last=True)], KINDS["github_issue"].mapper)
    assert (outcome.counts.inserted, outcome.counts.quarantined,
            outcome.counts.field_notes) == (1, 0, 4)
    [row] = _rows(store, "SELECT title, description, labels, author, number FROM github_issues")
    assert row[:4] == (None, None, None, None) and row[4] == raw["number"]
    [stored_raw] = _rows(store, "SELECT raw_data FROM imported_data")
    kept = stored_raw[0] if isinstance(stored_raw[0], dict) else json.loads(stored_raw[0])
    assert kept == raw
    notes = _rows(store, "SELECT external_id, reason, raw_text FROM import_errors ORDER BY id")
    assert {n[0] for n in notes} == {"7000000001"}
    assert sorted(n[1].split("'")[1] for n in notes) == ["body", "labels", "title", "user"]
    assert {json.loads(n[2]) is None or n[2] for n in notes} >= {"42", '"octocat"'}
    store.dispose()


def _storable(value: Any) -> bool:
    """JSON can hold it: no NaN or infinity anywhere (those records are quarantined whole)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    except TypeError:
        return True
    return True


def _sanitised(obj: Any) -> str:
    """The raw text the quarantine keeps: the JSON, with what no database can store replaced."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return "".join("\ufffd" if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch
                   for ch in text)


def test_the_views_still_read_after_hostile_records(database_url: str) -> None:
    """Values that fit the mapping but not a typed view column must not break the view."""
    store = Warehouse(database_url)
    store.create_schema()
    issue = copy.deepcopy(KINDS["github_issue"].template)
    big = {**issue, "id": 2**70, "number": 2**66, "comments": -(2**65), "title": "big"}
    odd = {**issue, "id": 6_000_000_001, "title": "odd\x00\ud800", "body": "NaN",
           "closed_at": "9999-12-31T23:59:59Z", "state_reason": "x" * 10_000}
    outcome = PartitionOutcome("github", "issue", REPO)
    ingest_pages(store, outcome, [Page([big, odd, {**issue, "id": 6_000_000_002,
                                                   "number": math.nan}], last=True)],
                 KINDS["github_issue"].mapper)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT issue_id, number, title FROM github_issues")).all()
    assert [(r[0], r[2]) for r in rows] == [(6_000_000_001, "odd\ufffd\ufffd")]
    assert outcome.counts.quarantined == 2


# -- bodies that are not JSON ---------------------------------------------------------------------

BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"<html><body>502 Bad Gateway</body></html>", b'[{"id": 1',
                     b"\xff\xfe\x00garbage", b'{"message": "ok"', b"null", b"NaN", b"[NaN]",
                     b'"just a string"', b"{}", b"[1, 2, 3]", b'[{"id": "\\ud800"}]',
                     b"\xef\xbb\xbf[]", '[{"title": "caf\u00e9"}]'.encode("latin-1")]),
    st.builds(lambda n: b'[{"id": 1, "title": "' + b"x" * n, st.integers(0, 5000)),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(body=BODIES, status=st.sampled_from([200, 200, 200, 500, 503, 404, 422]),
       content_type=st.sampled_from(["application/json", "text/html", ""]))
def test_the_http_layer_turns_any_body_into_data_or_a_named_error(
        body: bytes, status: int, content_type: str) -> None:
    calls = itertools.count()

    def answer(_request: httpx.Request) -> httpx.Response:
        next(calls)
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(status, content=body, headers=headers)

    client = ApiClient("GitHub", "https://api.test", max_retries=2, sleep=lambda _s: None,
                       transport=httpx.MockTransport(answer))
    try:
        response = client.request("GET", "things")
    except ApiError as exc:
        assert str(exc).startswith("GitHub")
    else:
        assert status == 200
        json.dumps(response.data, allow_nan=True)  # plain Python JSON values
    finally:
        client.close()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_a_malformed_page_fails_its_partition_with_a_clear_error(
        sqlite_url: str, body: bytes) -> None:
    store = Warehouse(sqlite_url)
    store.create_schema()

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    client = GitHubClient.create(token=GITHUB_TOKEN, api_url="https://api.test",
                                 max_retries=1, sleep=lambda _s: None,
                                 transport=httpx.MockTransport(answer))
    repo = f"acme/body-{next(_identities)}"
    try:
        outcome = sync_repository_endpoint(client, store, ISSUES, repo)
    except ApiError as exc:
        assert "GitHub" in str(exc) and GITHUB_TOKEN not in str(exc)
        assert store.partition_state("github", "issue", repo).cursor is None
    else:  # a JSON array: its objects were imported or quarantined, one by one
        assert outcome.complete
    finally:
        client.close()
        store.dispose()


# -- end to end: a server that sends some broken objects ------------------------------------------


class BreakingSomeIssues:
    """The GitHub emulator, except that every issue whose number is 3 mod 7 comes back broken:
    no title, or a creation time that is not a time; every one 5 mod 7 loses its id."""

    def __init__(self, inner: GitHubApp) -> None:
        self.inner = inner
        self.world = inner.world
        self.broken: dict[str, str] = {}
        """Issue id: the field that was broken."""
        self.anonymous: set[str] = set()

    def rate_limited(self, *args: Any) -> Any:
        return self.inner.rate_limited(*args)

    def handle(self, request: Request) -> Any:
        response = self.inner.handle(request)
        if response.status != 200 or not request.path.endswith("/issues"):
            return response
        items = json.loads(response.body)
        for item in items:
            if "pull_request" not in item and item["number"] % 7 == 3:
                field = "title" if item["number"] % 2 else "created_at"
                item[field] = None if field == "title" else "the day before yesterday"
                self.broken[str(item["id"])] = field
            elif "pull_request" not in item and item["number"] % 7 == 5:
                self.anonymous.add(str(item.pop("id")))
        response.body = json.dumps(items).encode()
        return response


def test_broken_objects_are_counted_everywhere_and_the_rest_lands(
        monkeypatch: pytest.MonkeyPatch, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    from gofap_assets.cli.main import main
    from gofap_assets.config import Settings
    from gofap_assets.definitions import build_definitions
    from gofap_assets.sandbox.server import SandboxServer
    from gofap_assets.sync_runner import sync_service
    from gofap_assets_tests.groundtruth import differences, expected, warehouse_rows
    from gofap_assets_tests.reliability.harness import apply_env, github_env

    world = GitHubWorld(9, repos=2, issues_per_repo=40, commits_per_repo=5)
    app = BreakingSomeIssues(GitHubApp(world, token=GITHUB_TOKEN))
    with SandboxServer({"/github": app}) as server:
        apply_env(monkeypatch, github_env(server, world, database_url))
        with dg_instance() as instance:
            report = sync_service(build_definitions(Settings.from_env()), "github",
                                  instance=instance)
        assert report.ok, report
        issues = next(run for run in report.runs if run.asset == "github_issues")
        assert issues.metadata["field_notes"] == len(app.broken) > 0
        assert issues.metadata["quarantined"] == len(app.anonymous) > 0

        assert main(["status"]) == 0
        status = capsys.readouterr().out.splitlines()
        header = status[0]
        row = next(line for line in status if line.split()[0] == "github")
        end = header.index("quarantined") + len("quarantined")  # right-aligned under its name
        assert row[:end].split()[-1] == str(len(app.broken) + len(app.anonymous))

    store = Warehouse(database_url)
    with store.engine.connect() as conn:
        errors = conn.execute(sa.text(
            "SELECT external_id, partition_key, reason, raw_text FROM import_errors")).all()
    store.dispose()
    notes = [e for e in errors if e.external_id is not None]
    assert {e.external_id: e.reason.split("'")[1] for e in notes} == app.broken
    assert len(errors) - len(notes) == len(app.anonymous)
    for error in errors:
        assert error.partition_key.startswith(f"{world.org}/")
        if error.external_id is None:
            assert "id" in error.reason and "id" not in json.loads(error.raw_text)
    # The broken issues landed, with the broken field null; only those without an id are lost.
    wanted = {k: (None, *v[1:]) if app.broken.get(k[2]) == "title" else v
              for k, v in expected(world.expected_rows()).items()
              if k[2] not in app.anonymous}
    assert differences(warehouse_rows(database_url, "github"), wanted) == {}


def dg_instance() -> Any:
    import dagster as dg

    return dg.instance_for_test()

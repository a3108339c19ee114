"""The sandbox's webhooks: every change `mutate` makes to a world is posted, signed, as GitHub
and Linear would post it, to a receiver such as `gofap-import webhooks serve`.

Payloads are rendered when the change happens (a removal shows the entity as it was) and posted
in order from one background thread; `flush` waits until all are answered.
"""

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gofap_assets.sandbox.github import content
from gofap_assets.sandbox.github.generate import RepoMeta, sha
from gofap_assets.sandbox.github.render import Renderer
from gofap_assets.sandbox.github.world import GitHubWorld
from gofap_assets.sandbox.linear.world import LinearWorld
from gofap_assets.webhooks.signatures import github_signature, linear_signature


@dataclass(frozen=True)
class WebhookTarget:
    """Where the sandbox posts deliveries, and with which secrets (None: that service posts
    nothing, as a webhook that was never configured)."""

    url: str
    """The receiver's base URL; deliveries go to `/webhooks/github` and `/webhooks/linear`."""
    github_secret: str | None = None
    linear_secret: str | None = None


@dataclass(frozen=True)
class Sent:
    service: str
    delivery_id: str
    event: str
    action: str
    status: int
    """The receiver's HTTP status; 0 when it could not be reached."""


_PULL_DETAILS = {"merged_by": None, "comments": 0, "review_comments": 0,
                 "maintainer_can_modify": False, "commits": 1, "additions": 10, "deletions": 2,
                 "changed_files": 1, "mergeable": None, "mergeable_state": "unknown"}
"""Fields of the full pull request that webhooks carry and the pulls listing does not."""


def _plain(value: Any) -> Any:
    """A Linear node as JSON: nested entities become `{id, name, key}`-sized references."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()
                if not k.startswith("_") and not callable(v)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def linear_data(node: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a Linear webhook: the entity's scalar fields, `<relation>Id`s, and the
    team, state and (a comment's) issue as small objects (as Linear sends them)."""
    data: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("_") or callable(value):
            continue
        if isinstance(value, dict):
            data[f"{key}Id"] = value.get("id")
            if key in {"team", "state"}:
                data[key] = {k: v for k, v in _plain(value).items()
                             if k in {"id", "key", "name", "type", "color"}}
            elif key == "issue":  # a comment's issue, with its team (see `_comment_data`)
                data[key] = _plain(value)
        else:
            data[key] = _plain(value)
    return data


class WebhookEmitter:
    """Subscribes to the worlds' changes and posts a signed delivery for each."""

    def __init__(self, target: WebhookTarget, *, github: GitHubWorld | None = None,
                 github_api_url: str = "https://api.github.com",
                 linear: LinearWorld | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self.clock = clock
        self.sent: list[Sent] = []
        self._github = github
        self._api = github_api_url.rstrip("/")
        self._renderer = Renderer(github) if github is not None else None
        self._linear = linear
        self._queue: queue.Queue[tuple[str, str, str, dict[str, Any]] | None] = queue.Queue()
        self._client = httpx.Client(timeout=15.0)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()
        if github is not None and target.github_secret:
            github.listeners.append(self._github_change)
        if linear is not None and target.linear_secret:
            linear.listeners.append(self._linear_change)

    # -- rendering, under the world's lock -----------------------------------------------------

    def _github_change(self, event: str, action: str, repo: RepoMeta, number: int | None,
                       details: dict[str, Any]) -> None:
        assert self._github is not None and self._renderer is not None
        api, render = self._api, self._renderer
        payload: dict[str, Any] = {"action": action}
        if event in {"issues", "pull_request"} and number is not None:
            item = self._github.item(repo.index, number)
            if event == "issues":
                payload["issue"] = render.issue(api, repo, item)
            else:
                payload.update(number=number, pull_request={
                    **render.pull(api, repo, item), **_PULL_DETAILS,
                    "merged": item.merged_at is not None})
            if action == "edited":
                payload["changes"] = {}
        elif event == "push":
            del payload["action"]
            head = self._github.commit(repo.index, repo.commits - 1).sha
            payload.update(ref=f"refs/heads/{repo.default_branch}", before="0" * 40,
                           after=head, created=False, deleted=False, forced=False,
                           base_ref=None, compare=f"https://github.com/{repo.full_name}/compare",
                           commits=[], head_commit=None,
                           pusher={"name": self._github.viewer.login, "email": None})
        elif event == "repository" and action == "renamed":
            payload["changes"] = {"repository": {"name": {"from": details["old_name"]}}}
        else:
            payload.update(self._activity_payload(event, repo, number, details))
        payload["repository"] = render.repository(api, repo, "repository")
        payload["sender"] = render.person(api, self._github.viewer)
        self._queue.put(("github", event, action, payload))

    def _activity_payload(self, event: str, repo: RepoMeta, number: int | None,
                          details: dict[str, Any]) -> dict[str, Any]:
        """Comments, reviews, labels, milestones and releases: the object as the REST listings
        render it, with the issue or pull request it belongs to, and `changes` of an edit."""
        assert self._github is not None and self._renderer is not None
        api, render = self._api, self._renderer
        payload: dict[str, Any] = {}
        if "changes" in details:
            payload["changes"] = details["changes"]
        item = self._github.item(repo.index, number) if number is not None else None

        def ghosted(rendered: dict[str, Any]) -> dict[str, Any]:
            """Webhooks name a deleted account's objects by the ghost user, never null."""
            if rendered.get("user", True) is None:
                rendered["user"] = render.person(api, content.GHOST)
            return rendered

        if event == "issue_comment" and item is not None:
            payload["issue"] = ghosted(render.issue(api, repo, item))
            payload["comment"] = ghosted(render.issue_comment(api, repo, details["comment"],
                                                              item.is_pr))
        elif event == "pull_request_review" and item is not None:
            payload["review"] = ghosted(render.review(api, repo, details["review"]))
            payload["pull_request"] = ghosted(render.pull(api, repo, item))
        elif event == "pull_request_review_comment" and item is not None:
            head = sha(self._github.seed, repo.id, item.number, "head")
            payload["comment"] = ghosted(render.review_comment(api, repo, details["comment"],
                                                               head))
            payload["pull_request"] = ghosted(render.pull(api, repo, item))
        elif event == "label":
            payload["label"] = render.label(api, repo, details["label"])
        elif event == "milestone":
            payload["milestone"] = render.milestone(api, repo, details["milestone"])
        elif event == "release":
            payload["release"] = render.release(api, repo, details["release"])
        return payload

    def _linear_change(self, kind: str, action: str, node: dict[str, Any]) -> None:
        assert self._linear is not None
        payload = {"action": action, "type": kind, "data": linear_data(node),
                   "url": node.get("url") or f"https://linear.app/gofap/{kind.lower()}",
                   "createdAt": node.get("updatedAt"),
                   "organizationId": self._linear.organization["id"]}
        self._queue.put(("linear", kind, action, payload))

    # -- posting, on the emitter's thread -----------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._post(*item)
            finally:
                self._queue.task_done()

    def _post(self, service: str, event: str, action: str, payload: dict[str, Any]) -> None:
        delivery = str(uuid.uuid4())
        if service == "github":
            body = json.dumps(payload).encode()
            secret = self.target.github_secret or ""
            headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                       "X-Hub-Signature-256": github_signature(secret, body),
                       "User-Agent": "GitHub-Hookshot/sandbox"}
        else:
            payload = {**payload, "webhookTimestamp": int(self.clock() * 1000)}
            body = json.dumps(payload).encode()
            secret = self.target.linear_secret or ""
            headers = {"Linear-Delivery": delivery, "Linear-Event": event,
                       "Linear-Signature": linear_signature(secret, body),
                       "User-Agent": "Linear-Webhook"}
        headers["Content-Type"] = "application/json"
        try:
            status = self._client.post(f"{self.target.url.rstrip('/')}/webhooks/{service}",
                                       content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = 0  # as the services do: recorded as failed, not retried here
        self.sent.append(Sent(service, delivery, event, action, status))

    def flush(self) -> list[Sent]:
        """Wait until every change so far has been posted; what was sent."""
        self._queue.join()
        return list(self.sent)

    def close(self) -> None:
        for world, listener in ((self._github, self._github_change),
                                (self._linear, self._linear_change)):
            if world is not None and listener in world.listeners:
                world.listeners.remove(listener)
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._client.close()

"""Comments of the sandbox's issues, derived from (seed, issue id) like the issues themselves.

A comment's record (ids, timestamps, author) comes from one digest; its body is drawn only when
a query returns it. Comments on no issue (a project update's) exist too: Linear's `comments`
returns them, and no team filter matches them.
"""

import hashlib
import random
from dataclasses import dataclass

from gofap_assets.sandbox.linear import content

_COUNTS = (0, 0, 1, 1, 1, 2, 3)
"""Comments per issue, picked by one digest byte: about 1.1 per issue."""


@dataclass(slots=True)
class CommentRecord:
    """What listing and filtering need. Mutable: the world edits it under its lock."""

    id: str
    issue_id: str | None
    created: int
    updated: int
    user: int | None
    """Index into the world's users; None when the author's account was deleted."""
    parent_id: str | None
    edited: int | None = None
    body: str | None = None
    """Set once edited; otherwise drawn from the id."""

    def text(self, seed: int) -> str:
        if self.body is not None:
            return self.body
        return content.comment_body(random.Random(f"{seed}/comment/{self.id}"))


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=32).digest()


def _uuid4(digest: bytes) -> str:
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def comments_of(seed: int, issue_id: str, created: int, updated: int,
                users: int) -> list[CommentRecord]:
    """The generated comments of one issue, written between its creation and last update."""
    head = _digest(seed, "comments", issue_id)
    found: list[CommentRecord] = []
    for k in range(_COUNTS[head[0] % len(_COUNTS)]):
        d = _digest(seed, "comment", issue_id, k)
        span = max(0, updated - created)
        at = created + span * int.from_bytes(d[16:18]) // 65536
        edited = at + (updated - at) * d[18] // 256 if d[19] < 40 and updated > at else None
        author = None if d[20] < 12 else d[21] % users
        parent = found[0].id if found and d[22] < 80 else None
        found.append(CommentRecord(_uuid4(d), issue_id, at, edited or at, author, parent,
                                   edited))
    return found


def new_comment_id(seed: int, counter: int) -> str:
    return _uuid4(_digest(seed, "new-comment", counter))

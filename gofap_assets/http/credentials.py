"""Credentials as a layer of the HTTP client: a pool that spends rate limits as a budget.

Each request goes out on the credential with the most budget left (as the last answers'
rate-limit headers said), an exhausted credential sits out until its reset, a secondary limit
pauses only the credential it hit, and the last `reserve` requests of each are never spent
(people and other tools share them). When every credential is out and the earliest one comes
back later than the caller may wait, `BudgetExhaustedError` says until when: a reason to stop
and resume later, not a failure.
"""

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gofap_assets.http.errors import AuthenticationError, BudgetExhaustedError
from gofap_assets.logs import get_logger, register_secret

log = get_logger("http")


class Credential:
    """One way to authenticate. `name` is what output shows: masked, never the secret."""

    name: str
    kind: str

    def authorization(self) -> str:
        """The `Authorization` header value for the next request (may mint a token)."""
        raise NotImplementedError

    def renew(self, rejected: str) -> bool:
        """After a 401 on `rejected`: get a fresh secret and say whether retrying makes sense."""
        return False

    def accepted(self, authorization: str) -> None:
        """An answer other than 401 to a request sent with `authorization`."""

    def abandoned(self, authorization: str) -> None:
        """A request sent with `authorization` got no answer at all (a transport error)."""


class StaticToken(Credential):
    """A token or key that never changes during a run (personal token, API key, OAuth token)."""

    def __init__(self, name: str, secret: str, *, scheme: str | None = "Bearer",
                 kind: str = "token") -> None:
        register_secret(secret)
        self.name, self.kind = name, kind
        self._header = f"{scheme} {secret}" if scheme else secret

    def authorization(self) -> str:
        return self._header


@dataclass(frozen=True)
class BudgetHeaders:
    """Where an API's answers announce the budget left; resets in epoch seconds or ms."""

    remaining: str
    reset: str
    limit: str | None = None
    resource: str | None = None
    """A header naming the bucket the request counted against; only `resource_name` counts."""
    resource_name: str = "core"


@dataclass
class _Slot:
    credential: Credential
    requests: int = 0
    not_modified: int = 0
    remaining: int | None = None
    limit: int | None = None
    reset: float | None = None
    inflight: int = 0
    paused_until: float | None = None
    rejected: str | None = None
    probing: bool = False
    unprobed: bool = False
    """The budget probe cannot tell this credential's budget (rate limits off, or a reading
    that contradicts the reset just waited for): one request at a time learns it instead."""
    waited_reset: float | None = None
    """The reset this credential's budget was last forgotten at (waited for)."""
    fruitless_probes: int = 0


MAX_PROBES = 10
"""Budget readings in a row that find it still spent (about a second apart) before the pool
stops asking and lets one request at a time learn it: a server whose window rolls late."""


class CredentialPool:
    """Chooses a credential per request and keeps each one's account. Thread-safe."""

    def __init__(self, service: str, credentials: Sequence[Credential], *,
                 headers: BudgetHeaders | None = None, reserve: int = 0,
                 max_wait: float = 900.0, hint: str = "check the credential",
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[], None] | None = None) -> None:
        if not credentials:
            raise ValueError("a credential pool needs at least one credential")
        self.service = service
        self.reserve = max(0, reserve)
        self.max_wait = max_wait
        self.waits = 0
        self._hint = hint
        self._headers = headers
        self._slots = [_Slot(c) for c in credentials]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self.probe: Callable[[Credential], None] | None = None
        """Reads a credential's budget for free (GitHub's `GET /rate_limit`): with a reserve,
        no request goes out on a credential whose budget is unknown until it has."""

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def credentials(self) -> list[Credential]:
        return [slot.credential for slot in self._slots]

    # -- choosing -------------------------------------------------------------------------

    def acquire(self) -> Credential:
        """The usable credential with the most budget left; waits for a reset up to `max_wait`.

        Raises BudgetExhaustedError when no credential is usable before `max_wait` from now,
        and AuthenticationError when every credential has been rejected.
        """
        while True:
            with self._changed:
                while True:
                    now = self._clock()
                    self._wake(now)
                    slot = self._best(now)
                    if slot is not None:
                        slot.inflight += 1
                        return slot.credential
                    live = [s for s in self._slots if s.rejected is None]
                    if not live:
                        raise AuthenticationError(self.service, self._slots[0].rejected
                                                  or "rejected", status=401)
                    unknown = next((s for s in live if self._needs_probe(s, now)), None)
                    if unknown is not None:
                        unknown.probing = True
                        break
                    if not any(self._awaits_answers(s, now) for s in live):
                        break
                    # Only requests in flight hold the budget back: their answers say more.
                    self._changed.wait(timeout=1.0)
                back = min(self._back_at(s, now) for s in live)
            if unknown is not None:
                self._probe(unknown)
                continue
            # Up to the next hundredth: never wake early, and a retry-after of 3 s waits 3 s
            # although the pause began a moment ago.
            wait = max(0.0, math.ceil(round((back - now) * 100, 6)) / 100)
            if wait > self.max_wait:
                raise BudgetExhaustedError(
                    self.service, datetime.fromtimestamp(back, UTC),
                    f"every credential ({', '.join(s.credential.name for s in live)}) has "
                    f"spent its budget{self._reserve_note()}; the earliest is back in "
                    f"{wait:.0f}s, longer than GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS "
                    f"({self.max_wait:.0f}s)")
            with self._lock:
                self.waits += 1
            if self._on_wait is not None:
                self._on_wait()
            log.warning("%s: every credential is out of budget; waiting %.1fs for the "
                        "earliest reset", self.service, wait)
            self._sleep(max(0.0, wait))
            with self._lock:
                self._wake(back)

    def _reserve_note(self) -> str:
        return (f" down to the reserve of {self.reserve} (GOFAP_GITHUB_RATE_LIMIT_RESERVE)"
                if self.reserve else "")

    def _usable(self, slot: _Slot, now: float) -> bool:
        if slot.rejected is not None:
            return False
        if slot.paused_until is not None and slot.paused_until > now:
            return False
        if slot.remaining is None:
            # With a reserve to keep, a budget unknown (never read, or its window just ended)
            # is read first; unreadable, one request at a time learns it from the answer.
            readable = self.probe is not None and not slot.unprobed
            return not self.reserve or (not readable and slot.inflight == 0)
        # Requests in flight count against the reserve before they are answered.
        return slot.remaining - slot.inflight > self.reserve

    def _needs_probe(self, slot: _Slot, now: float) -> bool:
        return (bool(self.reserve) and self.probe is not None and slot.remaining is None
                and not slot.unprobed and not slot.probing
                and (slot.paused_until is None or slot.paused_until <= now))

    def _probe(self, slot: _Slot) -> None:
        """Read `slot`'s budget outside the lock (the other threads wait for the reading)."""
        assert self.probe is not None
        try:
            self.probe(slot.credential)
        except AuthenticationError as exc:
            self.reject(slot.credential, str(exc))
        except Exception as exc:  # a probe is an optimisation: its failure only costs speed
            log.warning("%s: could not read the budget of %s (%s)", self.service,
                        slot.credential.name, exc)
        with self._changed:
            slot.probing = False
            now = self._clock()
            spent = slot.remaining is not None and slot.remaining <= self.reserve
            slot.fruitless_probes = slot.fruitless_probes + 1 if spent else 0
            # A reading of the very window just waited for, still ahead by our clock: the
            # server and our clock disagree, so the answers will say (never loop on probes).
            stale = (spent and slot.reset is not None and slot.waited_reset is not None
                     and now < slot.reset <= slot.waited_reset + 1)
            if slot.remaining is None or stale or slot.fruitless_probes >= MAX_PROBES:
                slot.remaining, slot.reset, slot.unprobed = None, None, True
            self._changed.notify_all()

    def _best(self, now: float) -> _Slot | None:
        usable = [s for s in self._slots if self._usable(s, now)]
        if not usable:
            return None

        def left(slot: _Slot) -> float:
            return math.inf if slot.remaining is None else slot.remaining - slot.inflight

        # Most budget first; among equals the least busy, then the least used so far.
        return max(usable, key=lambda s: (left(s), -s.inflight, -s.requests))

    def _awaits_answers(self, slot: _Slot, now: float) -> bool:
        """Usable once its in-flight requests are answered (not paused, budget above reserve),
        or once its budget has been read."""
        if slot.probing or (slot.remaining is None and slot.inflight > 0):
            return True
        return (slot.inflight > 0 and (slot.paused_until is None or slot.paused_until <= now)
                and slot.remaining is not None and slot.remaining > self.reserve)

    def _back_at(self, slot: _Slot, now: float) -> float:
        """When `slot` may be used again: after its pause and, if out of budget, its reset."""
        back = now
        if slot.paused_until is not None:
            back = max(back, slot.paused_until)
        if slot.remaining is not None and slot.remaining <= self.reserve:
            # GitHub always sends the reset; without one, the docs' advice: a minute.
            back = max(back, slot.reset if slot.reset is not None else now + 60.0)
        return back

    def _wake(self, moment: float) -> None:
        """Forget the limits that end by `moment`: the budget is learnt again from answers."""
        for slot in self._slots:
            if slot.paused_until is not None and slot.paused_until <= moment:
                slot.paused_until = None
            if slot.reset is not None and slot.reset <= moment:
                slot.waited_reset = slot.reset
                slot.remaining, slot.reset = None, None

    # -- accounting -----------------------------------------------------------------------

    def _slot(self, credential: Credential) -> _Slot:
        for slot in self._slots:
            if slot.credential is credential:
                return slot
        raise KeyError(credential.name)

    def release(self, credential: Credential, headers: Mapping[str, str] | None,
                status: int | None) -> None:
        """One request on `credential` is over: count it and read the budget its answer gave."""
        with self._lock:
            slot = self._slot(credential)
            slot.inflight = max(0, slot.inflight - 1)
            self._changed.notify_all()
            if status is None:
                return
            slot.requests += 1
            if status == 304:
                slot.not_modified += 1
            if headers is not None:
                self._learn(slot, headers)

    def _learn(self, slot: _Slot, headers: Mapping[str, str]) -> None:
        spec = self._headers
        if spec is None:
            return
        if spec.resource and headers.get(spec.resource, spec.resource_name) != spec.resource_name:
            return
        remaining = _integer(headers.get(spec.remaining))
        reset = _epoch_seconds(headers.get(spec.reset))
        if remaining is None:
            return
        self.learn(slot.credential, remaining=remaining, reset=reset,
                   limit=_integer(headers.get(spec.limit)) if spec.limit else None, _locked=True)

    def learn(self, credential: Credential, *, remaining: int, reset: float | None,
              limit: int | None = None, fresh: bool = False, _locked: bool = False) -> None:
        """Record a budget reading. Within one window only a lower reading counts (answers
        arrive out of order); a later reset, or `fresh` (a `/rate_limit` reading), starts anew."""
        if not _locked:
            with self._lock:
                self.learn(credential, remaining=remaining, reset=reset, limit=limit,
                           fresh=fresh, _locked=True)
            return
        slot = self._slot(credential)
        now = self._clock()
        if reset is not None and reset <= now:
            # The server's window has not rolled although its reset has passed by our clock
            # (its clock is behind): the reading holds; look again in a second.
            reset = now + 1.0
        new_window = (fresh or slot.remaining is None or slot.reset is None
                      or (reset is not None and reset > slot.reset + 1))
        if remaining == 0 and reset is not None:
            new_window = True  # a refusal's reset is the one to wait for, whatever came before
        slot.remaining = remaining if new_window else min(slot.remaining or 0, remaining)
        if reset is not None and (new_window or slot.reset is None):
            slot.reset = reset
        if limit is not None:
            slot.limit = limit
        if slot.remaining is not None and slot.remaining > self.reserve:
            slot.unprobed, slot.fruitless_probes = False, 0

    def pause(self, credential: Credential, seconds: float) -> None:
        """A rate-limit answer on `credential`: it alone sits out for `seconds`."""
        with self._lock:
            slot = self._slot(credential)
            until = self._clock() + max(0.0, seconds)
            slot.paused_until = max(slot.paused_until or 0.0, until)

    def reject(self, credential: Credential, message: str) -> None:
        """The API refused `credential` (401): no further request goes out on it."""
        with self._lock:
            self._slot(credential).rejected = message
        if len(self._slots) > 1:
            log.warning("%s: %s was rejected (%s); going on with the other credentials",
                        self.service, credential.name, message)

    def hint_for(self, credential: Credential) -> str:
        return f"{self._hint} ({credential.name})" if len(self._slots) > 1 else self._hint

    def accounting(self) -> list[dict[str, object]]:
        """Per credential (masked): requests spent, 304s, remaining, limit and reset (UTC)."""
        with self._lock:
            return [{"credential": s.credential.name, "kind": s.credential.kind,
                     "requests": s.requests, "not_modified": s.not_modified,
                     "remaining": s.remaining, "limit": s.limit,
                     "reset": _iso(s.reset) if s.reset is not None else None,
                     "paused_until": _iso(s.paused_until) if s.paused_until else None,
                     "rejected": s.rejected is not None}
                    for s in self._slots]


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def _epoch_seconds(value: str | None) -> float | None:
    """Epoch seconds (GitHub) or milliseconds (Linear), told apart by size."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number / 1000 if number > 100_000_000_000 else number


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

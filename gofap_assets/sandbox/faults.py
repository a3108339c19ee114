"""Reproducible fault injection for the sandbox server.

Each request to a mounted API takes exactly one draw from a seeded generator under a lock, so a
run with the same seed and the same request order meets the same faults: a failing test replays.
"""

import random
import threading
from dataclasses import dataclass, field, fields

RATE_LIMIT_KINDS = frozenset({"secondary", "primary", "linear_ratelimited"})
"""Fault kinds only the API knows how to shape; the server asks the app for the response."""


@dataclass(frozen=True)
class Fault:
    kind: str
    """``5xx``, ``secondary``, ``primary``, ``dropped``, ``truncated``, ``slow`` or
    ``linear_ratelimited``."""
    variant: float
    """Where the draw fell inside this kind's band, in [0, 1): picks a sub-variant (502 or 503)
    without a second draw."""


# Profile field -> fault kind, in the order the bands are laid out on [0, 1).
_RATES = (
    ("error_5xx", "5xx"),
    ("secondary_limit", "secondary"),
    ("primary_exhaustion", "primary"),
    ("dropped_connection", "dropped"),
    ("truncated_body", "truncated"),
    ("slow_response", "slow"),
    ("linear_ratelimited", "linear_ratelimited"),
)

PRESETS: dict[str, dict[str, float]] = {
    "none": {},
    "5xx": {"error_5xx": 0.15},
    "secondary": {"secondary_limit": 0.1},
    "primary": {"primary_exhaustion": 0.1},
    "dropped": {"dropped_connection": 0.1},
    "truncated": {"truncated_body": 0.1},
    "slow": {"slow_response": 0.1},
    "linear-ratelimited": {"linear_ratelimited": 0.1},
    "chaos": {"error_5xx": 0.03, "secondary_limit": 0.02, "primary_exhaustion": 0.01,
              "dropped_connection": 0.02, "truncated_body": 0.02, "slow_response": 0.01,
              "linear_ratelimited": 0.02},
}
"""Rates low enough (at most 0.15 of requests in total) that a client retrying 3 times converges:
four faults in a row on one request happen about once in 2,000 requests at worst."""


@dataclass
class FaultProfile:
    """Per-request fault probabilities; the rates add up to at most 1."""

    seed: int
    error_5xx: float = 0
    secondary_limit: float = 0
    primary_exhaustion: float = 0
    dropped_connection: float = 0
    truncated_body: float = 0
    slow_response: float = 0
    slow_seconds: float = 5.0
    retry_after_seconds: float = 1.0
    reset_after_seconds: float = 1.0
    linear_ratelimited: float = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rates = [getattr(self, name) for name, _ in _RATES]
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1 + 1e-9:
            raise ValueError(f"fault rates must be in [0, 1] and sum to at most 1: {rates}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def named(cls, name: str, seed: int, **overrides: float) -> "FaultProfile":
        """A preset by name (see ``PRESETS``), with any field overridden."""
        if name not in PRESETS:
            raise ValueError(f"unknown fault profile {name!r}; choose one of {sorted(PRESETS)}")
        return cls(seed=seed, **{**PRESETS[name], **overrides})

    @property
    def total_rate(self) -> float:
        return sum(getattr(self, name) for name, _ in _RATES)

    def reset(self) -> None:
        """Start the sequence of draws again from the seed."""
        with self._lock:
            self._rng = random.Random(self.seed)

    def draw(self) -> Fault | None:
        """The fault for the next request, or None; always exactly one draw."""
        with self._lock:
            u = self._rng.random()
        low = 0.0
        for name, kind in _RATES:
            rate = getattr(self, name)
            if rate and u < low + rate:
                return Fault(kind, (u - low) / rate)
            low += rate
        return None

    def describe(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

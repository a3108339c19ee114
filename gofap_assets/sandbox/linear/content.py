"""Deterministic text for the Linear sandbox: realistic, and hostile where real data is.

Every function takes a seeded ``random.Random``, so an item's text depends only on its identity.
Null descriptions, emoji, right-to-left and combining characters and very long descriptions turn
up at low but non-zero rates, as they do in real workspaces.
"""

import random
import re
import unicodedata
import zlib

TEAMS = [
    ("ENG", "Engineering", "Product engineering: web, API and mobile."),
    ("OPS", "Operations", None),
    ("FIN", "Finance Systems", "Ledgers, reconciliation and payment rails 💸"),
    ("DES", "Design", "Product design and research."),
    ("DATA", "Data Platform", "Warehouse, pipelines and reporting."),
    ("SEC", "Security", None),
    ("INF", "Infrastructure", "Clusters, networking and on-call."),
    ("MOB", "Mobile", "iOS and Android apps."),
    ("QA", "Quality", "Test automation and release quality."),
    ("GOV", "Government Relations", "Procurement, compliance and audits — Ωmega program."),
]

PEOPLE = ["Ada Okafor", "Grace Nguyen", "Linus García", "Margaret Kowalski", "Alan Haddad",
          "Barbara Tanaka", "Ken Silva", "Radia Schmidt", "Guido Cohen", "Frances Ivanova",
          "Zoë Ångström", "محمد علي", "李伟", "José Ñúñez", "Ιωάννα Παππά", "Đặng Thu Thảo",
          "Søren Kierkegaard-Lund", "שרה כהן", "Ólafur Ragnarsson", "Кирилл Белов",
          "Dennis Mensah", "Anita Rossi", "Tim Larsen", "Hedy Kaur", "Yukihiro Moreau",
          "Sophie O'Connor", "Edsger Dijkstra-Vos", "Karen Spärck", "Leslie Lamport-Ng",
          "Shafi Goldwasser"]

_VERBS = ["Fix", "Add", "Remove", "Refactor", "Investigate", "Migrate", "Document", "Speed up",
          "Harden", "Support", "Clean up", "Audit", "Design", "Prototype", "Backfill"]
_OBJECTS = ["invoice export", "ledger reconciliation", "SSO login", "audit log", "budget report",
            "payment retries", "CSV import", "rate limiter", "search index", "webhook delivery",
            "user onboarding", "dark mode", "approval workflow", "fiscal year rollover",
            "vendor sync", "dashboard filters", "PDF statements", "API pagination",
            "notification emails", "role permissions"]
_SUFFIXES = ["", "", "", " on Safari", " for large tenants", " in the EU region",
             " (regression)", " after the 2.3 upgrade", " when the timezone is UTC+13",
             " 🚀", " 🐛", " ✅", " — follow-up", " for Zoë's team", " [P0]",
             " with “smart quotes”", " / عربي", " (日本語 UI)", " with e\u0301 combining accents"]

_SENTENCES = [
    "Steps to reproduce are in the attached recording.",
    "This blocks the quarter-end close for two agencies.",
    "Customers report the totals differ by a cent after rounding.",
    "We should keep the old behaviour behind a flag until the migration finishes.",
    "See the incident review for the timeline.",
    "Acceptance criteria: the export matches the ledger to the cent.",
    "Logs show `TimeoutError` after 30 s on the second page.",
    "Related to the work the data team did last sprint.",
    "Unicode in vendor names (e.g. “Müller & Söhne GmbH”, 株式会社) breaks the CSV.",
    "Emoji in titles 🎉🔥 should round-trip unchanged.",
    "النص العربي يجب أن يظهر من اليمين إلى اليسار.",
    "Edge case: amounts of 0.00 and negative refunds.",
]


def team_spec(index: int) -> tuple[str, str, str | None]:
    """(key, name, description) for the index-th team; beyond the list, numbered teams."""
    if index < len(TEAMS):
        return TEAMS[index]
    return f"T{index + 1}", f"Team {index + 1}", None


def person(index: int) -> str:
    base = PEOPLE[index % len(PEOPLE)]
    return base if index < len(PEOPLE) else f"{base} {index // len(PEOPLE) + 1}"


def handle(name: str) -> str:
    """A login-ish handle: ASCII when the name has any, as Linear derives display names."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_part = re.sub(r"[^a-z0-9]+", ".", folded.lower()).strip(".")
    return ascii_part or f"user{zlib.crc32(name.encode()) % 10_000}"


def slug(text: str, limit: int = 60) -> str:
    return (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "issue")[:limit].rstrip("-")


def _pick(rng: random.Random, options: list[str]) -> str:
    return options[int(rng.random() * len(options))]


def issue_title(rng: random.Random) -> str:
    return f"{_pick(rng, _VERBS)} {_pick(rng, _OBJECTS)}{_pick(rng, _SUFFIXES)}"


def issue_description(rng: random.Random) -> str | None:
    """Markdown, null 15% of the time, and now and then tens of kilobytes long."""
    roll = rng.random()
    if roll < 0.15:
        return None
    draw = rng.random
    paragraphs = [" ".join(rng.choices(_SENTENCES, k=1 + int(draw() * 4)))
                  for _ in range(1 + int(draw() * 3))]
    if roll > 0.985:  # a pasted log or spec: large, but cheap to build
        block = "\n".join(f"{i:05d} | {_pick(rng, _SENTENCES)}" for i in range(40))
        paragraphs.append("```\n" + "\n".join([block] * (10 + int(draw() * 16))) + "\n```")
    if draw() < 0.3:
        paragraphs.append("- [ ] " + "\n- [x] ".join(rng.choices(_OBJECTS, k=3)))
    return "\n\n".join(paragraphs)


def project_name(rng: random.Random, index: int) -> str:
    return f"{rng.choice(_OBJECTS).title()} {['v2', 'revamp', 'rollout', 'Q3', 'pilot'][index % 5]}"


_REPLIES = ["Looks good to me.", "Can we ship this behind a flag?",
            "I can reproduce this on staging.", "Blocked on the ledger migration.",
            "Moved to the next cycle.",
            "Pairing on this tomorrow morning. 👍", "Which agencies are affected?",
            "Fixed in the latest deploy, please verify."]

CYCLE_NAMES = ["Hardening", "Year-end close", "Audit readiness", "Launch"]
TEAM_LABELS = ["Area", "Backend", "Frontend", "Bug", "Feature", "Improvement", "Performance",
               "Docs"]
"""A team's labels; `Area` is a group and the parent of `Backend` and `Frontend`."""
WORKSPACE_LABELS = ["Security", "Customer request", "Regression"]


def comment_body(rng: random.Random) -> str:
    """A first line that reads as a title, sometimes with more paragraphs below it."""
    first = _pick(rng, _REPLIES)
    if rng.random() < 0.4:
        return first + "\n\n" + " ".join(rng.choices(_SENTENCES, k=1 + int(rng.random() * 3)))
    return first

"""Deterministic text and people for the GitHub sandbox: realistic, and hostile where real data is.

Every function takes a seeded ``random.Random`` so an item's content depends only on its identity.
The rare shapes (RTL, emoji, CRLF, control characters, 65,536-character bodies) are what break
importers in production, so they appear at low but non-zero rates.
"""

import random
from dataclasses import dataclass

MAX_BODY = 65_536
"""GitHub's limit on issue and pull request bodies, in characters."""


@dataclass(frozen=True)
class Person:
    login: str
    id: int
    name: str
    email: str
    type: str = "User"


GHOST = Person("ghost", 10137, "Deleted user", "ghost@users.noreply.github.com")
WEB_FLOW = Person("web-flow", 19864447, "GitHub", "noreply@github.com")
DEPENDABOT = Person("dependabot[bot]", 49699333, "dependabot[bot]",
                    "49699333+dependabot[bot]@users.noreply.github.com", "Bot")

_FIRST = ["ada", "grace", "linus", "margaret", "alan", "barbara", "ken", "radia", "guido",
          "frances", "dennis", "anita", "tim", "hedy", "yukihiro", "sophie", "edsger", "karen",
          "leslie", "shafi", "donald", "jean", "john", "katherine", "bjarne", "lynn", "niklaus",
          "mary", "andrew", "joan"]
_LAST = ["okafor", "nguyen", "garcia", "kowalski", "haddad", "tanaka", "silva", "schmidt",
         "cohen", "ivanova", "mensah", "rossi", "larsen", "kaur", "moreau", "oconnor"]
_DISPLAY = ["Zoë Ångström", "محمد علي", "李伟", "José Ñúñez", "Ιωάννα Παππά", "Đặng Thu Thảo",
            "Søren Kierkegaard-Lund", "שרה כהן", "Ólafur Ragnarsson", "Кирилл Белов"]


def people(rng: random.Random, count: int) -> list[Person]:
    """The organisation's members, the dependabot bot among them."""
    result: list[Person] = []
    seen: set[str] = set()
    while len(result) < count - 1:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        login = rng.choice([f"{first}-{last}", f"{first}{last[0]}", f"{first[0]}{last}",
                            f"{first}-{rng.randrange(10, 99)}"])
        if login in seen:
            continue
        seen.add(login)
        uid = rng.randrange(20_000, 190_000_000)
        name = (rng.choice(_DISPLAY) if rng.random() < 0.3
                else f"{first.title()} {last.title()}")
        email = (f"{uid}+{login}@users.noreply.github.com" if rng.random() < 0.4
                 else f"{login.replace('-', '.')}@acme.example")
        result.append(Person(login, uid, name, email))
    result.append(DEPENDABOT)
    return result


LABELS = [
    ("bug", "d73a4a", "Something isn't working", True),
    ("enhancement", "a2eeef", "New feature or request", True),
    ("documentation", "0075ca", "Improvements or additions to documentation", True),
    ("good first issue", "7057ff", "Good for newcomers", True),
    ("help wanted", "008672", "Extra attention is needed", True),
    ("wontfix", "ffffff", None, True),
    ("priority: high", "b60205", "Fix before the next release", False),
    ("💥 breaking", "e99695", "Breaks the public API", False),
    ("área: facturación", "c5def5", None, False),
    ("dependencies", "0366d6", "Pull requests that update a dependency file", False),
]

_VERBS = ["Fix", "Add", "Remove", "Refactor", "Document", "Improve", "Speed up", "Deprecate",
          "Handle", "Support", "Investigate", "Migrate", "Validate", "Retry", "Cache"]
_OBJECTS = ["ledger export", "invoice totals", "login redirect", "rate limiter", "CSV import",
            "audit log", "payment webhook", "report scheduler", "session timeout",
            "pagination in the API", "nightly backup", "search index", "currency rounding",
            "dark mode", "email templates", "OAuth callback", "SQL migration", "flaky test"]
_QUALIFIERS = ["", "", "", " on Safari", " for large accounts", " when the cache is cold",
               " after upgrade to v2", " in the admin panel", " under load", " (regression)",
               " for fiscal year 2024", " behind the proxy"]
_EMOJI = ["🚀", "🐛", "🔥", "✨", "👩‍💻", "🏳️‍🌈", "🇺🇦", "🧪", "⚠️", "💸"]
_UNUSUAL_TITLES = [
    "خطأ في تصدير دفتر الأستاذ عند التحميل",
    "שגיאה בטעינת הדוח החודשי",
    "修复登录页面在移动端的崩溃",
    "請求がPDFで二重に表示される",
    "Ошибка округления валюты в отчётах",
    "Zalgo t̷̢e̵͇x̸̰t̶̺ breaks the renderer",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters in the title 𝟙𝟚𝟛",  # noqa: RUF001 (astral-plane test data)
    "Mixed RTL: فاتورة #42 for client \u202egnp.exe",  # a right-to-left override
    "Title with a\ttab and trailing spaces   ",
    "Multi-line title\r\nsecond line",
    "<script>alert('xss')</script> in description field",
    "'; DROP TABLE imported_data; --",
    "Emoji only: 🎉🎉🎉",
]

_PARAGRAPHS = [
    "Steps to reproduce:\n\n1. Open the ledger\n2. Export to CSV\n3. Compare totals",
    "Expected the totals to match the UI, but they differ by a cent after rounding.",
    "```python\ntotal = sum(Decimal(x) for x in rows)\nassert total == expected\n```",
    "- [ ] write a failing test\n- [x] find the commit that introduced it\n- [ ] fix",
    "<details><summary>Stack trace</summary>\n\n```\nTraceback (most recent call last):\n"
    "  File \"app.py\", line 42, in export\nValueError: bad row\n```\n</details>",
    "This has been happening since the last deploy. cc @ada-okafor",
    "> Quoted from the support ticket: the customer sees an empty page.",
    "| column | before | after |\n|---|---|---|\n| total | 10.00 | 10.01 |",
    "Ça ne marche pas avec les montants négatifs — voir le ticket n° 1234.",
    "الرجاء التحقق من الإجمالي قبل الإرسال.",
    "顧客からの報告：エクスポートが失敗します。",  # noqa: RUF001 (real Japanese punctuation)
    "Works for me on Chrome 126, fails on Firefox ESR. 🤷",
    "<img width=\"400\" alt=\"screenshot\" src=\"https://user-images.example/1.png\">",
]

_COMMIT_SUBJECTS = ["fix(api): handle empty pages", "feat: add CSV export", "chore(deps): bump "
                    "httpx from 0.27.0 to 0.28.1", "docs: explain the sync cursor",
                    "refactor: split the ledger module", "test: cover rounding edge cases",
                    "perf: cache the report query", "ci: run tests on Python 3.11",
                    "Fix typo in README", "Update CHANGELOG.md", "WIP", "Initial commit",
                    "Corrige el cálculo de impuestos 🧾", "修复分页错误",
                    "build(docker): pin base image to debian:bookworm-slim"]


def title(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(_UNUSUAL_TITLES)
    text = f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_QUALIFIERS)}"
    if roll < 0.14:
        text = f"{text} {rng.choice(_EMOJI)}"
    elif roll < 0.15:
        text = (text + " and more ") * 12  # a long title (about 300 characters)
    return text


def body(rng: random.Random, *, size: int | None = None) -> str | None:
    """Markdown, sometimes null, CRLF or with control characters; exactly ``size`` if given."""
    roll = rng.random()
    if size is None and roll < 0.14:
        return None
    if size is None and roll < 0.16:
        return ""
    paragraphs = rng.sample(_PARAGRAPHS, rng.randint(1, 4))
    text = "\n\n".join(paragraphs)
    if roll > 0.99:
        text += "\n\nTerminal output: \x1b[31mERROR\x1b[0m bell\x07 and a form feed\x0c."
    if 0.75 < roll <= 0.9:
        text = text.replace("\n", "\r\n")  # written in a Windows browser
    if size is None and rng.random() < 0.003:
        size = rng.randint(20_000, MAX_BODY)
    if size is not None:
        filler = "\n\n".join(_PARAGRAPHS) + "\n\n"
        text = (text + "\n\n" + filler * (size // len(filler) + 1))[:size]
    return text


def commit_message(rng: random.Random, *, merge_of: tuple[int, str, str] | None = None) -> str:
    """A git message: a subject, often a body and trailers, sometimes CRLF."""
    if merge_of is not None:
        number, branch, pr_title = merge_of
        return f"Merge pull request #{number} from {branch}\n\n{pr_title}"
    subject = rng.choice(_COMMIT_SUBJECTS)
    roll = rng.random()
    if roll < 0.45:
        return subject
    lines = [subject, "", rng.choice(_PARAGRAPHS)]
    if roll < 0.6:
        lines += ["", f"Co-authored-by: {rng.choice(_DISPLAY)} <pair@acme.example>"]
    if roll < 0.65:
        lines += ["Signed-off-by: Release Bot <release-bot@acme.example>"]
    message = "\n".join(lines)
    if roll > 0.95:
        message = message.replace("\n", "\r\n")
    return message


def description(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    return rng.choice(["Core accounting services", "Public website and docs 📚",
                       "Internal tooling for finance operations", "Data pipelines → warehouse",
                       "Mobile client (iOS + Android)", "Infrastructure as code",
                       "Outils internes de l'équipe paie", "نظام الفوترة"])

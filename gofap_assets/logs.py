"""Logging set up from LOG_LEVEL / LOG_FILE, with every registered secret scrubbed from records."""

import logging
import re
import threading
import warnings
from pathlib import Path

# Dagster's warning classes (dg.BetaWarning and its siblings) are defined here; importing them
# from `dagster` itself would cost its 0.8 s start-up in commands that never run Dagster.
from dagster_shared.utils.warnings import (
    BetaWarning,
    ConfigArgumentWarning,
    PreviewWarning,
    SupersessionWarning,
)

from gofap_assets.config import ConfigError

LOGGER_NAME = "gofap"
_MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+):(?P<pw>[^@/\s]+)@", re.I)


def register_secret(value: str | None) -> None:
    """Make `redact` (and so every log line and error) hide this value from now on."""
    global _pattern
    if not value or len(value) < 4:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """The text with registered secrets and URL passwords masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(_MASK, text)
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}:{_MASK}@", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> logging.Logger:
    """Idempotently attach a stderr handler (and a file handler) to the `gofap` logger."""
    logger = get_logger()
    logger.setLevel(level)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    wanted: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            wanted.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"LOG_FILE={str(log_file)!r} cannot be written "
                              f"({exc.strerror or exc})") from None
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    for handler in wanted:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
    return logger


DAGSTER_WARNINGS = (BetaWarning, PreviewWarning, SupersessionWarning, ConfigArgumentWarning)


def quiet_dagster_warnings(log_level: str | None) -> None:
    """Keep Dagster's notices about its own APIs (the beta `backfill_policy` we chose on purpose)
    out of what operators read; LOG_LEVEL=DEBUG shows them as Python prints them."""
    if (log_level or "").strip().upper() == "DEBUG":
        return
    for category in DAGSTER_WARNINGS:
        warnings.filterwarnings("ignore", category=category)

"""One redaction of configured secret values, applied wherever text leaves a worker process.

An API that echoes the request (a 422 naming the bad header, a 5xx dumping it) would otherwise put
the key into the activity failure, Temporal's history, the stored `reason`, `docpipe status` and the
log. The boundaries that apply `scrub`: the activity interceptor (every activity error,
workers/interceptors.py), the logging filter (`install_log_filter`, every handler of the root
logger), the storage upsert (the stored `reason`) and `docpipe status`.

The values come from the environment variables that carry secrets (`SECRET_ENV`) and the passwords
inside connection URLs; `register` adds any other value (a secret fetched at start).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from workers.contract import SECRET_REF_ENV, Env

MASK = "[redacted]"
# Shorter values are not secrets worth the false positives ("1", "on", a port number).
MIN_SECRET_LEN = 6
# Variables holding a secret value, and those holding a URL whose password part is one.
SECRET_ENV: tuple[str, ...] = tuple(dict.fromkeys(SECRET_REF_ENV.values()))
URL_ENV: tuple[str, ...] = (Env.DATABASE_URL, Env.VALKEY_URL)

_lock = threading.Lock()
_values: set[str] = set()


def _forms(value: str) -> set[str]:
    """The value and the encodings it may appear in (URL-quoted in a query or a DSN)."""
    return {value, quote(value, safe=""), quote_plus(value)}


def register(*values: str | None) -> None:
    """Scrub these values from now on (each with its URL-encoded forms)."""
    with _lock:
        for value in values:
            if value and len(value) >= MIN_SECRET_LEN:
                _values.update(f for f in _forms(value) if len(f) >= MIN_SECRET_LEN)


def register_env(env: Mapping[str, str] | None = None) -> None:
    """Register every secret the environment holds (call again after secrets are fetched)."""
    e = os.environ if env is None else env
    register(*(e.get(name) for name in SECRET_ENV))
    for name in URL_ENV:
        url = e.get(name)
        if url:
            try:
                register(urlsplit(url).password)
            except ValueError:
                continue


def clear() -> None:
    """Forget every registered value (tests)."""
    with _lock:
        _values.clear()


def scrub(text: str) -> str:
    """`text` with every registered secret value replaced by [redacted] (longest first)."""
    if not text or not _values:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub_all(values: Sequence[Any]) -> list[Any]:
    return [scrub(v) if isinstance(v, str) else v for v in values]


class RedactingFilter(logging.Filter):
    """Scrubs the formatted message and any traceback of each record before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _values:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it, as without the filter
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
            record.exc_info = None  # the handler prints exc_text instead of formatting it again
        return True


def install_log_filter(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put the filter on every handler of the root logger (records of child loggers pass there)."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())

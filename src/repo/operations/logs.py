"""Logs as JSON lines (``REPO_LOG_FORMAT=json``, the default) or text, each with the request id.

Every HTTP request gets an id — the client's ``X-Request-ID`` when it is a short token, else a
fresh one — returned in the response's ``X-Request-ID`` and attached to every log line written
while the request runs (:data:`REQUEST_ID`), the access line included when ``REPO_ACCESS_LOG=true``
(``repo.access``: method, path, route template, status, duration).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
#: Attributes of a log record that are the record's own, not fields given with ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, exception."""

    def __init__(self) -> None:
        super().__init__()
        # No line shows a thread or process name: skip computing them for every record (the access
        # log writes one per request).
        logging.logThreads = False
        logging.logMultiprocessing = False

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.logThreads = False
        logging.logMultiprocessing = False

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return f"{line} [{request_id}]" if request_id else line


def config(level: str, fmt: str, access: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the process (uvicorn applies it in each of its workers).

    ``access``: a ``repo.access`` line per request. Off by default: formatting and writing it costs
    more than the rest of what the middleware does to a request (``bench/metrics_bench.py``), and a
    reverse proxy logs requests anyway; ``/metrics`` counts them.
    """
    formatter = "repo.operations.logs.JsonFormatter" if fmt == "json" else "repo.operations.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"repo": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "repo", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # uvicorn's own lines go through the root handler; its access log is ours (repo.access)
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "repo.access": {"level": "INFO" if access else "WARNING"},
            "opensearch": {"level": "WARNING"},  # a line per request to the search server otherwise
        },
    }


def configure(level: str, fmt: str, access: bool = False) -> None:
    """Configure this process's logging (``repo worker`` and other commands that run long)."""
    import logging.config

    logging.config.dictConfig(config(level, fmt, access))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
    logging.getLogger("repo").critical("uncaught exception", exc_info=(kind, value, traceback))

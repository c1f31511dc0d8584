"""Log setup: plain text for people, one JSON object per line for machines. Both carry the
same fields: a record's extra fields (ids, durations) and the request id of the call it was
written in are JSON keys, and `key=value` pairs after a text line's message."""

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The id of the call being served on this thread (set by api.interceptors), so that every
# line a call writes can be found by it.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the code that logged `record` added to it (`extra=`), with the request id."""
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}
    request_id = request_id_var.get()
    if request_id and "request_id" not in fields:
        fields["request_id"] = request_id
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...` (logfmt pairs: a value with spaces,
    quotes or `=` is quoted)."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        pairs = " ".join(f"{k}={_logfmt(v)}" for k, v in extra_fields(record).items())
        return f"{line} {pairs}" if pairs else line


def _logfmt(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text


def configure_logging(level: str, *, json_lines: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)

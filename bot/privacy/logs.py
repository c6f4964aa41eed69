"""Logs never carry secrets or customers' contact details: every log record is passed
through the log redaction rules when it is created, whichever logger, handler or
formatter later handles it (a filter on one handler would miss the others, and pytest's
capture, a file handler or a platform SDK's logger are all handlers of their own)."""

from __future__ import annotations

import logging
from typing import Any

from bot.privacy.redaction import Redactor

_active: Redactor | None = None
_previous: Any = None


def install(redactor: Redactor) -> None:
    """Redact every record from now on with ``redactor`` (the latest one installed wins;
    installing again only swaps the rules)."""
    global _active, _previous
    _active = redactor
    if _previous is None:
        _previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous(*args, **kwargs)
    if _active is not None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: let logging report it as usual
            return record
        cleaned = _active(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
    return record

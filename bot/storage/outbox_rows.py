"""An outbox row in memory, as delivery needs it, without the ORM.

The engine hands every reply it commits to the senders in memory (``Tx.queued``), and
delivery passes read pending rows; under load that is thousands of rows a second. An ORM
``OutboxItem`` costs about ten times more to make than this (its instance state and
attribute events), for objects that are only read and never written back through a
session: "sent" marks and failures are UPDATE statements by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of the ``outbox`` table (``bot.storage.models.OutboxItem``)."""

    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    message_id: int | None
    case_id: int | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


COLUMNS = tuple(OutboxRow.__dataclass_fields__)

"""Sending a customer the export of their data from their case.

A customer's access request (GDPR Art. 15) is answered with the same document the
data-protection officer's ``supportbot privacy export`` writes (``bot.privacy.export``),
sent by the agent working the case into the customer's own chat, as a file.

The rules, as docs/privacy.md states them:

- **Verified customers only.** The case must record that the customer proved who they are
  in the chat (email and order number, as for account help). A chat account alone does
  not prove who is behind it, and handing one person's data to another is itself a
  breach; so for anyone else the agent is told why, and how the team can answer the
  request another way.
- **Audited where it happens.** The export is made in the agent's transaction, so the
  audit event (``exported`` by the agent, on the case, with the record counts) is
  committed exactly when the file is queued for the customer, and never otherwise.
- **Through the outbox.** The file travels whole in the reply, so whichever process
  serves the customer's channel delivers it, after a restart too. The outbox row holds
  the copy until it is purged with the other delivered messages (``retention.logs_days``)
  or the customer is erased.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from bot.errors import HandoffError
from bot.messages import SentFile
from bot.privacy import export
from bot.storage.models import Case
from bot.storage.repository import Tx

MAX_BYTES = 20 * 1024 * 1024  # Telegram lets a bot send 50 MB; beyond this, not a chat's job
MEDIA_TYPE = "application/json"
SENT = (
    "Here is a copy of the personal data we hold about you (case #{number}), in the "
    "attached file {name}: your profile, conversations, cases, feedback and our team's "
    "notes about you. Please keep it somewhere safe."
)


class NotVerified(HandoffError):
    def __init__(self, number: int) -> None:
        super().__init__(
            f"Case #{number}: the customer's identity was not verified in the chat, so their "
            "data is not sent there (it could reach someone else). Verify them another way "
            "and have the data-protection team send it: "
            f"supportbot privacy export --case {number} --out FILE."
        )


class TooLarge(HandoffError):
    def __init__(self, number: int, size: int) -> None:
        super().__init__(
            f"Case #{number}: the export is {size // (1024 * 1024)} MB, too large for a chat. "
            f"Use supportbot privacy export --case {number} --out FILE and send it another way."
        )


@dataclass(frozen=True)
class Prepared:
    """The file for the customer, and what the agent is told."""

    file: SentFile
    records: int

    def message(self, number: int) -> str:
        return SENT.format(number=number, name=self.file.name)

    def confirmation(self, number: int) -> str:
        return (
            f"Sent the customer of case #{number} a copy of their data ({self.records} "
            f"records, {self.file.name}); recorded in the audit trail."
        )


async def prepare(
    tx: Tx, case: Case, agent: str, now: datetime, *, company: str, channel: str
) -> Prepared:
    """The export of the case's customer as a file, audited as sent by ``agent`` on the
    case to their ``channel``; refused (``HandoffError``) unless they were verified."""
    if not (case.details or {}).get("verified"):
        raise NotVerified(case.id)
    document = await export.document(tx, case.customer_id, by=agent, now=now, case=case.id,
                                     sent_to=channel)  # fmt: skip
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise TooLarge(case.id, size)
    records = sum(len(rows) for rows in document["records"].values())
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-") or "support"
    name = f"{slug}-your-data-case-{case.id}-{now:%Y-%m-%d}.json"
    return Prepared(SentFile(name, MEDIA_TYPE, text), records)

"""Export: everything stored about one customer, as one JSON document.

The tables and their rows come from the data map, so the export names every record the
erasure would touch (and the contacts and audit events about them, which it keeps);
internal notes are included and marked, since the customer has a right to see what is
recorded about them, and so are replies the bot could not confirm it delivered. A
readable transcript of their conversations closes the document.
The data-protection officer writes it to a file (``supportbot privacy export``); an agent
sends it to the customer from their case (``handoff.sharing``). Either way the export is
recorded in the audit trail, in the same transaction that read the records.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.privacy.datamap import DATA_MAP
from bot.privacy.refs import resolve
from bot.storage import privacy_queries as q
from bot.storage.repository import Repository, Tx

FORMAT = "supportbot-export/1"
INTERNAL = "internal note by our team (not shown in the chat)"
UNCERTAIN = "we could not confirm this reached you (sent twice at most, then given up)"
EARLIER_COPY = "[an earlier copy of this export, sent to you: not repeated here]"


async def export(
    repo: Repository, ref: str | None, *, by: str, now: datetime, case: int | None = None
) -> dict[str, Any]:
    """The customer's data; the export itself is recorded in the audit trail."""
    async with repo.transaction() as tx:
        customer_id = await resolve(tx, ref, case=case)
        return await document(tx, customer_id, by=by, now=now, case=case)


async def document(
    tx: Tx, customer_id: int, *, by: str, now: datetime, case: int | None = None,
    **detail: Any,
) -> dict[str, Any]:  # fmt: skip
    """The export of one customer inside the caller's transaction, audited as
    ``exported`` by ``by`` (on ``case`` when one is named; ``detail`` joins the event)."""
    where = await q.scope(tx, customer_id)
    records = {e.table: await q.rows(tx, e, where) for e in DATA_MAP if e.owner}
    q.add_audit(tx, by, "exported", now, case_id=case, customer_id=customer_id,
                records={t: len(r) for t, r in records.items() if r}, **detail)  # fmt: skip
    # Replies given up after two sends of unknown outcome (bot.delivery.DeliveryUncertain).
    uncertain = {d["message_id"] for d in records["outbox"] if d["status"] == "uncertain"}
    for message in records["messages"]:
        if message["internal"]:
            message["marked"] = INTERNAL
        if message["id"] in uncertain:
            message["delivery"] = UNCERTAIN
    for delivery in records["outbox"]:
        delivery["payload"] = _without_copies(delivery["payload"])
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "customer_id": customer_id,
        "what_we_store": {
            e.table: {"purpose": e.purpose, "personal_data": dict(e.personal)}
            for e in DATA_MAP
            if e.owner
        },
        "records": _plain(records),
        "transcript": transcript(records),
    }


def transcript(records: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One line per message, conversation by conversation, notes marked."""
    customers = records["customers"]
    name = (customers[0]["display_name"] if customers else None) or "Customer"
    lines: list[str] = []
    for conversation in records["conversations"]:
        lines.append(f"Conversation on {conversation['channel']}, started "
                     f"{conversation['started_at']:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        for m in records["messages"]:
            if m["conversation_id"] != conversation["id"]:
                continue
            who = name if m["sender"] == "customer" else m["author"] or m["sender"]
            tag = " [internal note]" if m["internal"] else ""
            tag += " [delivery uncertain]" if "delivery" in m else ""
            case = f" (case #{m['case_id']})" if m["case_id"] else ""
            lines.append(f"  {m['created_at']:%Y-%m-%d %H:%M} {who}{tag}{case}: {m['text']}")
    return lines


def _without_copies(payload: Any) -> Any:
    """An earlier export sent to the customer is in the outbox whole; it is named, not
    repeated (each export would otherwise hold all the earlier ones)."""
    extra = payload.get("extra") if isinstance(payload, dict) else None
    if not isinstance(extra, dict) or not isinstance(extra.get("file"), dict):
        return payload
    file = {**extra["file"], "text": EARLIER_COPY}
    return {**payload, "extra": {**extra, "file": file}}


def _plain(value: Any) -> Any:
    """Rows as JSON: datetimes in ISO 8601, everything else as stored."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value

"""What agents see of a case: the card posted when it opens, and the long view."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

from bot.storage.models import Case, CaseEvent, MessageRecord

REASONS = {
    "legal": "legal or regulatory matter",
    "requested": "customer asked for a person",
    "failed_resolution": "bot could not resolve it",
    "no_answer": "no confident answer in the knowledge base",
    "verification_failed": "identity verification failed",
    "beyond_authority": "needs a decision beyond the bot's authority",
    "complaint": "complaint",
    "privacy_request": "data-protection request (a copy or erasure of their data)",
}


def _details(case: Case) -> dict[str, Any]:
    return case.details or {}


def status_notice(case: Case) -> dict[str, Any]:
    """A status change's notice (its ``extra``), with the case's status and agent: a desk
    that remembers the case's card or topic updates it from these, reading nothing."""
    return {"kind": "case_status", "case": case.id, "status": case.status,
            "agent": case.assigned_agent}  # fmt: skip


def carried_status(extra: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(status, agent) from a ``status_notice``; None from a notice that does not carry
    them (a reopening, the flood warning), whose desk must read the case instead."""
    if extra.get("kind") != "case_status" or "status" not in extra or "agent" not in extra:
        return None
    agent = extra["agent"]
    return str(extra["status"]), agent if isinstance(agent, str) else None


def card_fields(case: Case) -> dict[str, Any]:
    """The card as data, for desks that render it themselves (and escape it their way)."""
    d = _details(case)
    return {
        "number": case.id,
        "priority": case.priority,
        "category": case.category,
        "reason": case.reason,
        "reason_text": REASONS.get(case.reason, case.reason),
        "group": case.group,
        "customer": d.get("customer"),
        "verified": bool(d.get("verified")),
        "email": d.get("email"),
        "summary": case.summary,
        "articles_tried": list(d.get("articles_tried") or []),
        "transcript": [list(line) for line in (d.get("transcript") or [])][-6:],
    }


def case_card(case: Case) -> str:
    """The notice that opens a case on the desk: enough to act without asking again."""
    d = _details(case)
    verified = "verified" if d.get("verified") else "not verified"
    email = f" ({d['email']})" if d.get("email") else ""
    tried = ", ".join(d.get("articles_tried") or []) or "none"
    lines = [
        f"New case #{case.id} [{case.priority}] {case.category}",
        f"Customer: {d.get('customer') or 'unknown'} · identity {verified}{email}",
        f"Reason: {REASONS.get(case.reason, case.reason)}",
        f"Question: {case.summary}",
        f"Articles tried: {tried}",
    ]
    transcript = d.get("transcript") or []
    if transcript:
        lines.append("Recent transcript:")
        lines += [f"  {who}: {_short(text)}" for who, text in transcript[-6:]]
    lines.append(f"Claim it with: supportbot cases claim {case.id} --agent NAME")
    return "\n".join(lines)


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def case_view(
    case: Case, messages: list[MessageRecord], events: list[CaseEvent], zone: tzinfo = UTC
) -> str:
    """``cases show``: the card, the full case transcript (notes marked) and the audit
    trail, with times in the company's time zone."""
    status = f"Status: {case.status} · {case.assigned_agent or 'unclaimed'} · group {case.group}"
    if case.first_response_due_at is not None and case.first_response_at is None:
        due = case.first_response_due_at.astimezone(zone)
        status += f" · first response due {due:%a %H:%M %Z}"
    out = [case_card(case).rsplit("\n", 1)[0], status, "", "Transcript:"]
    for m in messages:
        who = m.author or m.sender
        tag = " [internal note]" if m.internal else ""
        out.append(f"  {m.created_at.astimezone(zone):%Y-%m-%d %H:%M} {who}{tag}: {m.text}")
    out += ["", "Events:"]
    out += [f"  {e.at.astimezone(zone):%Y-%m-%d %H:%M:%S} {e.actor} {e.kind}" for e in events]
    return "\n".join(out)

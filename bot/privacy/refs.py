"""Naming a customer on the command line: ``telegram:123``, ``slack:U123``, ``local:anna``,
an email address, or a customer id (``42`` or ``customer:42``)."""

from __future__ import annotations

from bot.errors import SupportBotError
from bot.storage import privacy_queries as q
from bot.storage.repository import Tx


class NoSuchCustomer(SupportBotError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"No customer matches {ref!r} (use channel:user such as telegram:123, "
            "an email address, or a customer id). An erased customer is found by id only."
        )


async def resolve(tx: Tx, ref: str | None = None, *, case: int | None = None) -> int:
    """The customer id for a reference or a case number; NoSuchCustomer otherwise."""
    if case is not None:
        found = await q.customer_of_case(tx, case)
        if found is None:
            raise NoSuchCustomer(f"case #{case}")
        return found
    if not ref or not ref.strip():
        raise NoSuchCustomer("")
    found = await q.find_customer(tx, ref)
    if found is None:
        raise NoSuchCustomer(ref)
    return found

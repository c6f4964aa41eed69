"""Identity checks before account or billing help.

The dialogue checks the formats; a ``Verifier`` decides whether an email and an order
number belong together. Deployments plug in their order system by implementing the
protocol; the bundled ``OrdersFileVerifier`` reads a CSV export (email,order_number,name).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.errors import ConfigError


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    customer_name: str | None = None


class Verifier(Protocol):
    async def verify(self, email: str, order_number: str) -> VerificationResult: ...


def _order_key(order_number: str) -> str:
    return order_number.strip().lstrip("#").replace("-", "").upper()


class OrdersFileVerifier:
    """Accepts an email and order number that appear together in a CSV file."""

    def __init__(self, path: Path) -> None:
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise ConfigError(f"verification.orders_file {path}: {exc.strerror}") from None
        if rows and not {"email", "order_number"} <= set(rows[0]):
            msg = f"verification.orders_file {path}: needs columns email,order_number[,name]"
            raise ConfigError(msg)
        self._orders = {
            (row["email"].strip().lower(), _order_key(row["order_number"])): (
                row.get("name") or None
            )
            for row in rows
        }

    async def verify(self, email: str, order_number: str) -> VerificationResult:
        key = (email.strip().lower(), _order_key(order_number))
        if key in self._orders:
            return VerificationResult(ok=True, customer_name=self._orders[key])
        return VerificationResult(ok=False)


class AcceptWellFormed:
    """For deployments without an order system: well-formed details are accepted."""

    async def verify(self, email: str, order_number: str) -> VerificationResult:
        return VerificationResult(ok=True)


def build_verifier(orders_file: Path | None) -> Verifier:
    return OrdersFileVerifier(orders_file) if orders_file else AcceptWellFormed()

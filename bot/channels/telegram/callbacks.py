"""Inline-button data the server can trust.

Telegram hands ``callback_data`` back exactly as a client sends it, and a client can send
any data for any message it can see, so the data is never trusted as-is: every button
carries an HMAC over (scope, chat, body), keyed by a key derived from the bot token. A
tap is accepted only if the signature matches for the chat it arrived from and the scope
of the router that reads it, so a customer's "yes" cannot be replayed in another chat
and nobody can mint a "claim case 7" button. (Whoever taps a valid desk button must
still be an agent; that is checked separately, on every tap.)

Telegram allows 64 bytes of data. A quick reply's payload is carried in the button when
it fits; a longer one (a "choice:" of a long article id) is carried as a digest and
looked up among the payloads the bot last offered in that chat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_BYTES = 64
_SIG_CHARS = 12  # 72 bits of HMAC-SHA256, base64url
_DIRECT, _DIGEST = "=", "#"
CUSTOMER, DESK = "c", "d"  # scopes


@dataclass(frozen=True)
class Tapped:
    """A verified customer tap: the payload itself, or the digest of a long one."""

    payload: str | None = None
    digest: str | None = None


class CallbackSigner:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"supportbot/callback-data/v1", "sha256").digest()

    def _mac(self, scope: str, chat_id: int, body: str) -> str:
        message = f"{scope}\x00{chat_id}\x00{body}".encode()
        raw = hmac.new(self._key, message, "sha256").digest()
        return base64.urlsafe_b64encode(raw).decode()[:_SIG_CHARS]

    def sign(self, scope: str, chat_id: int, body: str) -> str:
        data = f"{body}.{self._mac(scope, chat_id, body)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data longer than {MAX_BYTES} bytes")
        return data

    def verify(self, scope: str, chat_id: int, data: str | None) -> str | None:
        """The body if the data was signed by us for this scope and chat, else None."""
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        body, dot, signature = data.rpartition(".")
        if not dot or not body:
            return None
        if not hmac.compare_digest(signature.encode(), self._mac(scope, chat_id, body).encode()):
            return None
        return body

    # customers' quick replies ------------------------------------------------

    def quick_reply(self, chat_id: int, payload: str) -> str:
        direct = _DIRECT + payload
        if len(direct.encode()) + 1 + _SIG_CHARS <= MAX_BYTES:
            return self.sign(CUSTOMER, chat_id, direct)
        return self.sign(CUSTOMER, chat_id, _DIGEST + payload_digest(payload))

    def tapped(self, chat_id: int, data: str | None) -> Tapped | None:
        body = self.verify(CUSTOMER, chat_id, data)
        if body is None:
            return None
        if body.startswith(_DIRECT):
            return Tapped(payload=body[1:])
        if body.startswith(_DIGEST):
            return Tapped(digest=body[1:])
        return None

    # the desk's case buttons ---------------------------------------------------

    def case_action(self, chat_id: int, action: str, number: int) -> str:
        return self.sign(DESK, chat_id, f"{action}:{number}")

    def case_tapped(self, chat_id: int, data: str | None) -> tuple[str, int] | None:
        body = self.verify(DESK, chat_id, data)
        if body is None:
            return None
        action, _, number = body.partition(":")
        return (action, int(number)) if number.isdigit() else None


def payload_digest(payload: str) -> str:
    raw = hashlib.sha256(payload.encode()).digest()
    return base64.urlsafe_b64encode(raw).decode()[:16]

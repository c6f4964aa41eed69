"""Telegram settings, read from ``TELEGRAM_*`` environment variables only.

The token is a secret: it is held as ``SecretStr`` (so it never shows up in a repr or a
log line) and is never accepted from the settings file. Webhook mode is fail-closed:
without a secret token anyone who finds the URL could post forged updates, so start-up
refuses it (aiogram itself would accept every request when no secret is configured).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

OFFICIAL_API = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts


class TelegramSettings(BaseSettings):
    """Everything the Telegram channel needs besides the shared settings."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", extra="ignore", frozen=True)

    bot_token: SecretStr
    agents_chat_id: int | None = None  # the agents' forum supergroup (desk=telegram)
    api_url: str = OFFICIAL_API  # a local Bot API server, or a fake one in tests
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None  # public HTTPS URL Telegram posts updates to
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8080, ge=0, le=65535)  # 0: any free port
    webhook_path: str = "/telegram/webhook"
    # Telegram sends this many webhook requests at once; 1 keeps each chat in order.
    webhook_max_connections: int = Field(1, ge=1, le=100)
    polling_timeout: int = Field(25, ge=0, le=50)  # seconds a getUpdates call may wait
    # Seconds a Bot API call may take; after that its outcome counts as unknown and the
    # message is tried once more at most (bot.delivery.DeliveryUncertain).
    request_timeout: float = Field(60.0, gt=0, le=300)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must look like 123456:ABC-def (the token BotFather gave you)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()

    def check_for(self, desk: str, mode: Literal["polling", "webhook"]) -> None:
        """What a given desk and mode require beyond the basics; one clear line if missing."""
        if desk == "telegram" and self.agents_chat_id is None:
            raise ConfigError(
                "invalid setting TELEGRAM_AGENTS_CHAT_ID: required when the desk is telegram "
                "(the id of the agents' forum supergroup, e.g. -1001234567890)"
            )
        if mode == "webhook":
            if self.webhook_secret is None:
                raise ConfigError(
                    "invalid setting TELEGRAM_WEBHOOK_SECRET: webhook mode refuses to start "
                    "without a secret token"
                )
            if not self.webhook_url or not self.webhook_url.startswith("https://"):
                raise ConfigError(
                    "invalid setting TELEGRAM_WEBHOOK_URL: webhook mode needs the public "
                    "https:// URL Telegram should post updates to"
                )


def load_telegram_settings(**overrides: object) -> TelegramSettings:
    """Read the environment; a missing or bad value becomes one ``ConfigError`` line."""
    try:
        return TelegramSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        problem = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid setting TELEGRAM_{field.upper()}: {problem}") from None

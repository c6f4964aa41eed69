"""Slack settings from the environment (secrets are never read from a file or logged).

``SLACK_BOT_TOKEN`` (xoxb-…), ``SLACK_SIGNING_SECRET`` (HTTP mode), ``SLACK_AGENTS_CHANNEL``
(a channel ID such as C0123ABCD; needed when the desk is Slack), ``SLACK_API_URL`` (the Web
API base URL, to point the bot at a proxy or a test double) and ``SLACK_APP_TOKEN``
(xapp-…, switches to Socket Mode). A bad value stops start-up with one line naming the
variable, never its value.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="ignore", frozen=True)

    bot_token: SecretStr
    signing_secret: SecretStr | None = None
    agents_channel: str | None = None
    api_url: str = "https://slack.com/api/"
    app_token: SecretStr | None = None
    # Not environment knobs in practice, but settable for tests and unusual workspaces.
    seconds_per_message: float = Field(1.0, ge=0, le=60)
    ack_budget_seconds: float = Field(2.0, gt=0, le=2.8)
    # Events in progress at once; past it Slack is answered 503 and retries later (acks.py).
    max_events_in_progress: int = Field(1000, ge=1)
    # Seconds a Web API call may take (slack_sdk's own default); after that its outcome
    # counts as unknown and the message is tried once more at most.
    request_timeout: int = Field(30, ge=1, le=300)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (it starts with xoxb-)")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (it starts with xapp-)")
        return value

    @field_validator("agents_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return channel_id(value)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def channel_id(value: str) -> str:
    """A channel ID (the agents' channel, a routing group's ``desk_target``), or ValueError."""
    if not CHANNEL_ID.match(value.strip()):
        raise ValueError(
            "must be a channel ID like C0123ABCD (channel details > About), not its name"
        )
    return value.strip()


def load_slack_settings(*, desk: str, **overrides: object) -> SlackSettings:
    """Read and check the settings; raise ``ConfigError`` naming the variable at fault."""
    try:
        slack = SlackSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = "SLACK_" + "_".join(str(part) for part in first["loc"]).upper()
        problem = "is not set" if first["type"] == "missing" else first["msg"]
        problem = problem.removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {variable}: {problem}") from None
    if slack.signing_secret is None and not slack.socket_mode:
        raise ConfigError("invalid setting SLACK_SIGNING_SECRET: is not set (needed in HTTP mode)")
    if desk == "slack" and slack.agents_channel is None:
        raise ConfigError(
            "invalid setting SLACK_AGENTS_CHANNEL: is not set (needed when the desk is slack)"
        )
    return slack

"""Settings: defaults, the file in config/, environment overrides, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from tests.conftest import REPO


def test_the_shipped_settings_file_loads_and_matches_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    loaded = load_settings()
    defaults = Settings()
    assert loaded.company == defaults.company
    assert loaded.categories == defaults.categories
    assert loaded.answers == defaults.answers
    assert loaded.sla == defaults.sla
    assert loaded.timing == defaults.timing
    assert loaded.hours == defaults.hours
    assert loaded.routing == defaults.routing
    assert loaded.feedback == defaults.feedback
    assert loaded.targets == defaults.targets
    assert loaded.verification.orders_file == Path("config/sample_orders.csv")


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text('[company]\nname = "Globex"\n[sla]\nfirst_response_minutes = 30\n')
    monkeypatch.setenv("SUPPORTBOT_SLA__FIRST_RESPONSE_MINUTES", "15")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", "sqlite+aiosqlite:///elsewhere.db")
    settings = load_settings(file)
    assert settings.company.name == "Globex"
    assert settings.sla.first_response_minutes == 15
    assert settings.database_url == "sqlite+aiosqlite:///elsewhere.db"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[escalation]\nfailed_answers = 0\n", "invalid setting escalation.failed_answers: "),
        ('[company]\ngreeting = "Hi {nme}"\n', "invalid setting company.greeting: unknown"),
        ('database_url = "mysql://x"\n', "invalid setting database_url: must start with"),
        ("[answers]\nanswer_threshold = 40\n", "clarify_threshold must not be above"),
        ('[categories]\nverification_required = ["money"]\n', "unknown category 'money'"),
        ("colour = 'blue'\n", "invalid setting colour: Extra inputs are not permitted"),
        ("[sla\n", "settings file"),
        ('[hours]\ntimezone = "Mars/Olympus"\n', "hours.timezone: unknown time zone"),
        ('[hours.week]\nmon = ["17:00-09:00"]\n', "is not a span like 09:00-17:00"),
        ('kb_ranker = "magic"\n', "invalid setting kb_ranker: Input should be 'default' or"),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_the_key(
    tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_TIMING__IDLE_TIMEOUT_MINUTES", "soon")
    with pytest.raises(ConfigError, match=r"timing\.idle_timeout_minutes"):
        load_settings(REPO / "config" / "settings.toml")


def test_a_missing_settings_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")

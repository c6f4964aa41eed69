"""What a local-only bot on SQLite keeps out of memory (issue 10's idle target).

Each test runs a bot in a fresh interpreter and checks what it loaded: a library
imported by accident costs megabytes and shows in no other test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bot.storage.models import Case, with_postgresql_options

ROOT = Path(__file__).resolve().parents[2]


def run_a_bot(tmp_path: Path, after: str) -> str:
    """Start a bot on a migrated SQLite file, answer one message, print ``after``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    migrate = [sys.executable, "-m", "bot.cli", "db", "upgrade"]
    env_url = {"SUPPORTBOT_DATABASE_URL": url}
    subprocess.run(migrate, env={**_env(), **env_url}, capture_output=True, check=True, cwd=ROOT)
    probe = (
        "import asyncio, sys\n"
        "from bot.app import running_app\n"
        "from bot.messages import Message\n"
        "from bot.settings import Settings\n"
        "class Sink:\n"
        "    async def send(self, address, reply): pass\n"
        "async def main():\n"
        f"    s = Settings(database_url={url!r})\n"
        "    async with running_app(s, senders={'local': Sink()}) as app:\n"
        "        await app.engine.handle_message(Message('local', 'c', 'u', 'where is my order'))\n"
        "asyncio.run(main())\n"
        f"{after}\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True, cwd=ROOT, env=_env())  # fmt: skip
    return done.stdout.strip()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}


def test_a_bot_on_sqlite_does_not_load_the_postgresql_dialect(tmp_path: Path) -> None:
    """SQLAlchemy's PostgreSQL dialect and its drivers cost 2.7 MB; a model option
    (``postgresql_where``) or a module-level import is enough to load them."""
    loaded = run_a_bot(tmp_path, "print(sorted(m for m in sys.modules if 'postgres' in m))")

    assert loaded == "[]"


def test_the_partial_index_keeps_its_postgresql_where_once_asked_for() -> None:
    """The option left out of the models for SQLite's sake is there for PostgreSQL."""
    with_postgresql_options()
    with_postgresql_options()  # idempotent
    (index,) = [i for i in Case.__table__.indexes if i.name.startswith("uq_cases_one_open")]

    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))

    assert ddl.endswith("(conversation_id) WHERE status IN ('open', 'assigned')")


def test_the_command_line_loads_rich_only_for_the_commands_that_draw_tables() -> None:
    """rich costs about 3 MB in every ``supportbot chat``, ``serve`` and ``worker``
    process, which print no table; ``report``, ``audit``, ``cases`` and the like import
    it when they draw one."""
    probe = "import sys, bot.cli; print(sorted(m for m in sys.modules if m.startswith('rich')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True, cwd=ROOT, env=_env())  # fmt: skip

    assert done.stdout.strip() == "[]"

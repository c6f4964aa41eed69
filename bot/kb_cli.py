"""``supportbot kb``: the knowledge-base editors' commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.app import load_kb
from bot.errors import SupportBotError

kb_app = typer.Typer(help="Search and check the knowledge base.", no_args_is_help=True)


@kb_app.command("search")
def kb_search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What a customer might ask.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    kb: Annotated[Path | None, typer.Option(help="Article folder (default: settings).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Show the ranked matches for a query and what the bot would decide."""
    from bot.cli import settings_from

    settings = settings_from(ctx)
    if kb is not None:
        settings = settings.model_copy(update={"kb_path": kb})
    try:
        knowledge = load_kb(settings)
    except SupportBotError as exc:
        typer.echo(f"supportbot: {exc}", err=True)
        raise typer.Exit(1) from None
    result = knowledge.search(query, limit=limit)
    if as_json:
        typer.echo(json.dumps({
            "query": query,
            "decision": result.decision.value,
            "matches": [
                {"id": m.article.id, "title": m.article.title, "score": round(m.score, 1),
                 "phrasing": m.phrasing}
                for m in result.matches
            ],
        }, ensure_ascii=False))  # fmt: skip
        return
    typer.echo(f"Decision: {result.decision.value}")
    for rank, m in enumerate(result.matches, 1):
        typer.echo(f"{rank}. {m.score:5.1f}  {m.article.id}  {m.article.title}")
        typer.echo(f"          matched: {m.phrasing}")
    if not result.matches:
        typer.echo("No article matched.")

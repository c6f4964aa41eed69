"""``supportbot kb``: the knowledge-base editors' commands.

Editors work on article files in git; these commands check them (``validate``, fit
for CI), show what the matcher makes of a question (``search``, with ``--explain``
and ``--batch``), and report from the bot's own records what customers asked that
the articles did not answer (``gaps``) and how each article fares (``stats``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.app import load_kb, open_repository
from bot.durations import parse_duration
from bot.errors import SupportBotError
from bot.settings import Settings
from knowledge_base import SAMPLE_DIR, KnowledgeBase, SearchResult
from knowledge_base.articles import CATEGORIES, Article

kb_app = typer.Typer(help="Check, search and improve the knowledge base.", no_args_is_help=True)
KbOption = Annotated[Path | None, typer.Option("--kb", help="Article folder (default: settings).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
SinceOption = Annotated[str, typer.Option(help="How far back: e.g. 12h, 30d, 8w.")]


def _settings(ctx: typer.Context, kb: Path | None = None) -> Settings:
    from bot.cli import settings_from

    settings = settings_from(ctx)
    return settings if kb is None else settings.model_copy(update={"kb_path": kb})


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"supportbot: {message}", err=True)
    return typer.Exit(code)


def _load(settings: Settings) -> KnowledgeBase:
    try:
        return load_kb(settings)
    except SupportBotError as exc:
        raise _fail(str(exc)) from None


def _since(text: str) -> datetime:
    delta = parse_duration(text, ("h", "d", "w"))
    try:
        if delta is not None:
            return datetime.now(UTC) - delta
    except OverflowError:  # before the year 1
        pass
    raise _fail(f"--since {text!r}: use a number and h, d or w, e.g. 30d", 2)


def _result_json(result: SearchResult) -> dict[str, Any]:
    return {
        "query": result.query,
        "decision": result.decision.value,
        "matches": [
            {"id": m.article.id, "title": m.article.title, "score": round(m.score, 1),
             "phrasing": m.phrasing}
            for m in result.matches
        ],
    }  # fmt: skip


@kb_app.command("validate")
def kb_validate(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="Article folder (default: settings).")
    ] = None,
) -> None:
    """Check every article and synonyms.yaml; exit 1 if anything must be fixed."""
    from knowledge_base.validate import validate

    folder = directory or _settings(ctx).kb_path or SAMPLE_DIR
    try:
        problems = validate(folder, CATEGORIES)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise _fail(str(exc)) from None
    errors = sum(p.severity == "error" for p in problems)
    for problem in problems:
        typer.echo(f"{problem.severity:<7} {problem}")
    articles = len(list(folder.glob("*.md")))
    typer.echo(f"{articles} article files: {errors} errors, {len(problems) - errors} warnings.")
    if errors:
        raise typer.Exit(1)


@kb_app.command("search")
def kb_search(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="What a customer might ask.")] = None,
    as_json: JsonOption = False,
    kb: KbOption = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show why.")] = False,
    batch: Annotated[
        bool, typer.Option("--batch", help="One query per stdin line -> JSON lines.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Show the ranked matches for a query and what the bot would decide."""
    if batch == (query is not None):
        raise _fail("give a QUERY, or --batch with queries on standard input", 2)
    knowledge = _load(_settings(ctx, kb))
    if batch:
        write = sys.stdout.write
        for line in sys.stdin:
            text = line.rstrip("\r\n")
            if text.strip():
                result = knowledge.search(text, limit=limit)
                write(json.dumps(_result_json(result), ensure_ascii=False) + "\n")
        return
    assert query is not None
    if explain:
        from knowledge_base.explain import explain as why
        from knowledge_base.explain import explanation_lines

        report = why(knowledge, query, limit)
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False))
        else:
            typer.echo("\n".join(explanation_lines(report)))
        return
    result = knowledge.search(query, limit=limit)
    if as_json:
        typer.echo(json.dumps(_result_json(result), ensure_ascii=False))
        return
    typer.echo(f"Decision: {result.decision.value}")
    for rank, m in enumerate(result.matches, 1):
        typer.echo(f"{rank}. {m.score:5.1f}  {m.article.id}  {m.article.title}")
        typer.echo(f"          matched: {m.phrasing}")
    if not result.matches:
        typer.echo("No article matched.")


@kb_app.command("gaps")
def kb_gaps(
    ctx: typer.Context,
    since: SinceOption = "30d",
    limit: Annotated[int, typer.Option(min=1, help="Groups to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Questions the bot could not answer, or whose answer was rejected, grouped."""
    from bot.cli import run
    from bot.storage.kb_reports import unhelped_questions
    from knowledge_base.clusters import group_questions

    settings, start = _settings(ctx), _since(since)

    async def fetch() -> list[Any]:
        repo = await open_repository(settings)
        try:
            async with repo.transaction() as tx:
                return list(await unhelped_questions(tx.session, start))
        finally:
            await repo.close()

    rows = run(fetch())
    outcomes: dict[str, list[str]] = {}
    for row in rows:
        outcomes.setdefault(row.query.strip(), []).append(row.outcome)
    groups = group_questions([row.query for row in rows])[:limit]
    found = []
    for g in groups:
        kinds = [o for q in g.questions for o in outcomes.get(q, [])]
        found.append(
            {
                "count": g.count,
                "example": g.example,
                "questions": g.questions,
                "unanswered": kinds.count("unanswered"),
                "rejected": kinds.count("rejected"),
            }
        )
    if as_json:
        typer.echo(json.dumps({"since": start.isoformat(), "groups": found}, ensure_ascii=False))
        return
    if not found:
        typer.echo(f"No unanswered or rejected questions since {start:%Y-%m-%d %H:%M} UTC.")
        return
    typer.echo(f"{len(rows)} unanswered or rejected questions since {start:%Y-%m-%d %H:%M} UTC:")
    for group in found:
        detail = f"{group['unanswered']} unanswered, {group['rejected']} rejected"
        typer.echo(f"{group['count']:5}  {group['example']}  ({detail})")


@kb_app.command("stats")
def kb_stats(ctx: typer.Context, since: SinceOption = "30d", as_json: JsonOption = False) -> None:
    """Per article: times suggested, accepted, rejected, and cases escalated after it."""
    from bot.cli import run
    from bot.storage.kb_reports import ArticleUse, article_use

    settings, start = _settings(ctx), _since(since)

    async def fetch() -> list[ArticleUse]:
        repo = await open_repository(settings)
        try:
            async with repo.transaction() as tx:
                return await article_use(tx.session, start)
        finally:
            await repo.close()

    uses = run(fetch())
    if as_json:
        typer.echo(json.dumps([u.__dict__ for u in uses]))
        return
    if not uses:
        typer.echo(f"No article was used since {start:%Y-%m-%d %H:%M} UTC.")
        return
    width = max(len("article"), *(len(u.article_id) for u in uses))
    typer.echo(f"{'article':<{width}}  suggested  accepted  rejected  escalated after")
    for u in uses:
        typer.echo(
            f"{u.article_id:<{width}}  {u.suggested:9}  {u.accepted:8}  {u.rejected:8}  "
            f"{u.escalated_after:15}"
        )


@kb_app.command("import")
def kb_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="CSV with question, answer, category columns.")],
    kb: KbOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing article files.")] = False,
) -> None:
    """Turn FAQ rows into article files (rows with the same answer become one article)."""
    from knowledge_base.importer import import_csv

    folder = kb or _settings(ctx).kb_path
    if folder is None:
        raise _fail("no article folder: pass --kb DIR or set kb_path in the settings", 2)
    result = import_csv(source, folder, CATEGORIES, overwrite=overwrite)
    for error in result.errors:
        typer.echo(f"error   {error}", err=True)
    if result.errors:
        raise _fail(f"nothing imported: {len(result.errors)} problem(s) in {source}")
    typer.echo(f"Wrote {len(result.written)} articles to {folder}.")


@kb_app.command("tune")
def kb_tune(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="Article folder (default: settings).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where the model goes (default: settings' kb_model).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, max=50, help="Passes over the articles.")] = 3,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Measure first: tune without each article's last question, rank those "
            "questions before and after; nothing is written.",
        ),
    ] = False,
) -> None:
    """Adapt the semantic ranker's sentence model to the articles' questions.

    Minutes of CPU, run when articles changed much (not on every edit); the bot with
    kb_ranker = "semantic" uses the result from its next start.
    """
    from knowledge_base import tuning
    from knowledge_base.semantic import MiniLM, load_base_model

    settings = _settings(ctx, directory)
    target = out or settings.kb_model
    kb = _load(settings.model_copy(update={"kb_ranker": "default"}))
    articles, held = tuning.hold_out(kb.articles) if check else (list(kb.articles), [])
    try:  # everything that can fail fails now, not after minutes of tuning
        if check and not held:
            raise tuning.TuningError("--check needs articles with three or more questions")
        phrasings = tuning.check(articles)
        if not check:
            tuning.prepare_folder(target)
        model = load_base_model()
    except tuning.TuningError as exc:
        raise _fail(f"cannot tune: {exc}") from None
    except OSError as exc:
        raise _fail(f"cannot write the tuned model to {target}: {exc}") from None
    except ImportError as exc:
        raise _fail(f"cannot tune: {exc}", 2) from None
    if check:
        before = _held_out_figures(kb, articles, held, MiniLM(model))
    typer.echo(
        f"Tuning the sentence model on {len(articles)} articles ({phrasings} phrasings), "
        f"{epochs} epoch{'s' if epochs > 1 else ''}."
    )
    with _progress() as bar:
        task = bar.add_task("tuning", total=None)
        manifest = tuning.tune(
            model,
            articles,
            epochs=epochs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if check:
        after = _held_out_figures(kb, articles, held, MiniLM(model, manifest))
        typer.echo(f"{len(held)} questions held out, one per article with three or more:")
        typer.echo(f"  packaged model: {before}")
        typer.echo(f"  tuned model:    {after}")
        typer.echo("Nothing was written; run without --check to tune on every question.")
        return
    try:
        tuning.save(model, manifest, target)
    except OSError as exc:
        raise _fail(f"cannot write the tuned model to {target}: {exc}") from None
    typer.echo(f"Tuned in {manifest.seconds:.0f} s; written to {target}.")
    needs = [] if settings.kb_ranker == "semantic" else ['kb_ranker = "semantic"']
    if target != settings.kb_model:
        needs.append(f'kb_model = "{target}"')
    if needs:
        typer.echo(f"The bot uses it with {' and '.join(needs)} in the settings.")
    typer.echo("A running bot uses it from its next start.")


def _held_out_figures(
    kb: KnowledgeBase, articles: list[Article], held: list[tuple[str, str]], model: Any
) -> str:
    """How the held-out questions fare against the articles without them."""
    from knowledge_base import Decision

    trial = KnowledgeBase(articles, kb.thresholds, synonyms=kb.synonyms, semantic=model)
    first = answered = 0
    for question, article_id in held:
        ranked = trial.rank(question, limit=1)
        first += bool(ranked) and trial.articles[ranked[0].candidate.article].id == article_id
        result = trial.search(question)
        answered += (
            result.decision is Decision.ANSWER and result.matches[0].article.id == article_id
        )
    n = len(held)
    return f"{first / n:.0%} ranked first, {answered / n:.0%} answered right"


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    )

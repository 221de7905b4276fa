"""The `govchat` command (CLI contract in ARCHITECTURE.md: admins, scripts and evals rely on it)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from serving.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="govchat — 鄂汇办 AI 政务助手")


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # bm25s sets its own logger to DEBUG; keep it at our level.
    for noisy in ("bm25s", "jieba", "chromadb", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _services(**kwargs: Any) -> Any:
    from serving.services import build_services

    settings = Settings()
    _setup_logging(settings)
    return build_services(settings, **kwargs)


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="load the sample knowledge base")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Add or replace documents (idempotent by content hash)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from retrieval.factory import SAMPLE_KB_DIR
    from retrieval.knowledge_base import expand_paths

    targets = list(paths or [])
    if sample:
        targets.append(SAMPLE_KB_DIR)
    if not targets:
        raise typer.BadParameter("give PATH... or --sample")
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        typer.echo(f"错误：找不到文件或目录 / not found: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    services = _services()
    files = expand_paths(targets)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=_stderr_console(),
        transient=as_json,
    ) as bar:
        task = bar.add_task("", total=len(files))

        def progress(path: str, outcome: str) -> None:
            bar.update(task, advance=1, description=f"{Path(path).name}: {outcome}")

        report = services.kb.ingest_paths(files, progress=progress)
    if as_json:
        _emit(report.to_json())
    else:
        typer.echo(
            f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
            f"failed {len(report.failed)}, chunks {report.chunks}"
        )
        for path, err in report.failed:
            typer.echo(f"  failed: {path}: {err}", err=True)
    services.close()
    if report.failed and not (report.added or report.replaced or report.unchanged):
        raise typer.Exit(1)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="question; omit with --jsonl")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="one query per stdin line")] = False,
    region: Annotated[str | None, typer.Option()] = None,
    doc_type: Annotated[str | None, typer.Option("--doc-type")] = None,
    audience: Annotated[str | None, typer.Option()] = None,
    include_retired: Annotated[bool, typer.Option("--include-retired")] = False,
) -> None:
    """Retrieval only: ranked passages with doc id, title, section, snippet, score, source."""
    from retrieval.types import SearchFilters

    if not jsonl and not query:
        raise typer.BadParameter("give a QUERY or --jsonl")
    services = _services()
    filters = SearchFilters(
        region=region, doc_type=doc_type, audience=audience, include_retired=include_retired
    )

    def run(q: str) -> dict[str, Any]:
        result = services.kb.search(q, k=k, filters=filters)
        return {
            "query": q,
            "has_evidence": result.has_evidence,
            "hits": [h.to_json() for h in result.hits],
            "timings_ms": {key: round(v, 2) for key, v in result.timings_ms.items()},
        }

    if jsonl:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            q = _query_from_line(line, "query")
            _emit(run(q) if q else {"error": "empty query", "input": line})
    else:
        assert query is not None
        out = run(query)
        if as_json:
            _emit(out)
        else:
            if not out["has_evidence"]:
                typer.echo("（知识库中没有足够相关的内容）")
            for i, h in enumerate(out["hits"], 1):
                typer.echo(f"[{i}] {h['title']} · {h['section']}  ({h['doc_id']}, rel {h['relevance']})")
                typer.echo(f"    {h['snippet']}")
    services.close()


def _query_from_line(line: str, key: str) -> str:
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return line
        if isinstance(obj, dict):
            return str(obj.get(key) or obj.get("question") or obj.get("query") or "").strip()
    return line


@app.command()
def docs(
    action: Annotated[str, typer.Argument(help="list | delete | retire")] = "list",
    doc_id: Annotated[str | None, typer.Argument()] = None,
) -> None:
    """List, delete or retire knowledge-base documents."""
    services = _services()
    kb = services.kb
    if action == "list":
        for d in kb.documents():
            _emit({k: v for k, v in d.to_json().items() if k != "metadata"})
    elif action in ("delete", "retire") and doc_id:
        ok = kb.delete(doc_id) if action == "delete" else kb.retire(doc_id)
        if not ok:
            typer.echo(f"no such document: {doc_id}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{action}d {doc_id}")
    else:
        raise typer.BadParameter("usage: govchat docs list | delete DOC_ID | retire DOC_ID")
    services.close()


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="question; omit with --jsonl")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="one question (or JSON object) per stdin line")
    ] = False,
    session: Annotated[str | None, typer.Option("--session", help="continue this conversation")] = None,
) -> None:
    """One assistant turn: answer, citations, intent, workflow, handoff, mode."""
    import anyio

    if not jsonl and not question:
        raise typer.BadParameter("give a QUESTION or --jsonl")
    services = _services(persistent_sessions=True)

    async def run() -> None:
        if not jsonl:
            assert question is not None
            result = (await services.assistant.turn(session, question)).to_json()
            if as_json:
                _emit(result)
            else:
                typer.echo(result["answer"])
                for c in result["citations"]:
                    typer.echo(f"  [{c['n']}] {c['title']} · {c['section']} ({c['doc_id']})")
                typer.echo(f"（会话 {result['session']} · {result['intent']} · {result['mode']}）", err=True)
            return
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            sid = session
            text = line
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    _emit({"error": "invalid JSON line", "input": line[:200]})
                    continue
                if not isinstance(obj, dict) or not str(obj.get("question", "")).strip():
                    _emit({"error": "expected an object with a non-empty 'question'", "input": line[:200]})
                    continue
                text, sid = str(obj["question"]), obj.get("session") or session
            _emit((await services.assistant.turn(sid, text)).to_json())

    try:
        anyio.run(run)
    finally:
        services.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """API + pages on one port (embedded defaults: SQLite + Chroma under GOVCHAT_DATA_DIR)."""
    import uvicorn

    from serving.app import create_app
    from serving.obs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=settings.api.trust_proxy,
        timeout_graceful_shutdown=5,
    )


user_app = typer.Typer(add_completion=False, no_args_is_help=True, help="staff accounts")
app.add_typer(user_app, name="user")


def _user_store() -> Any:
    from serving.db import create_tables
    from serving.services import make_engine
    from serving.users import UserStore

    settings = Settings()
    _setup_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    create_tables(engine)
    return UserStore(engine)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help="caseworker | admin")] = "caseworker",
    password: Annotated[str | None, typer.Option("--password", help="prompted when omitted")] = None,
) -> None:
    """Create a staff account (argon2-hashed password)."""
    from serving.users import ROLES, UserExists

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of: {', '.join(ROLES)}")
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        user = _user_store().add_user(name, role, password)  # type: ignore[arg-type]
    except UserExists:
        typer.echo(f"用户已存在 / user exists: {name}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created {user.role} {user.username}")


@user_app.command("apikey")
def user_apikey(name: Annotated[str, typer.Argument(help="existing login name")]) -> None:
    """Print a new API key (usable as a bearer token with the user's role; shown only once)."""
    from serving.users import UnknownUser

    try:
        key = _user_store().issue_for(name, "apikey")
    except UnknownUser:
        typer.echo(f"没有这个用户 / no such user: {name}", err=True)
        raise typer.Exit(1) from None
    typer.echo(key)


@app.command("platform-sandbox")
def platform_sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8900,
    secret: Annotated[
        str | None, typer.Option(help="HMAC secret; default GOVCHAT_HANDOFF__PLATFORM_SECRET")
    ] = None,
) -> None:
    """Run the demo provincial-platform sandbox (no real 办件 are created)."""
    from connectors.platform_sandbox import run_sandbox

    settings = Settings()
    _setup_logging(settings)
    key = secret or settings.handoff.platform_secret.get_secret_value()
    if not key:
        raise typer.BadParameter("give --secret or set GOVCHAT_HANDOFF__PLATFORM_SECRET")
    run_sandbox(host, port, key)


@app.command("eval")
def eval_cmd(
    out: Annotated[Path, typer.Option("--out", help="report folder")] = Path("eval-reports/latest"),
    fast: Annotated[bool, typer.Option("--fast", help="the deterministic CI subset")] = False,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="report.json to diff against (default: OUT/report.json)")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="also write GOVCHAT_DATA_DIR/eval/latest")
    ] = False,
    crud_news_limit: Annotated[
        int, typer.Option("--crud-news-limit", help="crud_news articles to index (0 = skip, -1 = all)")
    ] = 2000,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="skip the LangChain + Chroma baseline")
    ] = False,
) -> None:
    """Gold-set report (Markdown + JSON + PNG plots) with a LangChain + Chroma baseline and a diff."""
    from evals.report import render_headline
    from evals.runner import EvalOptions, run_eval

    settings = Settings()
    _setup_logging(settings)
    options = EvalOptions(
        out=out,
        fast=fast,
        previous=previous,
        publish_dir=settings.data_dir / "eval" / "latest" if publish else None,
        crud_news_limit=None if crud_news_limit < 0 else crud_news_limit,
        baseline=not no_baseline,
        command="govchat eval " + " ".join(sys.argv[2:]),
    )
    report = run_eval(settings, options)
    typer.echo(render_headline(report))
    typer.echo(f"report: {out / 'report.md'}", err=True)


nlu_app = typer.Typer(add_completion=False, no_args_is_help=True, help="the trained understanding")
app.add_typer(nlu_app, name="nlu")


@nlu_app.command("train")
def nlu_train() -> None:
    """Retrain the intent / act / item models from the shipped corpus and the catalog; print held-out figures."""
    from assistant.nlu.corpus import load_corpus
    from serving.services import nlu_model_path

    settings = Settings()
    nlu_model_path(settings).unlink(missing_ok=True)
    os.environ["GOVCHAT_NLU_CACHE"] = ""  # train now, not a cached copy
    services = _services()
    nlu = services.assistant.nlu
    held = load_corpus(nlu.catalog_terms, split="held_out")
    size = nlu_model_path(settings).stat().st_size
    _emit({
        "model": str(nlu_model_path(settings)), "bytes": size, "train_seconds": round(nlu.model.train_seconds, 2),
        "held_out": {name: getattr(nlu.model, name).score(getattr(held, name)) for name in ("intent", "act", "item")},
    })  # fmt: skip


@nlu_app.command("classify")
def nlu_classify(text: Annotated[str, typer.Argument(help="a citizen message")]) -> None:
    """What the models read in one message (intent, act, item, probabilities)."""
    _emit(_services().assistant.nlu.understand(text).to_json())


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`studybot` — a thin CLI over the same functions the UI uses. JSON goes to stdout, logs to stderr."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

# Offline by default: nothing may reach for a model hub at run time.
for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "OMP_WAIT_POLICY": "PASSIVE",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_k, _v)

from bot.settings import Settings  # noqa: E402


def _settings(args) -> Settings:
    return Settings().with_overrides(
        index_dir=getattr(args, "index_dir", None),
        llm=getattr(args, "llm", None),
        embedder=getattr(args, "embedder", None),
    )


def _out(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _progress_bar():
    """A one-line progress bar on stderr (only when stderr is a terminal or STUDYBOT_PROGRESS=1)."""
    if not (sys.stderr.isatty() or os.environ.get("STUDYBOT_PROGRESS") == "1"):
        return None
    state = {"stage": None}

    def cb(stage: str, done: int, total: int) -> None:
        if stage != state["stage"] and state["stage"] is not None:
            sys.stderr.write("\n")
        state["stage"] = stage
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
            state["stage"] = None
        sys.stderr.flush()

    return cb


def cmd_ingest(args) -> int:
    from ingest.pipeline import ingest

    s = _settings(args)
    paths = [Path(p) for p in args.paths] or None
    rep = ingest(paths, s, rebuild=args.rebuild, embed=not args.no_embed, progress=_progress_bar())
    if args.json:
        _out(rep.to_json())
    else:
        r = rep.to_json()
        print(
            f"{r['files_seen']} files: {r['indexed']} indexed, {r['unchanged']} unchanged, {r['removed']} removed, "
            f"{len(r['failed'])} failed; {r['chunks_total']} chunks in the index ({r['seconds']} s)"
        )
        for f in r["failed"]:
            print(f"  FAILED {f['path']}: {f['reason']}")
        for w in r["warnings"]:
            print(f"  WARNING {w['path']}: {w['warning']}")
        if args.no_embed and r["chunks_total"]:
            print("  vectors not computed (--no-embed): keyword search works now; `studybot serve` fills them in")
    return 0


def cmd_search(args) -> int:
    from bot.service import StudyBot

    bot = StudyBot(_settings(args))
    if args.queries:
        with open(args.queries, encoding="utf-8") as f:
            for line in f:
                q = line.strip()
                if q:
                    _out([h.to_json() for h in bot.search(q, args.k)])
        return 0
    if not args.query:
        print("give a QUERY or --queries FILE", file=sys.stderr)
        return 2
    hits = bot.search(" ".join(args.query), args.k)
    if args.json:
        _out([h.to_json() for h in hits])
    else:
        for i, h in enumerate(hits, 1):
            loc = " · ".join(x for x in (h.chunk.section, f"p.{h.chunk.page}" if h.chunk.page else None) if x)
            print(f"{i}. [{h.score:.3f}] {h.chunk.title} — {loc}\n   {h.chunk.path}\n   {h.chunk.text[:200]!r}")
    return 0


def cmd_ask(args) -> int:
    from bot.service import StudyBot

    bot = StudyBot(_settings(args))
    q = " ".join(args.question)
    if args.json:
        _out(bot.ask(q).to_json())
        return 0
    answer = None
    for ev in bot.ask_stream(q):
        if ev.kind == "token":
            sys.stdout.write(ev.text)
            sys.stdout.flush()
        else:
            answer = ev.answer
    print()
    if answer and answer.citations:
        print("\nSources:")
        for i, c in enumerate(answer.citations, 1):
            loc = " · ".join(x for x in (c.section, f"p.{c.page}" if c.page else None) if x)
            print(f"  [{i}] {c.title} — {loc} ({c.path})\n      “{c.quote}”")
    return 0


def cmd_serve(args) -> int:
    from ui.app import serve

    s = _settings(args).with_overrides(host=args.host, port=args.port)
    serve(s)
    return 0


def cmd_eval(args) -> int:
    from bot.service import StudyBot
    from evals.run import run_eval, summary_lines

    result = run_eval(StudyBot(_settings(args)), args.dataset, args.k, translate=args.translate)
    if args.json:
        _out({k: v for k, v in result.items() if k != "rows" or args.rows})
    else:
        print("\n".join(summary_lines(result)))
    return 0


def cmd_sources(args) -> int:
    from bot.index import get_index

    idx = get_index(_settings(args))
    rows = idx.manifest.sources()
    if args.json:
        _out({"sources": rows, "status": idx.status()})
    else:
        for r in rows:
            print(f"{r['status']:<7} {r['chunks'] or 0:>5} chunks  {r['kind'] or '-':<10} {r['title'] or ''}  ({r['path']})"
                  + (f"  ERROR: {r['error']}" if r["error"] else "") + (f"  WARNING: {r['warning']}" if r.get("warning") else ""))
        st = idx.status()
        print(f"\n{st['files_ok']} files ok, {st['files_failed']} failed, {st['chunks']} chunks, vectors {st['vectors_ready']:.0%} ready")
        if st["embedded"] < st["chunks"]:
            print(f"{st['chunks'] - st['embedded']} passages are keyword-searchable and wait for their vectors: "
                  "`studybot serve` embeds them in the background, `studybot ingest` embeds them now")
    return 0


def cmd_model(args) -> int:
    from bot.local_model import LocalModelError, resolve_model_path

    s = Settings().with_overrides(local_model=args.size)
    try:
        path = resolve_model_path(s)
    except LocalModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studybot", description="Answers study questions from your library, with citations.")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, llm: bool = False):
        sp.add_argument("--index-dir", type=Path)
        sp.add_argument("--embedder")
        if llm:
            sp.add_argument("--llm", choices=["local", "ollama", "openai", "none", "fake"])
        sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("ingest", help="index files (default: the knowledge/ library)")
    sp.add_argument("paths", nargs="*")
    sp.add_argument("--rebuild", action="store_true", help="start the index over")
    sp.add_argument("--no-embed", action="store_true", help="parse and BM25-index only; embed later")
    common(sp)
    sp.set_defaults(fn=cmd_ingest)

    sp = sub.add_parser("search", help="hybrid search of the library")
    sp.add_argument("query", nargs="*")
    sp.add_argument("--k", type=int, default=5)
    sp.add_argument("--queries", type=Path, help="a file with one query per line: prints JSON Lines")
    common(sp)
    sp.set_defaults(fn=cmd_search)

    sp = sub.add_parser("ask", help="answer a question from the library, with citations")
    sp.add_argument("question", nargs="+")
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_ask)

    sp = sub.add_parser("serve", help="serve the chat UI")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_serve)

    sp = sub.add_parser("eval", help="score retrieval on a question set (JSONL, see evals/datasets/README.md)")
    sp.add_argument("--dataset", type=Path, default=Path("evals/datasets/dev.jsonl"))
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--rows", action="store_true", help="include per-question rows in --json output")
    sp.add_argument("--translate", action="store_true", help="search as the chat does: with the LLM's translation")
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_eval)

    sp = sub.add_parser("sources", help="list indexed sources and their status")
    common(sp)
    sp.set_defaults(fn=cmd_sources)

    sp = sub.add_parser("model", help="assemble and verify the local GGUF model; prints its path")
    sp.add_argument("--size", default=None, help="1.5b | 0.5b | a GGUF path (default: STUDYBOT_LOCAL_MODEL)")
    sp.set_defaults(fn=cmd_model)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a CLI user gets one clear line, not a traceback
        from bot.embeddings import EmbedderMismatch

        if args.verbose and not isinstance(e, EmbedderMismatch):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

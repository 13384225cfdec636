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

from bot.answering.evidence import REPLACED  # noqa: E402
from bot.core.citation import cite_label  # noqa: E402
from bot.core.settings import Settings  # noqa: E402


def settings_from(args) -> Settings:
    return Settings().with_overrides(
        index_dir=getattr(args, "index_dir", None),
        llm=getattr(args, "llm", None),
        embedder=getattr(args, "embedder", None),
    )


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def progress_bar():
    """Ingest progress as tqdm bars on stderr, one per stage, when stderr is a terminal or
    STUDYBOT_PROGRESS=1. stdout is left to the result (one JSON document with --json)."""
    if not (sys.stderr.isatty() or os.environ.get("STUDYBOT_PROGRESS") == "1"):
        return None
    from tqdm import tqdm

    units = {"parsing": "file", "ocr": "page", "embedding": "chunk"}
    state: dict = {"stage": None, "bar": None}

    def cb(stage: str, done: int, total: int) -> None:
        # The pipeline reports absolute counts ("3 of 6 files"), so the bar is set, not advanced.
        bar = state["bar"]
        if stage != state["stage"]:
            if bar is not None:
                bar.close()
            state["stage"], state["bar"] = stage, None
            if total <= 0:
                return  # nothing to do in this stage: no bar
            bar = state["bar"] = tqdm(total=total, desc=stage, unit=units.get(stage, "it"), file=sys.stderr,
                                      mininterval=0, dynamic_ncols=True)
        if bar is None:
            return
        bar.n = min(done, total)
        bar.refresh()
        if done >= total:
            bar.close()
            state["stage"], state["bar"] = None, None

    return cb


def cmd_ingest(args) -> int:
    from ingest.pipeline import ingest

    s = settings_from(args)
    paths = [Path(p) for p in args.paths] or None
    rep = ingest(paths, s, rebuild=args.rebuild, embed=not args.no_embed, progress=progress_bar())
    if args.json:
        print_json(rep.to_json())
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

    bot = StudyBot(settings_from(args))
    if args.queries:
        with open(args.queries, encoding="utf-8") as f:
            for line in f:
                q = line.strip()
                if q:
                    print_json([h.to_json() for h in bot.search(q, args.k)])
        return 0
    if not args.query:
        print("give a QUERY or --queries FILE", file=sys.stderr)
        return 2
    hits = bot.search(" ".join(args.query), args.k)
    if args.json:
        print_json([h.to_json() for h in hits])
    else:
        for i, h in enumerate(hits, 1):
            where = cite_label(h.chunk.title, h.chunk.section, h.chunk.page, ocr=h.chunk.ocr)
            print(f"{i}. [{h.score:.3f}] {where}\n   {h.chunk.path}\n   {h.chunk.text[:200]!r}")
    return 0


def cmd_ask(args) -> int:
    from bot.service import StudyBot

    bot = StudyBot(settings_from(args))
    q = " ".join(args.question)
    if args.json:
        print_json(bot.ask(q).to_json())
        return 0
    answer = None
    for ev in bot.ask_stream(q):
        if ev.kind == "token":
            sys.stdout.write(ev.text)
            sys.stdout.flush()
        elif ev.kind == "done":
            answer = ev.answer
    print()
    if answer and answer.status in REPLACED and answer.draft:
        # What streamed was the model's; what stands is the evidence that replaced it.
        print("\n" + "─" * 40 + "\n" + answer.text)
    if answer and answer.citations:
        print("\nSources:")
        for i, c in enumerate(answer.citations, 1):
            print(f"  [{i}] {cite_label(c.title, c.section, c.page, date=c.date, ocr=c.ocr)} ({c.link or c.path})\n      “{c.quote}”")
    return 0


def cmd_roadmap(args) -> int:
    from bot.features.roadmap.export import save_ics, to_markdown_file
    from bot.features.roadmap.forms import CLI_LABELS, FormProblems, check_request
    from bot.service import StudyBot

    fields = dict(goal=args.goal, background=args.background, level=args.level,
                  hours_per_week=args.hours_per_week, months=args.months, lang=args.lang)
    try:
        profile, start = check_request(fields, args.start_date, "en", CLI_LABELS)
    except FormProblems as e:
        for line in e.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    rm = StudyBot(settings_from(args)).roadmap(profile)
    if args.markdown_out:
        to_markdown_file(rm, args.markdown_out)
    if args.ics_out:
        save_ics(rm, args.ics_out, start)
    if args.json:
        print_json(rm.to_json())
    else:
        sys.stdout.write(rm.markdown)
    return 0


def cmd_serve(args) -> int:
    from ui.app import serve

    s = settings_from(args).with_overrides(host=args.host, port=args.port)
    serve(s)
    return 0


def cmd_admin_password(args) -> int:
    import getpass

    from ui.auth import AdminSecretError, write_secret_file

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("admin password: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    try:
        write_secret_file(args.file, password)
    except AdminSecretError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote a salted scrypt hash to {args.file} (owner-only); serve with STUDYBOT_ADMIN_PASSWORD_FILE={args.file}",
          file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    print("`studybot eval` is now `studybot-eval` (same flags; `pip install -e ./evals`)", file=sys.stderr)
    return 2


def cmd_source_action(args, settings: Settings, idx) -> int:
    """One source's action (--disable/--enable/--delete/--reparse/--passages): the console's functions."""
    from bot.features import admin
    from ingest.pipeline import SourceError, delete_source, reparse_source

    name = args.disable or args.enable or args.delete or args.reparse or args.passages
    try:
        path = admin.find_source(idx, settings, name)
        if args.disable or args.enable:
            admin.set_source_enabled(idx, settings, path, bool(args.enable))
            out = {"path": path, "disabled": bool(args.disable)}
        elif args.delete:
            out = {"path": path, **delete_source(path, settings, index=idx, file=args.file)}
        elif args.reparse:
            rep = reparse_source(path, settings, index=idx)
            out = {"path": path, **rep.to_json()}
            if rep.failed:
                print(f"error: re-parse failed: {rep.failed[0]['reason']}", file=sys.stderr)
                return 1
        else:
            rows = admin.passage_rows(idx, settings, path)
            out = {"path": path, "passages": [dict(zip(admin.PASSAGE_COLUMNS, r)) for r in rows]}
    except (admin.SourceNotFound, SourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print_json(out)
    elif args.passages:
        for r in out["passages"]:
            where = " · ".join(str(x) for x in (r["page"] and f"p.{r['page']}", r["section"]) if x)
            print(f"[{r['#']}] {where}  ({r['id']}, vector {r['vector']})\n{r['passage']}\n")
    else:
        print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_sources(args) -> int:
    from bot.index.store import Index

    settings = settings_from(args)
    idx = Index(settings)
    if args.disable or args.enable or args.delete or args.reparse or args.passages:
        return cmd_source_action(args, settings, idx)
    rows = idx.manifest.sources()
    if args.json:
        print_json({"sources": rows, "status": idx.status()})
    else:
        for r in rows:
            print(f"{r['status']:<7}{' (disabled)' if r.get('disabled') else ''} {r['chunks'] or 0:>5} chunks  {r['kind'] or '-':<10} {r['title'] or ''}  ({r['path']})"
                  + (f"  ERROR: {r['error']}" if r["error"] else "") + (f"  WARNING: {r['warning']}" if r.get("warning") else ""))
        st = idx.status()
        print(f"\n{st['files_ok']} files ok, {st['files_failed']} failed, {st['chunks']} chunks, vectors {st['vectors_ready']:.0%} ready")
        if st["embedded"] < st["chunks"]:
            print(f"{st['chunks'] - st['embedded']} passages are keyword-searchable and wait for their vectors: "
                  "`studybot serve` embeds them in the background, `studybot ingest` embeds them now")
    return 0


def cmd_add_feed(args) -> int:
    from ingest.fetch import fetch_into_library

    s = settings_from(args)
    saved = fetch_into_library(args.url, s, expect=args.expect, title=args.title, lang=args.lang)
    report = None
    if not args.no_ingest:
        from ingest.pipeline import ingest

        report = ingest([saved.path], s, progress=progress_bar()).to_json()
    if args.json:
        print_json({"path": str(saved.path), "source_id": saved.source_id, "kind": saved.kind, "url": saved.url,
              "bytes": saved.bytes, "ingest": report})
        return 0
    print(f"saved {saved.kind} ({saved.bytes:,} bytes) to {saved.path}; registry id {saved.source_id}")
    if report:
        print(f"indexed: {report['indexed']} file(s), {report['chunks_total']} chunks in the index"
              + "".join(f"\n  FAILED {f['path']}: {f['reason']}" for f in report["failed"]))
    else:
        print("run `studybot ingest` to index it")
    return 0


def cmd_model(args) -> int:
    from bot.providers.local_model import LocalModelError, resolve_model_path

    s = Settings().with_overrides(local_model=args.size)
    try:
        if args.size == "embeddinggemma":
            from bot.providers.gemma import ensure_gemma

            path = ensure_gemma(s.model_dir, lambda done, total, msg: print(msg, file=sys.stderr))
        else:
            path = resolve_model_path(s)
    except LocalModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


def cmd_feedback(args) -> int:
    from datetime import datetime

    from bot.features.feedback import list_feedback

    rows = list_feedback(settings_from(args), args.limit)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no feedback yet")
    for r in rows:
        when = datetime.fromtimestamp(r["ts"]).strftime("%Y-%m-%d %H:%M")
        print(f"{'👍' if r['vote'] > 0 else '👎'} {when}  {r['question'][:70]}"
              + (f"\n   comment: {r['comment']}" if r["comment"] else ""))
    return 0


def _study(args, make):
    from bot.features.study_aids import StudyAidError
    from bot.service import StudyBot

    if bool(args.topic) == bool(args.source):
        print("give exactly one of --topic T or --source PATH", file=sys.stderr)
        return None
    try:
        return make(StudyBot(settings_from(args)), topic=args.topic, source=args.source, n=args.n, lang=args.lang)
    except StudyAidError as e:
        print(f"error: {e}", file=sys.stderr)
        return None


def cmd_quiz(args) -> int:
    from bot.features.study_aids import make_quiz

    quiz = _study(args, make_quiz)
    if quiz is None:
        return 2
    print(quiz.model_dump_json() if args.json else quiz.to_markdown())
    return 0


def cmd_flashcards(args) -> int:
    from bot.features.study_aids import make_flashcards

    deck = _study(args, make_flashcards)
    if deck is None:
        return 2
    fmt = "json" if args.json else args.format
    print({"json": deck.model_dump_json, "md": deck.to_markdown, "tsv": deck.to_tsv, "csv": deck.to_csv}[fmt](), end="")
    return 0


def common(sp, llm: bool = False) -> None:
    """The options every command that opens the index takes."""
    sp.add_argument("--index-dir", type=Path)
    sp.add_argument("--embedder")
    if llm:
        sp.add_argument("--llm", choices=["local", "ollama", "openai", "none", "fake"])
    sp.add_argument("--json", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studybot", description="Answers study questions from your library, with citations.")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

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

    sp = sub.add_parser("roadmap", help="a personal learning roadmap grounded in the library (Markdown, or --json)")
    # Values are checked by the roadmap's Profile, not argparse, so the CLI and the UI refuse the same input.
    sp.add_argument("--goal", help="what you want to learn or achieve, e.g. 用AI做小红书内容")
    sp.add_argument("--background", default="", help="role / background, e.g. 内容创作者，不会编程")
    sp.add_argument("--level", default="beginner", help="beginner | intermediate | advanced")
    sp.add_argument("--hours-per-week", help="study hours a week (1-60)")
    sp.add_argument("--months", help="length of the plan in months (1-24)")
    sp.add_argument("--lang", help="zh | en (default: the goal's language)")
    sp.add_argument("--markdown-out", type=Path, help="also write the plan as a Markdown file")
    sp.add_argument("--ics-out", type=Path, help="also write an iCalendar file (one event per stage)")
    sp.add_argument("--start-date", help="first day for --ics-out, YYYY-MM-DD (default: next Monday)")
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_roadmap)

    sp = sub.add_parser("serve", help="serve the chat UI")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_serve)

    sp = sub.add_parser("admin-password", help="write the admin console's password as a salted hash to FILE "
                                               "(then serve with STUDYBOT_ADMIN_PASSWORD_FILE=FILE)")
    sp.add_argument("file", type=Path)
    sp.add_argument("--stdin", action="store_true", help="read the password from one line of standard input")
    sp.set_defaults(fn=cmd_admin_password)

    # The evaluation tools are a separate distribution (evals/): `studybot-eval`.
    sp = sub.add_parser("eval", help="moved: use `studybot-eval`", add_help=False, prefix_chars="\0")
    sp.add_argument("rest", nargs="*")  # any flags at all: the command only says where it went
    sp.set_defaults(fn=cmd_eval)

    sp = sub.add_parser("sources", help="list indexed sources and their status; or act on one source")
    common(sp)
    act = sp.add_mutually_exclusive_group()
    act.add_argument("--disable", metavar="PATH", help="take a source out of search at once (nothing is re-embedded)")
    act.add_argument("--enable", metavar="PATH", help="put a disabled source back into search")
    act.add_argument("--delete", metavar="PATH", help="remove a source from the index (see --file)")
    act.add_argument("--reparse", metavar="PATH", help="parse and chunk one indexed file again")
    act.add_argument("--passages", metavar="PATH", help="print a source's indexed passages")
    sp.add_argument("--file", choices=["auto", "keep", "delete"], default="auto",
                    help="with --delete: auto deletes the file only if it was uploaded via the console (default)")
    sp.set_defaults(fn=cmd_sources)

    for name, expect, what in (("add-feed", "feed", "an RSS/Atom feed"), ("fetch", "any", "a feed or a web page")):
        sp = sub.add_parser(name, help=f"download {what} into the library (sources.yaml) and index it")
        sp.add_argument("url")
        sp.add_argument("--title", help="title to show in citations (default: from the feed/page)")
        sp.add_argument("--lang", choices=["zh", "en"], help="language (default: detected)")
        sp.add_argument("--no-ingest", action="store_true", help="only save it; index on the next `studybot ingest`")
        common(sp)
        sp.set_defaults(fn=cmd_add_feed, expect=expect)

    sp = sub.add_parser("feedback", help="list learners' votes on answers, newest first")
    sp.add_argument("--limit", type=int, default=100)
    common(sp)
    sp.set_defaults(fn=cmd_feedback)

    for name, helptext, n in (("quiz", "a multiple-choice quiz from a source or topic, with cited explanations", 5),
                              ("flashcards", "flashcards from a source or topic (Markdown, TSV for Anki, CSV)", 10)):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--topic")
        sp.add_argument("--source", help="an indexed document: its path, its path's tail, or its title")
        sp.add_argument("--n", type=int, default=n)
        sp.add_argument("--lang", choices=["zh", "en"], help="language of the questions (default: the material's)")
        if name == "flashcards":
            sp.add_argument("--format", choices=["md", "tsv", "csv"], default="md")
        common(sp, llm=True)
        sp.set_defaults(fn=cmd_quiz if name == "quiz" else cmd_flashcards)

    sp = sub.add_parser("model", help="assemble and verify the local GGUF model (or the opt-in EmbeddingGemma "
                                      "embedder); prints its path")
    sp.add_argument("--size", default=None, help="1.5b | 0.5b | a GGUF path (default: STUDYBOT_LOCAL_MODEL) | "
                                                 "embeddinggemma (then set STUDYBOT_EMBEDDER=embeddinggemma)")
    sp.set_defaults(fn=cmd_model)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args) -> int:
    """Run a parsed command (``args.fn``): logs to stderr, and one clear line instead of a traceback."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a CLI user gets one clear line, not a traceback
        from bot.providers.embeddings import EmbedderMismatch

        if args.verbose and not isinstance(e, EmbedderMismatch):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

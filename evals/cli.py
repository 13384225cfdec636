"""`studybot-eval` — retrieval and answer quality on a question set (the `studybot eval` of earlier versions,
same flags). Part of the separate `studybot-eval` distribution (evals/pyproject.toml): the product never
imports evals. Same conventions as `studybot`: JSON on stdout with --json, logs on stderr."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.core.settings import Settings
from ui.cli import common, print_json, progress_bar, run, settings_from


def cmd_eval(args) -> int:
    from bot.service import StudyBot
    from evals.run import compare, comparison_lines, gate_failures, run_eval, summary_lines

    s = settings_from(args)
    if args.without_answer and not args.answers:
        print("--without-answer scores answers: add --answers", file=sys.stderr)
        return 2
    if args.judge and not args.answers:
        print("--judge scores answers: add --answers", file=sys.stderr)
        return 2
    if args.answers:
        return _eval_answers(args, s)
    if args.cmrc:
        from evals.cmrc import run_cmrc

        res = run_cmrc(s, args.cmrc, args.compare or ["hybrid"], limit=args.limit, progress=progress_bar())
        if args.json:
            print_json(res)
        else:
            for name, r in res.items():
                print(f"{name:<10} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
        return 0
    bot = StudyBot(s)
    if args.compare:
        results = compare(bot, args.dataset, args.compare, args.k)
        if not results:
            print("error: none of the configurations can run here (see the warnings above)", file=sys.stderr)
            return 2
        first = next(iter(results))  # the first one asked for that could run
        baseline = "baseline" if "baseline" in results else None
        if args.report:
            from evals.report import write_report

            write_report(args.report, results=results[first], configs=results, baseline=baseline or first)
        if args.json:
            print_json({name: {k: v for k, v in r.items() if k != "rows" or args.rows} for name, r in results.items()})
        else:
            print("\n".join(comparison_lines(results, baseline)))
        result = results[first]
    else:
        result = run_eval(bot, args.dataset, args.k, translate=args.translate)
        if args.report:
            from evals.report import write_report

            write_report(args.report, results=result)
        if args.json:
            print_json({k: v for k, v in result.items() if k != "rows" or args.rows})
        else:
            print("\n".join(summary_lines(result)))
    if args.gate:
        failures = gate_failures(result, args.gate, args.dataset)
        for f in failures:
            print(f"GATE FAILED: {f}", file=sys.stderr)
        return 1 if failures else 0
    return 0


def _eval_answers(args, s: Settings) -> int:
    from bot.components import Components
    from bot.service import StudyBot
    from evals.answers import answer_summary_lines, make_judge, run_answers, run_without_answers, without_answer_lines

    clash = [f for f, on in (("--compare", args.compare), ("--cmrc", args.cmrc), ("--gate", args.gate),
                              ("--translate", args.translate)) if on]
    if clash:
        print(f"--answers runs the chat path as configured; it does not take {', '.join(clash)}", file=sys.stderr)
        return 2
    if args.without_answer:
        if args.judge or args.report:
            print("--without-answer scores declining only: it takes no --judge or --report", file=sys.stderr)
            return 2
        result = run_without_answers(StudyBot(s), args.dataset, limit=args.limit, progress=progress_bar())
        if args.json:
            print_json({k: v for k, v in result.items() if k != "rows" or args.rows})
        else:
            print("\n".join(without_answer_lines(result)))
        return 0
    components = Components(s)  # the bot and a local judge share one loaded model
    judge = make_judge(s, args.judge, llamas=components.llamas) if args.judge else None
    result = run_answers(StudyBot(s, components=components), args.dataset, limit=args.limit, judge=judge, progress=progress_bar())
    if args.report:
        from evals.report import write_report

        write_report(args.report, results=result, title="studybot answer eval")
    if args.json:
        print_json({k: v for k, v in result.items() if k != "rows" or args.rows})
    else:
        print("\n".join(answer_summary_lines(result)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    sp = argparse.ArgumentParser(prog="studybot-eval", description="score retrieval (or, with --answers, answers) "
                                 "on a question set (JSONL, see evals/datasets/README.md)")
    sp.add_argument("-v", "--verbose", action="store_true")
    sp.add_argument("--dataset", type=Path, default=Path("evals/datasets/dev.jsonl"))
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--rows", action="store_true", help="include per-question rows in --json output")
    sp.add_argument("--translate", action="store_true", help="search as the chat does: with the LLM's translation")
    sp.add_argument("--compare", nargs="+", metavar="CONFIG",
                    help="run configurations side by side: hybrid rerank dense bm25 norescore noglossary noscope translate baseline, "
                         "chunks:N (the same files in N-character chunks, a kept sibling index)")
    sp.add_argument("--report", type=Path, metavar="DIR", help="also write report.md and report.html (charts) here")
    sp.add_argument("--gate", type=Path, metavar="THRESHOLDS",
                    help="exit 1 when a metric falls below its threshold (JSON, e.g. evals/thresholds.json)")
    sp.add_argument("--cmrc", type=Path, metavar="TRIAL_JSON", help="run the CMRC 2018 benchmark instead of --dataset")
    sp.add_argument("--limit", type=int, help="only the first N CMRC questions; with --answers, N questions spread over the kinds")
    sp.add_argument("--answers", action="store_true",
                    help="score the chat's answers (coverage, citation precision, faithfulness, refusals) with the configured LLM")
    sp.add_argument("--without-answer", action="store_true",
                    help="with --answers: ask each answerable question with the passages that hold its answer (and "
                         "its document's) removed, and score how often the reply declines or is flagged")
    sp.add_argument("--judge", metavar="PROVIDER[:MODEL]",
                    help="with --answers: a judge LLM for RAGAS faithfulness and answer relevance, e.g. local:0.5b, "
                         "ollama:qwen2.5:7b, openai:gpt-4o-mini (STUDYBOT_JUDGE_TIMEOUT, STUDYBOT_JUDGE_RETRIES)")
    common(sp, llm=True)
    sp.set_defaults(fn=cmd_eval)
    return sp


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

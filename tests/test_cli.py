"""The CLI contract: one JSON document on stdout, logs on stderr, clear errors."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)


def run(args, settings, module="ui.cli", **env):
    e = dict(os.environ, STUDYBOT_LIBRARY_DIR=str(settings.library_dir), STUDYBOT_INDEX_DIR=str(settings.index_dir),
             STUDYBOT_LLM="none", **env)
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=e, timeout=240)


def test_ingest_json_contract(library, tmp_path):
    from conftest import make_settings

    s = make_settings(library, tmp_path / "idx")
    (library / "empty.md").write_text("   \n", encoding="utf-8")
    p = run(["ingest", "--json"], s, STUDYBOT_PROGRESS="1")
    assert p.returncode == 0, p.stderr
    # The progress bars go to stderr; stdout is the one JSON document and nothing else.
    assert p.stdout.endswith("}\n") and p.stdout.count("\n") == 1
    out = json.loads(p.stdout)
    assert {"files_seen", "indexed", "unchanged", "failed", "chunks_total", "seconds"} <= set(out)
    assert re.search(r"parsing: +100%.* 6/6 ", p.stderr), p.stderr
    assert re.search(rf"embedding: +100%.* {out['chunks_embedded']}/{out['chunks_embedded']} ", p.stderr), p.stderr
    assert out["files_seen"] == 6 and out["indexed"] == 5
    assert out["failed"] == [{"path": str(library / "empty.md"), "reason": out["failed"][0]["reason"]}]
    assert out["failed"][0]["reason"]
    p2 = run(["ingest", "--json", "--index-dir", str(tmp_path / "idx")], s)
    assert json.loads(p2.stdout)["unchanged"] == 5


def test_search_json_and_jsonl(seed_index, tmp_path):
    p = run(["search", "什么是杠铃阅读法？", "--k", "3", "--json"], seed_index)
    assert p.returncode == 0, p.stderr
    hits = json.loads(p.stdout)
    assert len(hits) == 3
    for h in hits:
        assert {"path", "title", "chunk_id", "page", "section", "text", "score"} <= set(h)
        assert Path(h["path"]).is_absolute()
    qf = tmp_path / "q.txt"
    qf.write_text("什么是杠铃阅读法？\n\nWhat does the study plan recommend in the first three months?\n", encoding="utf-8")
    p = run(["search", "--queries", str(qf), "--json", "--k", "2"], seed_index)
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 2 and all(len(json.loads(x)) == 2 for x in lines)


def test_ask_json_contract(seed_index):
    p = run(["ask", "微调后的7B模型推理成本是多少？", "--llm", "none", "--json"], seed_index)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"answer", "citations", "provider", "model", "timings"} <= set(out)
    assert out["provider"] == "none"
    assert {"retrieve_ms", "first_token_ms", "total_ms"} <= set(out["timings"])
    c = out["citations"][0]
    assert {"path", "title", "page", "section", "quote"} <= set(c)
    assert any("7B" in c["quote"] for c in out["citations"])


def test_mismatched_embedder_is_one_line_with_advice(seed_index):
    p = run(["search", "杠铃阅读法", "--json"], seed_index, STUDYBOT_EMBEDDER="fake")
    assert p.returncode == 1
    assert p.stdout == ""
    assert "re-index" in p.stderr and "Traceback" not in p.stderr


def test_eval_scores_retrieval_and_sets_aside_unindexed_sources(seed_index, tmp_path):
    qs = [
        {"id": "a", "question": "什么是杠铃阅读法？", "lang": "zh", "kind": "concept",
         "source": "seeds/002_c0490f06c8b4e4df.txt", "answer_substring": "只阅读时间线的两端", "answer": "…"},
        {"id": "b", "question": "微调后的7B模型推理成本是多少？", "lang": "zh", "kind": "fact",
         "source": "seeds/000_96a0a46f97965708.txt", "answer_substring": "$0.005/千token", "answer": "…"},
        {"id": "c", "question": "What is a cat?", "lang": "en", "kind": "fact",
         "source": "corpus/not-indexed.md", "answer_substring": "cat", "answer": "…"},
        {"id": "d", "question": "杠铃阅读法", "lang": "zh", "kind": "concept",
         "source": "seeds/002_c0490f06c8b4e4df.txt", "answer_substring": "这句话不在任何文档里", "answer": "…"},
    ]
    f = tmp_path / "qs.jsonl"
    f.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in qs), encoding="utf-8")
    p = run(["--dataset", str(f), "--json", "--rows"], seed_index, module="evals.cli")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["source_not_indexed"] == ["c"]
    rows = {r["id"]: r for r in out["rows"]}
    assert rows["a"]["hit@5"] == 1.0 and rows["b"]["hit@5"] == 1.0
    assert rows["d"]["hit@10"] == 0.0  # a passage only counts when it holds the answer
    assert out["overall"]["n"] == 3 and 0.6 < out["overall"]["hit@5"] < 0.7

"""Hostile library: broken, locked and scanned PDFs, empty and huge files, noise, a malformed feed,
links out of the library, deep nesting and names full of spaces, CJK and shell metacharacters.

`studybot ingest --json` must finish, index every good file, never follow a link out of the root,
and list every bad file in `failed` with a reason.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings
from pdfs import make_pdf

ROOT = Path(__file__).resolve().parent.parent

WEIRD = "a b;rm -rf $(x).md"


def encrypted_pdf(path: Path) -> None:
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(BytesIO(make_pdf([["Locked lecture notes about tokenizers."]]))))
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(path, "wb") as f:
        w.write(f)


def md(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hostile(tmp_path) -> tuple[Path, Path]:
    lib = tmp_path / "library"
    outside = tmp_path / "outside"
    # Good files, some with names a shell would choke on.
    md(lib / "good.md", "# Good notes\n\nSpaced repetition beats cramming: review after one day, then three.\n")
    md(lib / "学习 笔记.md", "# 学习笔记\n\n费曼学习法：用自己的话把概念讲给别人听。\n")
    md(lib / WEIRD, "# Weird name\n\nMetacharacters in names are just characters: quokkaword.\n")
    md(lib / "sentinel.md", "# Sentinel\n\nIf a shell ever ran the weird file name, this file would be gone.\n")
    (lib / "papers").mkdir()
    (lib / "papers" / "mixed.pdf").write_bytes(make_pdf([["Gradient descent follows the slope downhill."], "image"]))
    # Bad files.
    (lib / "papers" / "truncated.pdf").write_bytes(make_pdf([["Cut off in the middle of a download."]] * 3)[:400])
    encrypted_pdf(lib / "papers" / "locked.pdf")
    (lib / "papers" / "scan.pdf").write_bytes(make_pdf(["image", "image"]))
    (lib / "empty.md").write_bytes(b"")
    (lib / "blank.txt").write_text("  \n\n\t\n", encoding="utf-8")
    with open(lib / "huge.txt", "wb") as f:  # 40 MB of real text: the cap must stop it before reading
        f.write(b"spaced repetition " * (40 * 1024 * 1024 // 18 + 1))
    (lib / "noise.md").write_bytes(random.Random(7).randbytes(64 * 1024))
    (lib / "feeds").mkdir()
    (lib / "feeds" / "bad.xml").write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>News</title>'
                                           "<item><title>Half an item</title><descr", encoding="utf-8")
    # Links that leave the library, to a file and to a folder.
    md(outside / "secret.md", "# Secret\n\nThe launch code is zebrafinch.\n")
    (lib / "leak.md").symlink_to(outside / "secret.md")
    (lib / "leak-dir").symlink_to(outside, target_is_directory=True)
    # 30 levels of folders.
    deep = lib.joinpath(*[f"d{i}" for i in range(30)])
    md(deep / "deep.md", "# Deep\n\nBuried thirty folders down.\n")
    return lib, outside


def run_cli(*args: str, lib: Path) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env.update(STUDYBOT_LIBRARY_DIR=str(lib), STUDYBOT_EMBEDDER="fake", PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


@pytest.mark.timeout(180)
def test_hostile_library_is_ingested_safely(hostile, tmp_path, components):
    lib, outside = hostile
    index_dir = tmp_path / "index"
    code, rep, err = run_cli("ingest", "--json", "--index-dir", str(index_dir), lib=lib)
    assert code == 0, err

    failed = {Path(f["path"]).name: f["reason"] for f in rep["failed"]}
    assert all(r and r.strip() for r in failed.values()), failed
    assert failed["truncated.pdf"].startswith("broken PDF (damaged or incomplete")
    assert failed["locked.pdf"].startswith("encrypted PDF: remove the password")
    # Its "scans" are 2x2 pixels: OCR (the extra `make setup` installs) reads nothing and says so.
    assert failed["scan.pdf"].startswith("no text found: OCR read nothing on the 2 scanned pages"), failed["scan.pdf"]
    assert failed["empty.md"] == failed["blank.txt"] == "no text found"
    assert "over the 25 MB limit (STUDYBOT_MAX_FILE_MB)" in failed["huge.txt"]
    assert failed["noise.md"] == "binary file, not text"
    assert failed["bad.xml"]  # malformed feed: whatever feedparser managed, it says why
    assert failed["leak.md"] == failed["leak-dir"] == "symlink points outside the library"
    assert len(failed) == 10, failed

    good = {"good.md", "学习 笔记.md", WEIRD, "sentinel.md", "mixed.pdf", "deep.md"}  # deep.md: 30 folders down
    assert rep["indexed"] == len(good)
    assert (lib / "sentinel.md").exists()
    warned = {Path(w["path"]).name: w["warning"] for w in rep["warnings"]}
    assert set(warned) == {"mixed.pdf"}
    assert "page 2: scanned (no text layer), and OCR found no text" in warned["mixed.pdf"]  # 2x2 pixels

    code, listing, err = run_cli("sources", "--json", "--index-dir", str(index_dir), lib=lib)
    assert code == 0, err
    rows = {Path(r["path"]).name: r for r in listing["sources"]}
    assert {n for n, r in rows.items() if r["status"] == "ok"} == good
    assert "OCR" in rows["mixed.pdf"]["warning"]
    assert rows["locked.pdf"]["status"] == "failed" and "password" in rows["locked.pdf"]["error"]
    root = str(lib.resolve())
    assert all(r["path"].startswith(root + os.sep) for r in listing["sources"])  # nothing from outside

    from bot.service import StudyBot

    bot = StudyBot(make_settings(lib, index_dir, embedder="fake"), components=components)
    assert Path(bot.search("quokkaword", k=1)[0].chunk.path).name == WEIRD
    assert Path(bot.search("费曼学习法", k=1)[0].chunk.path).name == "学习 笔记.md"
    assert Path(bot.search("gradient descent slope", k=1)[0].chunk.path).name == "mixed.pdf"
    assert not any("zebrafinch" in h.chunk.text for h in bot.search("launch code zebrafinch", k=5))

    # A second run re-reports the same failures without parsing them again, and changes nothing.
    code, again, err = run_cli("ingest", "--json", "--index-dir", str(index_dir), lib=lib)
    assert code == 0, err
    assert again["indexed"] == 0 and again["unchanged"] == len(good)
    assert {Path(f["path"]).name: f["reason"] for f in again["failed"]} == failed


def test_size_cap_is_configurable(hostile, tmp_path):
    from ingest.discover import discover

    lib, _ = hostile
    files, skipped = discover([lib / "huge.txt"], lib, max_file_mb=50)
    assert files == [(lib / "huge.txt").resolve()] and skipped == []


def test_a_pasted_page_gets_asked_to_be_shortened_not_an_llm_error(seed_index, components):
    """Found trying it: 13,000 characters were translated and prompted whole, overflowed the local
    model's 4096-token context, and the learner read "the language model is unavailable"."""
    from bot.service import StudyBot

    bot = StudyBot(seed_index.with_overrides(llm="fake"), components=components)
    ans = bot.ask("请详细解释微调的成本。" + "我想知道更多细节。" * 1500)
    assert ans.status == "too_long" and "2000" in ans.text and not ans.citations, ans.text[:80]
    assert bot.ask("What is fine-tuning? " + "x" * 1900).status != "too_long"
    small = StudyBot(seed_index.with_overrides(llm="fake", max_question_chars=100), components=components)
    assert small.ask("What is fine-tuning? " * 6).status == "too_long"

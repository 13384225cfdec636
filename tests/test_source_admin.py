"""The admin's per-source control and the source viewer's data, on a real index (real embedder, real
Chroma): disable/enable leave and rejoin search at once without re-embedding, delete removes passages and
vectors (and an uploaded file), re-parse cuts an unchanged file again, the search test says which
retriever found each passage, and the viewer shows a passage among its neighbours from the index."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, make_settings

pytestmark = pytest.mark.timeout(300)

NOTE = """---
title: 纠缠蒸馏笔记
date: 2024-03-05
url: https://example.org/notes/distill
---
# 纠缠蒸馏笔记

## 方法

Zorblax recurrence distils two noisy pairs into one cleaner pair. 纠缠蒸馏把多对低保真度的纠缠粒子提纯成少量高保真度的纠缠对。

## 代价

Each Zorblax round throws away at least half of the pairs, so the yield falls quickly.
"""


@pytest.fixture
def world(tmp_path):
    """A library of one seed document and one upload, indexed with its own components."""
    from bot.components import Components
    from bot.service import StudyBot
    from ingest.pipeline import ingest

    lib = tmp_path / "library"
    (lib / "seeds").mkdir(parents=True)
    (lib / "uploads").mkdir()
    shutil.copy(SEEDS / "001_241450faf596187f.txt", lib / "seeds")
    (lib / "uploads" / "distill.md").write_text(NOTE, encoding="utf-8")
    settings = make_settings(lib, tmp_path / "index")
    components = Components(settings)
    bot = StudyBot(settings, components=components)
    assert not ingest(None, settings, index=bot.index).failed
    return settings, bot, lib.resolve()


def _paths(bot, query, k=5):
    return [h.chunk.path for h in bot.search(query, k)]


def test_disable_leaves_search_at_once_and_enable_brings_it_back(world):
    from bot.features import admin
    from bot.features.study_aids import documents
    from bot.index.store import Index
    from ingest.pipeline import reparse_source

    settings, bot, lib = world
    upload = str(lib / "uploads" / "distill.md")
    assert upload in _paths(bot, "Zorblax 纠缠蒸馏")
    gen, embedded = bot.index.manifest.generation(), bot.index.manifest.count_embedded()
    assert admin.set_source_enabled(bot.index, settings, "uploads/distill.md", False) == upload
    # Nothing re-indexed or re-embedded: same generation, same vectors; the next search already skips it.
    assert (bot.index.manifest.generation(), bot.index.manifest.count_embedded()) == (gen, embedded)
    assert upload not in _paths(bot, "Zorblax 纠缠蒸馏", 10)
    assert bot.search("Zorblax 纠缠蒸馏", 5)  # the rest of the library still answers, k deep
    assert upload not in [d["path"] for d in documents(bot)]  # nor can a quiz pick it
    # Another process (its own Index on the same files, e.g. the CLI) sees the flag too.
    other = Index(settings, embedder=bot.index.embedder)
    assert other.manifest.disabled_among([c.id for c in other.manifest.file_passages(upload)])
    assert admin.source_rows(bot.index, settings)[-1][-1] == "⏸ disabled"
    # Indexing the file again (re-parse, or a re-index after an edit) keeps the admin's choice.
    reparse_source(upload, settings, index=bot.index)
    assert upload not in _paths(bot, "Zorblax 纠缠蒸馏", 10)
    admin.set_source_enabled(bot.index, settings, upload, True)
    assert _paths(bot, "Zorblax 纠缠蒸馏")[0] == upload
    with pytest.raises(admin.SourceNotFound):
        admin.set_source_enabled(bot.index, settings, "../../etc/passwd", False)


def test_disabled_passages_are_replaced_by_others_in_every_ranking(world):
    """A disabled source's passages are dropped from each ranking and the ranking is refilled: the
    search returns what a library without that source returns."""
    from bot.features import admin

    settings, bot, lib = world
    seed = str(lib / "seeds" / "001_241450faf596187f.txt")
    admin.set_source_enabled(bot.index, settings, seed, False)
    bot.retriever.cfg.candidates = 3  # fewer candidates than the seed's passages: only refilling finds the note
    try:
        hits = bot.search("生成式AI 学习计划 第一阶段", 5)
    finally:
        bot.retriever.cfg.candidates = 40
    assert hits and all(h.chunk.path.endswith("distill.md") for h in hits)


def test_delete_upload_removes_passages_vectors_and_file(world):
    from ingest.pipeline import delete_source

    settings, bot, lib = world
    upload = lib / "uploads" / "distill.md"
    ids = [c.id for c in bot.index.manifest.file_passages(str(upload))]
    assert ids and set(ids) <= bot.index.vectors.ids()
    out = delete_source(str(upload), settings, index=bot.index)
    assert out == {"passages": len(ids), "file_deleted": True, "returns": False}
    assert not upload.exists()
    assert not bot.index.manifest.existing(ids) and not set(ids) & bot.index.vectors.ids()
    assert str(upload) not in _paths(bot, "Zorblax 纠缠蒸馏", 10)
    assert not [h for h in bot.index.bm25().search("Zorblax", 10) if h[0] in ids]


def test_delete_keeps_a_library_file_by_default_and_says_it_returns(world):
    from ingest.pipeline import SourceError, delete_source, ingest

    settings, bot, lib = world
    seed = lib / "seeds" / "001_241450faf596187f.txt"
    out = delete_source(str(seed), settings, index=bot.index)
    assert out["passages"] > 0 and not out["file_deleted"] and out["returns"] and seed.exists()
    assert not bot.index.manifest.file_passages(str(seed))
    with pytest.raises(SourceError, match="not an indexed source"):
        delete_source(str(seed), settings, index=bot.index)
    assert ingest(None, settings, index=bot.index).indexed == 1  # as the console warns: it came back
    out = delete_source(str(seed), settings, index=bot.index, file="delete")
    assert out["file_deleted"] and not seed.exists()


def test_reparse_cuts_an_unchanged_looking_file_again(world):
    from ingest.pipeline import ingest, reparse_source

    settings, bot, lib = world
    upload = lib / "uploads" / "distill.md"
    st = upload.stat()
    # Same size and time, new words: a plain re-index takes the file for unchanged.
    upload.write_text(NOTE.replace("Zorblax", "Quibbix"), encoding="utf-8")
    os.utime(upload, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ingest(None, settings, index=bot.index).unchanged == 2
    assert "Quibbix" not in " ".join(c.text for c in bot.index.manifest.file_passages(str(upload)))
    rep = reparse_source(str(upload), settings, index=bot.index)
    assert rep.indexed == 1 and not rep.failed
    texts = " ".join(c.text for c in bot.index.manifest.file_passages(str(upload)))
    assert "Quibbix" in texts and "Zorblax" not in texts
    assert _paths(bot, "Quibbix 纠缠蒸馏")[0] == str(upload)
    assert bot.index.reconcile(full=True) == {"orphans_removed": 0, "to_reembed": 0}  # old vectors went


def test_passage_rows_and_search_rows_say_which_retriever_found_what(world):
    from bot.features import admin
    from bot.retrieval.retriever import FusionConfig, Retriever

    settings, bot, lib = world
    rows = admin.passage_rows(bot.index, settings, "uploads/distill.md")
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and "Zorblax" in " ".join(r[3] for r in rows)
    assert all(r[4] == "ok" for r in rows)
    for mode, want in (("bm25", "BM25"), ("dense", "dense")):
        hits = Retriever(bot.index, FusionConfig(mode=mode)).search("Zorblax 纠缠蒸馏", 5)
        assert hits and {r[2] for r in admin.search_rows(hits, settings)} == {want}, mode
    both = admin.search_rows(bot.search("Zorblax 纠缠蒸馏", 5), settings)
    assert both[0][2] == "dense + BM25" and both[0][6] == "uploads/distill.md"


def test_viewer_shows_neighbours_meta_and_the_quote(world):
    from ui.viewer import load_view, render, source_url

    settings, bot, lib = world
    hit = next(h for h in bot.search("Zorblax 纠缠蒸馏", 5) if h.chunk.path.endswith("distill.md"))
    view = load_view(bot.index.manifest, hit.chunk.id)
    assert [p.ordinal for p in view.passages] == sorted(p.ordinal for p in view.passages)
    page = render(view, "纠缠蒸馏把多对低保真度的纠缠粒子")
    assert "<mark id='quote'>纠缠蒸馏把多对低保真度的纠缠粒子</mark>" in page
    assert "2024-03-05" in page and "href='https://example.org/notes/distill'" in page
    assert "纠缠蒸馏笔记" in page
    seed = next(h for h in bot.search("第三阶段 图像生成 GAN", 5) if h.chunk.path.endswith(".txt"))
    v = load_view(bot.index.manifest, seed.chunk.id)
    assert len(v.passages) > 1 and seed.chunk.id in [p.id for p in v.passages]
    assert source_url(seed.chunk.id, "a  b…") == f"source/{seed.chunk.id}?q=a%20b#cited"
    assert source_url("../etc/passwd") == "" and load_view(bot.index.manifest, "0" * 24) is None


def test_viewer_shows_a_pdf_page_and_drops_unsafe_links(tmp_path):
    from pdfs import make_pdf

    from bot.index.manifest import Manifest
    from ingest.pipeline import ingest
    from ui.viewer import load_view, render

    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "paper.pdf").write_bytes(make_pdf([["Page one talks about apples and pears."],
                                              ["Page two is about distillation of entangled pairs."]], title="Fruit"))
    (lib / "bad.md").write_text("---\nurl: javascript:alert(1)\n---\n# Bad\n\nSome text about links.\n", encoding="utf-8")
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    assert not ingest(None, settings).failed
    m = Manifest(tmp_path / "index" / "manifest.sqlite")
    two = next(c for c in m.all_chunks() if c.page == 2)
    view = load_view(m, two.id)
    assert [p.page for p in view.passages] == [2]  # the page's passages, not page one's
    assert "Page two" in render(view, "") and "apples" not in render(view, "")
    bad = next(c for c in m.all_chunks() if c.path.endswith("bad.md"))
    assert "javascript:" not in render(load_view(m, bad.id), "")


def test_cli_disable_passages_delete(world, capsys, monkeypatch):
    import json

    from ui.cli import main

    settings, bot, lib = world
    monkeypatch.setenv("STUDYBOT_LIBRARY_DIR", str(lib))  # the CLI reads its library from the environment
    upload = str(lib / "uploads" / "distill.md")
    common = ["--index-dir", str(settings.index_dir), "--embedder", settings.embedder, "--json"]
    assert main(["sources", "--disable", upload, *common]) == 0
    assert json.loads(capsys.readouterr().out) == {"path": upload, "disabled": True}
    assert upload not in _paths(bot, "Zorblax 纠缠蒸馏", 10)
    assert main(["sources", "--enable", upload, *common]) == 0
    capsys.readouterr()
    assert main(["sources", "--passages", upload, *common]) == 0
    assert "Zorblax" in json.dumps(json.loads(capsys.readouterr().out)["passages"])
    assert main(["sources", "--delete", "/etc/passwd", *common]) == 2
    assert "not an indexed source" in capsys.readouterr().err
    assert main(["sources", "--delete", "uploads/distill.md", *common]) == 0  # as the console shows it
    assert json.loads(capsys.readouterr().out)["file_deleted"] is True and not Path(upload).exists()


def test_chat_roadmap_and_quiz_link_their_citations_to_the_viewer(seed_index, components):
    """Each place that cites links to the passage it cites (and only a valid id makes a link)."""
    import re

    from bot.core.types import Citation
    from bot.features.roadmap.models import Profile
    from bot.features.study_aids import make_quiz
    from bot.service import StudyBot
    from ui.chat import sources_markdown
    from ui.roadmap_tab import sources_md
    from ui.study_tab import grade
    from ui.viewer import load_view

    bot = StudyBot(seed_index, components=components)
    manifest = bot.index.manifest

    def linked(text: str) -> list[str]:
        ids = re.findall(r"\]\(source/([0-9a-f]+)[?#]", text)
        assert ids and all(load_view(manifest, i) is not None for i in ids), text
        return ids

    hit = bot.search("什么是杠铃阅读法？", 1)[0]
    c = Citation(path=hit.chunk.path, title=hit.chunk.title, page=None, section=None, quote="杠铃", chunk_id=hit.chunk.id)
    assert linked(sources_markdown([c])) == [hit.chunk.id]
    assert "source/" not in sources_markdown([Citation(path="p", title="t", page=None, section=None, quote="q")])
    rm = bot.roadmap(Profile(goal="用AI做小红书内容", background="内容创作者，不会编程", hours_per_week=5, months=3),
                     prose=False)
    assert len(linked(sources_md(rm))) >= len(rm.stages)
    quiz = make_quiz(bot, topic="杠铃阅读法", n=2)
    lines, _ = grade(quiz, [None] * len(quiz.questions))
    assert linked("\n".join(lines))

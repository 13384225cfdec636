"""Word, PowerPoint, EPUB, pictures and scanned PDFs, made here as real files, through the real ingest
into a real index (fake embedder: the loader path is under test), then searched.

OCR accuracy bars: on pages rendered like these, RapidOCR measured a character error rate of
0.7 % (zh, clean and degraded like a scan), 1.4 % (zh, small serif scan) and 0 % (en); tesseract
chi_sim+eng, the other candidate, 4.1 % (zh scan) and 0.5 % (en scan). The bars (3 % zh, 2 % en)
are twice the worst measured, with room for onnxruntime's numeric differences across CPUs, and
below the weaker engine: a worse model, a misread channel order or lines put out of order fail them.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import make_settings
from formats_files import EN, ZH, cer, image_pdf, make_docx, make_epub, make_pptx, render, scanned
from pdfs import make_pdf

from bot.service import StudyBot
from ingest.pipeline import ingest

ZH_MAX_CER = 0.03
EN_MAX_CER = 0.02

DOCX_ZH = "番茄工作法把时间切成二十五分钟的专注段，每段结束后休息五分钟。"
DOCX_EN = "Spaced repetition schedules each review just before the learner would forget the card."
PPTX_NOTES = "讲者备注：先演示一次检索，再展示引用的出处。"
EPUB_ZH = "费曼学习法要求用最简单的话把一个概念讲给外行听，讲不清楚的地方就是还没弄懂的地方。"
EPUB_EN = "Interleaving mixes different kinds of problems in one session instead of practising one kind at a time."


def _good_files(lib: Path) -> dict[str, Path]:
    lib.mkdir(parents=True, exist_ok=True)
    return {
        "docx": make_docx(lib / "学习方法.docx", "学习方法手册", [
            (1, "第一章 番茄工作法", [DOCX_ZH]),
            (2, "1.1 休息", ["休息时离开屏幕，走动一下。"]),
            (1, "Chapter 2 Spaced repetition", [DOCX_EN]),
        ], table=[["术语 Term", "解释 Meaning"], ["番茄钟", "二十五分钟的专注段"]]),
        "pptx": make_pptx(lib / "rag-talk.pptx", [
            ("检索增强生成", ["先检索相关段落", "再让模型作答"], PPTX_NOTES),
            ("Citations", ["Every answer names the page it came from"], "Speaker notes: open the cited page live."),
        ]),
        "epub": make_epub(lib / "book.epub", "学习之书 The Study Book", [
            ("第一章 费曼学习法", "第一章", [EPUB_ZH]),
            (None, "Chapter 2: Interleaving", [EPUB_EN]),
        ]),
        "png": _save(render(ZH), lib / "scan-zh.png"),
        "jpg": _save(scanned(render(EN)), lib / "photo-en.jpg"),
        "pdf": image_pdf(lib / "scanned.pdf", [scanned(render(ZH)), scanned(render(EN))]),
        "md": _write(lib / "notes.md", "# 笔记\n\n间隔重复是一种复习方法。\n"),
    }


def _bad_files(lib: Path) -> dict[str, Path]:
    good_png = render("坏图片")
    _save(good_png, lib / "tmp.png")
    png = (lib / "tmp.png").read_bytes()
    (lib / "tmp.png").unlink()
    pptx = lib / "broken.pptx"
    with zipfile.ZipFile(pptx, "w") as z:  # a zip, but no presentation inside
        z.writestr("hello.txt", "not a presentation")
    epub = lib / "broken.epub"
    with zipfile.ZipFile(epub, "w") as z:  # no META-INF/container.xml
        z.writestr("mimetype", "application/epub+zip")
    return {
        "docx": _write(lib / "broken.docx", "PK\x03\x04 this is not really a Word file"),
        "pptx": pptx,
        "epub": epub,
        "png": _write_bytes(lib / "broken.png", png[: len(png) // 3]),  # cut off mid-download
        "jpg": _write(lib / "fake.jpg", "just text with a .jpg name"),
    }


def _save(img, path: Path) -> Path:
    img.save(path)
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, components):
    """One ingest of every format (good and broken), with its progress events and a search made the
    moment OCR starts (what a learner could find while the pictures are still being read)."""
    base = tmp_path_factory.mktemp("formats")
    lib = base / "library"
    good, bad = _good_files(lib), _bad_files(lib)
    settings = make_settings(lib, base / "index", embedder="fake")
    index = components.index(settings)
    events: list[tuple[str, int, int]] = []
    early: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        events.append((stage, done, total))
        if stage == "ocr" and "hits" not in early:
            early["hits"] = StudyBot(settings, components=components).search("番茄工作法 专注段", k=3)

    report = ingest(None, settings, index=index, progress=progress)
    chunks = index.manifest.all_chunks()
    return {"settings": settings, "report": report, "events": events, "early": early, "good": good, "bad": bad,
            "chunks": chunks, "index": index}


def _chunks_of(ingested, key: str) -> list:
    path = str(ingested["good"][key])
    return [c for c in ingested["chunks"] if c.path == path]


def test_broken_files_fail_one_by_one_with_a_reason(ingested):
    rep = ingested["report"]
    failed = {Path(f["path"]).name: f["reason"] for f in rep.failed}
    assert set(failed) == {p.name for p in ingested["bad"].values()}, failed
    assert "broken Word file" in failed["broken.docx"]
    assert "broken PowerPoint file" in failed["broken.pptx"]
    assert "broken EPUB" in failed["broken.epub"] and "container" in failed["broken.epub"]
    assert "broken picture" in failed["broken.png"] and "broken picture" in failed["fake.jpg"]
    # Every good file is indexed all the same.
    assert rep.indexed == len(ingested["good"])
    assert {c.path for c in ingested["chunks"]} == {str(p) for p in ingested["good"].values()}


def test_docx_headings_are_sections_and_tables_are_text(ingested):
    from ingest.loaders import load_path

    (doc,) = load_path(ingested["good"]["docx"])
    assert doc.title == "学习方法手册"
    parts = {p.section: p.text for p in doc.parts}
    assert list(parts) == ["第一章 番茄工作法", "第一章 番茄工作法 > 1.1 休息", "Chapter 2 Spaced repetition"]
    assert DOCX_ZH in parts["第一章 番茄工作法"] and "番茄钟 | 二十五分钟的专注段" in parts["第一章 番茄工作法"]
    assert DOCX_EN in parts["Chapter 2 Spaced repetition"]
    chunks = _chunks_of(ingested, "docx")  # as indexed (small sections fold into their neighbours)
    assert {c.title for c in chunks} == {"学习方法手册"} and not any(c.ocr for c in chunks)
    assert any(DOCX_ZH in c.text for c in chunks) and any(DOCX_EN in c.text for c in chunks)


def test_pptx_slide_is_page_title_is_section_notes_included(ingested):
    chunks = _chunks_of(ingested, "pptx")
    pages = {c.page: c for c in chunks}
    assert set(pages) == {1, 2}
    assert pages[1].section == "检索增强生成" and PPTX_NOTES in pages[1].text and "再让模型作答" in pages[1].text
    assert pages[2].section == "Citations" and "open the cited page live" in pages[2].text
    assert chunks[0].title == "检索增强生成"  # no document title: the first slide's


def test_epub_chapter_is_section_with_the_book_title(ingested):
    from ingest.loaders import load_path

    (doc,) = load_path(ingested["good"]["epub"])
    assert doc.title == "学习之书 The Study Book"
    sections = {p.section: p.text for p in doc.parts}
    assert list(sections) == ["第一章 费曼学习法", "Chapter 2: Interleaving"]  # no heading: its table-of-contents label
    assert EPUB_ZH in sections["第一章 费曼学习法"] and EPUB_EN in sections["Chapter 2: Interleaving"]
    chunks = _chunks_of(ingested, "epub")
    assert chunks and {c.title for c in chunks} == {"学习之书 The Study Book"}
    assert not any("Table of contents" in c.text for c in chunks), "the nav document is not a chapter"


def test_ocr_reads_chinese_and_english_pictures(ingested):
    zh = _chunks_of(ingested, "png")
    en = _chunks_of(ingested, "jpg")
    zh_cer = cer(ZH, "".join(c.text for c in zh))
    en_cer = cer(EN, " ".join(c.text for c in en))
    print(f"OCR CER: zh picture {zh_cer:.3f}, en scanned photo {en_cer:.3f}")
    assert zh_cer < ZH_MAX_CER and en_cer < EN_MAX_CER, (zh_cer, en_cer)
    assert all(c.ocr for c in zh + en)


def test_scanned_pdf_pages_are_ocrd_page_by_page(ingested):
    chunks = _chunks_of(ingested, "pdf")
    pages = {}
    for c in chunks:
        pages.setdefault(c.page, []).append(c.text)
    assert set(pages) == {1, 2}
    zh_cer, en_cer = cer(ZH, "".join(pages[1])), cer(EN, " ".join(pages[2]))
    print(f"OCR CER: scanned PDF page 1 (zh) {zh_cer:.3f}, page 2 (en) {en_cer:.3f}")
    assert zh_cer < ZH_MAX_CER and en_cer < EN_MAX_CER, (zh_cer, en_cer)
    assert all(c.ocr for c in chunks)
    assert not any(w["path"] == str(ingested["good"]["pdf"]) for w in ingested["report"].warnings)


def test_search_finds_every_format_and_cites_ocr_as_ocr(ingested, components):
    from bot.answering.chain import citations_for
    from ui.chat import sources_markdown

    bot = StudyBot(ingested["settings"], components=components)
    for query, key in [("番茄工作法 专注段", "docx"), ("讲者备注 演示检索", "pptx"), ("费曼学习法 外行", "epub"),
                       ("Interleaving problems session", "epub"), ("检索增强生成 语言模型 引用", "png"),
                       ("optical character recognition pixels", "jpg")]:
        hits = bot.search(query, k=8)
        # The Chinese picture and the scanned PDF's first page hold the same paragraph: search keeps
        # one of two near-identical passages (dedupe), whichever ranks first, which varies with the
        # two OCR readings and with which vectors the background embedder has written (seen twice in
        # full runs). Either one found is the picture's text found.
        def found(h) -> bool:
            return h.chunk.path == str(ingested["good"][key]) or (
                key == "png" and h.chunk.path == str(ingested["good"]["pdf"]) and "检索增强生成" in h.chunk.text)

        held = [c.text[:80] for c in ingested["index"].manifest.all_chunks() if c.path == str(ingested["good"][key])]
        assert any(found(h) for h in hits), (
            query, [Path(h.chunk.path).name for h in hits], held, ingested["report"].to_json().get("warnings"))
    hits = [h for h in bot.search("optical character recognition pixels scanned page", k=8) if h.chunk.ocr]
    assert hits
    shown = sources_markdown(citations_for(hits[:1], "optical character recognition"))
    assert "· OCR" in shown, shown
    text_hit = next(h for h in bot.search("番茄工作法", k=8) if h.chunk.path == str(ingested["good"]["docx"]))
    assert "OCR" not in sources_markdown(citations_for([text_hit], "番茄工作法"))


def test_text_files_are_searchable_before_ocr_runs(ingested):
    events = ingested["events"]
    stages = [e[0] for e in events]
    assert "ocr" in stages and stages.index("ocr") > max(i for i, s in enumerate(stages) if s == "parsing")
    # Counted in pictures: 1 + 1 + 2 scanned pages + the broken picture and the fake one.
    ocr_total = {t for s, _, t in events if s == "ocr"}
    assert ocr_total == {6}, ocr_total
    assert ("ocr", 6, 6) in events
    hits = ingested["early"]["hits"]
    assert any(h.chunk.path == str(ingested["good"]["docx"]) for h in hits), "the Word file was searchable while OCR ran"


def test_without_ocr_pictures_fail_clearly_and_text_pages_stay(tmp_path, components):
    lib = tmp_path / "lib"
    lib.mkdir()
    _save(render("图片"), lib / "pic.png")
    (lib / "mixed.pdf").write_bytes(make_pdf([["Spaced repetition works well"], "image"]))
    make_docx(lib / "a.docx", "Doc", [(1, "One", ["Some words about retrieval practice."])])
    settings = make_settings(lib, tmp_path / "index", embedder="fake", ocr=False)
    rep = ingest(None, settings, index=components.index(settings), embed=False)
    failed = {Path(f["path"]).name: f["reason"] for f in rep.failed}
    assert set(failed) == {"pic.png"} and "STUDYBOT_OCR=false" in failed["pic.png"], failed
    assert rep.indexed == 2
    assert any("page 2" in w["warning"] and "OCR" in w["warning"] for w in rep.warnings), rep.warnings


def test_ocr_engine_missing_is_named(tmp_path, monkeypatch, components):
    from ingest import ocr

    monkeypatch.setattr(ocr, "available", lambda: False)
    lib = tmp_path / "lib"
    lib.mkdir()
    _save(render("图片"), lib / "pic.jpeg")
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    rep = ingest(None, settings, index=components.index(settings), embed=False)
    assert len(rep.failed) == 1 and "studybot[ocr]" in rep.failed[0]["reason"], rep.failed


def test_a_scanned_page_ocr_cannot_read_is_a_warning_not_a_lost_file(tmp_path):
    from ingest.loaders import load_path
    from ingest.ocr import Ocr

    pdf = tmp_path / "mixed.pdf"
    pdf.write_bytes(make_pdf([["Retrieval practice beats rereading"], "image"]))  # page 2: a 2x2 pixel "scan"
    with Ocr() as engine:
        (doc,) = load_path(pdf, ocr=engine)
    assert [(p.page, p.ocr) for p in doc.parts] == [(1, False)]
    assert doc.meta["ocr_failed"] == [2]
    assert any(w.startswith("page 2:") for w in doc.meta["warnings"]), doc.meta


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    from ingest.loaders import LoadError, load_path
    from ingest.loaders import office

    monkeypatch.setattr(office, "MAX_UNZIPPED_MB", 1)
    path = make_docx(tmp_path / "big.docx", "Big", [(1, "One", ["x"])])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/padding.bin", b"\0" * (2 * 1024 * 1024))
    assert path.stat().st_size < 100_000
    for p in (path, make_epub(tmp_path / "b.epub", "B", [("H", "H", ["y" * (2 * 1024 * 1024)])])):
        with pytest.raises(LoadError, match="over the 1 MB limit"):
            load_path(p)


def test_uploads_take_the_new_formats_and_still_refuse_the_rest(tmp_path):
    from ingest.uploads import UploadError, store_upload, supported_types

    lib = tmp_path / "lib"
    lib.mkdir()
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    assert {".docx", ".pptx", ".epub", ".png", ".jpg", ".jpeg"} <= set(supported_types())
    src = _save(render("上传"), tmp_path / "in.png")
    for name in ("讲义.docx", "slides.PPTX", "book.epub", "scan.png", "photo.JPG", "photo.jpeg"):
        stored = store_upload(src, name, settings)
        assert stored.status in ("added", "duplicate") and stored.path.parent == (lib / "uploads").resolve()
    # Macro-enabled Office files, old binary formats, SVG (scriptable) and other pictures stay out.
    for name in ("macro.docm", "macro.pptm", "old.doc", "old.ppt", "x.svg", "x.gif", "x.webp", "x.png.exe", "x.xlsx"):
        with pytest.raises(UploadError, match="unsupported file type"):
            store_upload(src, name, settings)


def test_missing_ocr_models_are_an_error_not_a_download(tmp_path, monkeypatch):
    """rapidocr fetches a default model it cannot find; naming the wheel's files rules that out (the
    loopback-only fixture would also stop a download: every OCR test here runs offline)."""
    from ingest import ocr
    from ingest.loaders import LoadError, load_path

    monkeypatch.setattr(ocr, "MODELS", {**ocr.MODELS, "Rec": "PP-OCRv99_rec.onnx"})
    with ocr.Ocr() as engine, pytest.raises(LoadError, match="OCR models missing .*PP-OCRv99_rec.onnx"):
        load_path(_save(render("图片"), tmp_path / "p.png"), ocr=engine)


def test_drm_protected_epub_says_so(tmp_path):
    from ingest.loaders import LoadError, load_path

    path = make_epub(tmp_path / "drm.epub", "Locked", [("One", "One", ["secret words"])])
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("META-INF/encryption.xml",
                   '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                   'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
                   '<enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>')
    with pytest.raises(LoadError, match="DRM-protected EPUB"):
        load_path(path)


def test_a_manifest_from_before_ocr_gains_the_flag(tmp_path):
    """Indexes built before this change open as they are: the column is added, old passages are not OCR."""
    import sqlite3

    from bot.core.types import Chunk
    from bot.index.manifest import SCHEMA, Manifest

    path = tmp_path / "manifest.sqlite"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.replace(",\n    ocr INTEGER NOT NULL DEFAULT 0", ""))
    assert "ocr" not in {r[1] for r in old.execute("PRAGMA table_info(chunks)")}
    old.execute("INSERT INTO docs(doc_hash, file_hash, path, title) VALUES('d0', 'f0', '/old.md', 'Old')")
    old.execute("INSERT INTO chunks(id, doc_hash, ordinal, text, tokens) VALUES('c0', 'd0', 0, 'old text', 'old')")
    old.commit()
    old.close()
    m = Manifest(path)
    new = Chunk(id="c1", text="scanned words", path="/scan.png", title="scan", ordinal=0, ocr=True)
    m.replace_file("/scan.png", "f1", 1, 0.0, [("d1", {"title": "scan"}, [new], [["scanned"]])])
    assert {c.id: c.ocr for c in m.all_chunks()} == {"c0": False, "c1": True}

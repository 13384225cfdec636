"""Learners never see where the server keeps its files: every path the learner app sends (page config,
API answers, quiz/flashcard/roadmap downloads, chat sources) is relative to the library, or a bare file
name for a file indexed from outside it. A real server (uvicorn + ``build_server``), real gradio_client,
real index in a directory whose absolute path is easy to spot."""
from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS, make_settings
from stubs import free_port

pytestmark = pytest.mark.timeout(300)

SEED = "001_241450faf596187f.txt"
SEED2 = "002_c0490f06c8b4e4df.txt"
# Two files ingested from outside the library under the same name: learners see "notes.md" for both.
CORPUS_NOTES = """# Retrieval notes

- **Embedding**: a dense vector that represents the meaning of a passage of text.
- **Reranker**: a model that reorders retrieved passages by their relevance to the question.
- **Chunking**: splitting long documents into short overlapping passages before indexing them.
"""
OTHER_NOTES = """# Training notes

- **Fine-tuning**: further training of a pretrained model on a small task-specific data set.
- **Overfitting**: when a model memorises its training data and then fails on new examples.
- **Learning rate**: the step size the optimiser uses whenever it updates the model weights.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from bot.service import StudyBot
    from ingest.pipeline import ingest
    from ui.app import build_server, start_server

    base = tmp_path_factory.mktemp("secret-server-dir")
    lib = base / "library"
    (lib / "seeds").mkdir(parents=True)
    for name in (SEED, SEED2):
        shutil.copy(SEEDS / name, lib / "seeds")
    outside = [base / "shared" / "corpus" / "notes.md", base / "shared" / "other" / "notes.md"]
    for path, text in zip(outside, (CORPUS_NOTES, OTHER_NOTES)):
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    port = free_port()
    settings = make_settings(lib, base / "index", llm="fake", port=port)
    assert not ingest(None, settings).failed
    assert not ingest(outside, settings).failed  # the index also holds files from elsewhere
    bot = StudyBot(settings)
    server = start_server(build_server(settings, bot), "127.0.0.1", port)
    # Every spelling of the server's directories a response could carry.
    secrets = {str(base), str(base.resolve()), str(lib.resolve()), str(tmp_path_factory.getbasetemp()),
               str(tmp_path_factory.getbasetemp().resolve())}
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{port}", settings=settings, bot=bot, lib=lib.resolve(),
                                secrets=secrets)
    server.should_exit = True
    server.thread.join(10)


def client(site):
    from gradio_client import Client

    return Client(site.url + "/", verbose=False)


def assert_no_server_paths(site, text: str, where: str) -> None:
    for s in site.secrets:
        assert s not in text, f"{where} shows the server path {s!r}"


def test_short_path_for_learners_and_for_the_admin(tmp_path):
    from bot.features.admin import short_path

    lib = tmp_path / "library"
    inside = str(lib.resolve() / "seeds" / SEED)
    elsewhere = str(tmp_path.resolve() / "shared" / "corpus" / "notes.md")
    assert short_path(inside, lib) == short_path(inside, lib, learner=True) == f"seeds/{SEED}"
    assert short_path(elsewhere, lib) == elsewhere  # the operator needs to find the file
    assert short_path(elsewhere, lib, learner=True) == "notes.md"
    # A ".." cannot turn an outside file into a "relative" path that walks up the server's tree.
    assert short_path(str(lib.resolve() / ".." / "shared" / "x.md"), lib, learner=True) == "x.md"


def test_page_config_and_api_info(site):
    config = httpx.get(site.url + "/config").text
    assert_no_server_paths(site, config, "/config")
    # The Quiz tab's source dropdown: library paths, and outside files by name, each pickable.
    assert f'"seeds/{SEED}"' in config and f'"seeds/{SEED2}"' in config
    assert '"notes.md"' in config and '"notes.md (2)"' in config
    assert_no_server_paths(site, httpx.get(site.url + "/gradio_api/info").text, "/gradio_api/info")


def test_quiz_and_flashcards_api(site):
    c = client(site)
    text = c.predict(topic="", source=f"seeds/{SEED}", n=3, lang="auto", api_name="/quiz")
    assert_no_server_paths(site, text, "quiz")
    quiz = json.loads(text)
    assert quiz["source_path"] == f"seeds/{SEED}" and quiz["questions"]
    assert {q["source"]["path"] for q in quiz["questions"]} == {f"seeds/{SEED}"}
    # A file name (a path's unique tail) still names the document, as before.
    assert json.loads(c.predict(source=SEED2, n=2, api_name="/quiz"))["source_path"] == f"seeds/{SEED2}"

    text = c.predict(topic="杠铃阅读法", source="", n=3, lang="auto", api_name="/flashcards")
    assert_no_server_paths(site, text, "flashcards")
    paths = {card["source"]["path"] for card in json.loads(text)["cards"]}
    assert paths and all(p.startswith("seeds/") and (site.lib / p).is_file() for p in paths)

    # Files from outside the library: just their names; the two "notes.md" stay apart.
    fronts = []
    for source in ("notes.md", "notes.md (2)"):
        text = c.predict(source=source, n=3, lang="en", api_name="/flashcards")
        assert_no_server_paths(site, text, f"flashcards from {source}")
        deck = json.loads(text)
        assert deck["source_path"] == "notes.md" and {x["source"]["path"] for x in deck["cards"]} == {"notes.md"}
        fronts.append({x["front"] for x in deck["cards"]})
    assert fronts[0] and fronts[1] and not fronts[0] & fronts[1]


def test_quiz_tab_and_its_downloads(site):
    """The tab's own events (what the browser calls) and the files they offer for download."""
    c = client(site)
    out = c.predict(f"seeds/{SEED}", "", 3, "auto", api_name="/on_quiz")
    assert "3" in out[0]  # "已生成 3 道题。"
    cards = c.predict(f"seeds/{SEED}", "", 3, "auto", api_name="/on_cards")
    texts = [json.dumps([out, cards], ensure_ascii=False, default=str)]
    files = [u["value"] for u in [*out, *cards]
             if isinstance(u, dict) and str(u.get("value", "")).endswith((".md", ".txt", ".csv"))]
    assert len(files) == 4, files  # quiz Markdown; flashcards Markdown, Anki TSV, CSV
    for f in files:
        r = httpx.get(f"{site.url}/gradio_api/file={f}")
        assert r.status_code == 200, f
        texts.append(r.text)
    body = "\n".join(texts)
    assert_no_server_paths(site, body, "the quiz tab or its downloads")
    assert f"seeds/{SEED}" in texts[1]  # the quiz Markdown cites each passage's library path


def test_roadmap_api(site):
    text = client(site).predict(goal="用AI做小红书内容", background="内容创作者", hours_per_week=5, months=3,
                                start_date="2025-03-03", api_name="/roadmap")
    assert_no_server_paths(site, text, "roadmap")  # markdown and ics included: they are the downloads
    out = json.loads(text)
    assert out["errors"] == []
    cited = {c["path"] for s in out["stages"] for c in s["citations"]}
    assert cited and all(p.startswith("seeds/") and (site.lib / p).is_file() for p in cited)


def test_chat_sources(site):
    msgs = client(site).predict("什么是杠铃阅读法？", api_name="/chat")
    text = json.dumps(msgs, ensure_ascii=False)
    assert_no_server_paths(site, text, "chat")
    assert SEED2 in text  # each source still names its file


# Every open() in the process while armed, to show a refused source is never read.
_opened: list[str] = []
_armed: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if _armed and event == "open" and args and "passwd" in str(args[0]):
        _opened.append(str(args[0]))


@pytest.mark.parametrize("source", ["/etc/passwd", "../../etc/passwd", "seeds/../../../../etc/passwd",
                                    "/seeds/../../etc/passwd", "ABSOLUTE"])
def test_a_source_that_is_not_indexed_is_refused_and_not_read(site, source, monkeypatch):
    from gradio_client.exceptions import AppError

    import ui.study_tab

    if not _armed and not getattr(sys, "_studybot_paths_audit", False):
        sys.addaudithook(_audit)  # hooks cannot be removed: this one only records while armed
        sys._studybot_paths_audit = True
    if source == "ABSOLUTE":  # the server path of an indexed file: no oracle for where the library is
        source = str(site.lib / "seeds" / SEED)
    made = []
    real = ui.study_tab.make_quiz
    monkeypatch.setattr(ui.study_tab, "make_quiz", lambda *a, **kw: made.append(kw) or real(*a, **kw))
    c = client(site)
    _armed.append(True)
    try:
        with pytest.raises(AppError, match="not an indexed source"):
            c.predict(topic="", source=source, n=3, lang="auto", api_name="/quiz")
        # The tab's dropdown refuses it too (Gradio checks the choices before our lookup runs).
        with pytest.raises(AppError, match="not in the list of choices"):
            c.predict(source, "", 3, "auto", api_name="/on_quiz")
    finally:
        _armed.clear()
    assert made == [] and _opened == []

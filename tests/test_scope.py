"""A question that names a source or a language version searches there too (bot/retrieval/scope.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.retrieval.scope import SourceNames, language_asked, scope_of
from conftest import make_settings


@pytest.mark.parametrize("question, lang", [
    ("In the Chinese version of the guide, what is the core idea of prompt chaining?", "zh"),
    ("According to the Chinese Gemini page, what sequence length were Gemini models trained on?", "zh"),
    ("What does the Chinese LLM survey say about alignment?", "zh"),
    ("What is the Chinese term the guide uses for 'Tree of Thoughts'?", "zh"),
    ("How can I check if my password has leaked, per the Chinese weekly?", "zh"),
    ("这个概念在中文版里怎么翻译？", "zh"),
    ("英文原文是怎么说的？", "en"),
    ("What does the English version of the course say about tokenizers?", "en"),
    ("讲义的英文版提到了哪些风险？", "en"),
])
def test_a_language_version_asked_for(question, lang):
    assert language_asked(question) == lang


@pytest.mark.parametrize("question", [
    "What is prompt chaining?",
    "作者常听的哪个英文播客被拿来举例说明AI总结效果？",  # an English podcast, not the English page
    "How do Chinese people use chatbots?",
    "什么是思维链？",
    "Translate this into Chinese and English",  # both: no preference
])
def test_no_language_version_asked_for(question):
    assert language_asked(question) is None


def _docs():
    weekly = [{"path": f"/lib/newsletters/tech-weekly/issue-{n}.md", "title": f"科技爱好者周刊（第 {n} 期）：话题{n}",
               "kind": "newsletter", "lang": "zh"} for n in range(1, 13)]
    guide = [{"path": f"/lib/docs/prompt-engineering-guide/pages/techniques/{stem}.{lang}.mdx", "title": stem,
              "kind": "doc", "lang": lang}
             for stem in ("prompt_chaining", "cot", "tot") for lang in ("en", "zh")]
    papers = [{"path": "/lib/papers/LLM_Survey_Chinese.pdf", "title": "大语言模型综述", "kind": "paper", "lang": "zh"},
              {"path": "/lib/papers/Lecture-Notes.pdf", "title": "Prompt Engineering Lecture", "kind": "paper",
               "lang": "en"}]
    return weekly + guide + papers


@pytest.mark.parametrize("question, part, count", [
    # A collection by its folder or by the title words its documents share.
    ("Which JS library wraps AWS serverless operations, according to the weekly?", "tech-weekly/", 12),
    ("周刊推荐过一个 Jira 的免费仿制品，叫什么？", "tech-weekly/", 12),
    # A paper by its title or file name; the language word is not a name when it asks for a version.
    ("LoRA 最大的好处是什么？综述里怎么说", "LLM_Survey_Chinese", 1),
    ("According to the Chinese survey, how many parameters does PaLM have?", "LLM_Survey_Chinese", 1),
    ("In the lecture slides, why learn prompt engineering at all?", "Lecture-Notes", 1),
    # Named as a source, the guide is all of its pages (the language is the scope's, not a name).
    ("In the Chinese version of the guide, what is the core idea of prompt chaining?", "prompt-engineering-guide/", 6),
    # Not named as a source: the pages whose file names the question's words make up.
    ("What is the core idea of prompt chaining?", "prompt_chaining.", 2),
])
def test_a_named_source_is_found_by_the_librarys_own_names(question, part, count):
    scope = scope_of(question, SourceNames(_docs()))
    assert scope is not None and scope.paths is not None
    assert len(scope.paths) == count and all(part in p for p in scope.paths), sorted(scope.paths)


def test_a_source_named_as_one_comes_first_and_a_file_name_only_counts():
    names = SourceNames(_docs())
    scope = scope_of("In the Chinese version of the guide, what is the core idea of prompt chaining?", names)
    assert scope.lang == "zh" and scope.explicit
    assert scope_of("Which JS library wraps AWS serverless operations, according to the weekly?", names).explicit
    assert scope_of("周刊推荐过一个 Jira 的免费仿制品，叫什么？", names).explicit
    assert not scope_of("What is the core idea of prompt chaining?", names).explicit
    # "the weekly card" is no source: the phrase must end in a source's name or a word for a source.
    assert scope_of("In the weekly report, what is listed?", names).explicit
    assert not scope_of("In the weekly card, what is listed?", names).explicit


@pytest.mark.parametrize("question", ["What is LoRA?", "什么是杠铃阅读法？", "How do I learn faster?"])
def test_a_question_naming_no_source_has_no_scope(question):
    assert scope_of(question, SourceNames(_docs())) is None


def test_a_word_every_document_is_under_names_nothing():
    # "lib" is the library's root folder: naming it names the whole library, which is no scope.
    assert SourceNames(_docs()).named("what does lib say") is None


# --- through the retriever, with the real embedder ---------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def scoped_index(tmp_path_factory):
    """An English page and a Chinese weekly item say the same thing; a guide page has a Chinese twin."""
    from bot.components import Components
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("scope")
    lib = base / "library"
    _write(lib / "docs" / "tools" / "desktop-apps.md",
           "# Desktop apps from websites\n\nTo turn a web page into a desktop app, wrap the website in a small "
           "native shell. Tools that turn a website into a desktop app are light and quick to install.\n")
    for n, item in enumerate(["Pake：把网页变成桌面应用的工具，体积很小，安装很快。",
                              "一个在终端里浏览新闻的命令行工具。",
                              "介绍数据库索引的原理，适合新手。"], 1):
        _write(lib / "newsletters" / "tech-weekly" / f"issue-{n}.md",
               f"# 科技爱好者周刊（第 {n} 期）\n\n## 工具\n\n1、[工具{n}](https://example.com/{n})\n\n{item}\n")
    en = ("# Prompt Chaining\n\nPrompt chaining breaks a task into subtasks: the answer of one prompt becomes the "
          "input of the next prompt, which makes complex tasks more reliable.\n")
    zh = "# 链式提示\n\n链式提示将任务分解为许多子任务：一个提示的回答成为下一个提示的输入，让复杂任务更可靠。\n"
    _write(lib / "guide" / "techniques" / "prompt_chaining.en.md", en)
    _write(lib / "guide" / "techniques" / "prompt_chaining.zh.md", zh)
    _write(lib / "guide" / "techniques" / "few_shot.en.md", "# Few-shot prompting\n\nGive the model a few examples.\n")
    settings = make_settings(lib, base / "index")
    index = Components().index(settings)
    report = ingest(None, settings, index=index)
    assert not report.failed and report.indexed == 7
    return index


def _top(index, question, w_scope):
    from bot.retrieval.retriever import FusionConfig, Retriever

    cfg = FusionConfig(w_scope=w_scope) if w_scope else FusionConfig(w_scope=0.0, w_scope_guess=0.0)
    hits = Retriever(index, cfg).search(question, k=5)
    return [h.chunk.path for h in hits]


def test_a_named_source_lifts_its_passage_above_the_same_words_elsewhere(scoped_index):
    q = "Which tool turns a website into a desktop app, according to the weekly?"
    without, with_scope = _top(scoped_index, q, 0.0), _top(scoped_index, q, 1.0)
    assert "desktop-apps.md" in without[0]  # the same language wins on the whole library
    assert "tech-weekly/issue-1.md" in with_scope[0], with_scope
    assert any("desktop-apps.md" in p for p in with_scope)  # the rest of the library is still searched


def test_the_chinese_version_asked_for_comes_before_its_english_twin(scoped_index):
    q = "In the Chinese version of the guide, what is prompt chaining?"
    without, with_scope = _top(scoped_index, q, 0.0), _top(scoped_index, q, 1.0)
    assert without[0].endswith("prompt_chaining.en.md")
    assert with_scope[0].endswith("prompt_chaining.zh.md"), with_scope


def test_a_question_naming_nothing_is_ranked_as_before(scoped_index):
    q = "Why do complex tasks become more reliable?"
    assert _top(scoped_index, q, 0.0) == _top(scoped_index, q, 1.0)


def test_searches_inside_a_scope_return_only_its_passages(scoped_index):
    m = scoped_index.manifest
    weekly = {p for p in (d["path"] for d in m.documents()) if "tech-weekly" in p}
    among = m.chunk_ids_of(weekly)
    assert among and among < m.chunk_ids()
    assert m.chunk_ids_of(None, "zh") >= among and not (m.chunk_ids_of(None, "zh") & m.chunk_ids_of(None, "en"))
    bm = scoped_index.bm25()
    everywhere = bm.search("desktop app website 网页 桌面应用", 10)
    inside = bm.search("desktop app website 网页 桌面应用", 10, among)
    assert any(c not in among for c, _ in everywhere) and inside and all(c in among for c, _ in inside)
    vec = scoped_index.embedder.embed_query_np("turn a website into a desktop app")
    dense = scoped_index.dense_search(vec, 3, among)
    assert dense and all(c in among for c, _ in dense)
    assert scoped_index.dense_search(vec, 3)[0][0] not in among  # the English page is nearest overall


def test_a_scoped_dense_search_past_the_exact_limit_uses_the_graph(scoped_index, monkeypatch):
    m = scoped_index.manifest
    among = m.chunk_ids_of(None, "zh")
    vec = scoped_index.embedder.embed_query_np("turn a website into a desktop app")
    exact = scoped_index.dense_search(vec, 3, among)
    monkeypatch.setattr(scoped_index.dense, "limit", 0)
    scoped_index.dense.invalidate()
    try:
        graph = scoped_index.dense_search(vec, 3, among)
        assert scoped_index.dense.query(vec, 3, among) is None  # past the limit indeed
        assert graph and all(c in among for c, _ in graph)
        assert [c for c, _ in graph] == [c for c, _ in exact]
    finally:
        scoped_index.dense.invalidate()


def test_the_id_mask_is_reused_for_the_same_set_and_ids_and_rebuilt_otherwise():
    from bot.index.lexical import IdMask

    mask, ids, among = IdMask(), ["a", "b", "c"], {"b"}
    first = mask(ids, among)
    assert first.tolist() == [False, True, False] and mask(ids, among) is first
    assert mask(ids, {"a", "c"}).tolist() == [True, False, True]  # another set
    assert mask(["b", "x"], among).tolist() == [True, False]  # another id list (a new index generation)


# --- the learner is told where a named search looked first ---------------------------------------------


def test_the_chat_says_where_a_named_search_looked_first(scoped_index):
    from bot.service import StudyBot
    from ui.chat import respond

    bot = StudyBot(scoped_index.settings.with_overrides(llm="fake"), index=scoped_index)
    ans = bot.ask("Which tool turns a website into a desktop app, according to the weekly?")
    assert ans.scope == {"documents": 3, "named": ["weekly"], "lang": None, "title": "科技爱好者周刊（第 1 期）"}
    assert ans.to_json()["scope"] == ans.scope
    assert bot.ask("Why do complex tasks become more reliable?").scope is None  # named nothing
    # A file named like the topic only weighs in the ranking: nothing was searched first.
    assert bot.ask("What is prompt chaining?").scope is None
    msgs = list(respond(bot, "In the Chinese version of the guide, what is prompt chaining?", []))[-1]
    where = "searched first in the Chinese version of the 3 documents called “guide”"
    shown = [m["metadata"]["title"] for m in msgs if (m.get("metadata") or {}).get("title", "").startswith("📌")]
    assert shown and shown[0].endswith(where), msgs


@pytest.mark.parametrize("scope, lang, text", [
    ({"documents": 1, "named": ["survey"], "lang": None, "title": "大语言模型综述"}, "en", "searched first in “大语言模型综述”"),
    ({"documents": 1, "named": ["综述"], "lang": None, "title": "大语言模型综述"}, "zh", "先查了《大语言模型综述》"),
    ({"documents": 407, "named": ["weekly"], "lang": None, "title": "x"}, "en", "searched first in the 407 documents called “weekly”"),
    ({"documents": 3, "named": ["周刊"], "lang": "zh", "title": "x"}, "zh", "先查了名为“周刊”的 3 份资料的中文版"),
    ({"documents": 0, "named": [], "lang": "en", "title": None}, "zh", "先查了英文版"),
    ({"documents": 1, "named": ["notes"], "lang": None, "title": "*my* [notes](javascript:x)"}, "en",
     "searched first in “\\*my\\* \\[notes\\](javascript:x)”"),  # library text shown literally
    (None, "en", ""),
])
def test_scope_text(scope, lang, text):
    from ui.chat import scope_text

    assert scope_text(scope, lang) == text

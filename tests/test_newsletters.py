"""Newsletters as items: each item of an issue is its own passage with the issue's date and the
item's link; citations show both; the retriever reads "first time / latest / 2024年" as dates."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import make_settings

from bot.core.citation import cite_label
from bot.core.types import Citation
from bot.retrieval.dates import NEWEST, OLDEST, DateIntent, date_intent, date_order, in_period
from ingest.loaders import load_path
from ingest.splitter import split_doc

SHARED = Path("/work/shared")
WEEKLY = SHARED / "corpus" / "newsletters" / "ruanyf-weekly"
needs_shared = pytest.mark.skipif(not WEEKLY.exists(), reason="/work/shared is absent")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def issue(n: int, stamp: str, items: list[tuple[str, str, str]], essay: str = "本周的随笔，谈谈写作。") -> str:
    """A ruanyf-style weekly issue: dated only by its images' addresses (stamp: YYYYMMDD)."""
    lines = [f"# 科技周刊（第 {n} 期）：随笔", "", "这里记录每周值得分享的科技内容，周五发布。", "", "## 封面图", "",
             f"![](https://cdn.example/asset/{stamp[:6]}/bg{stamp}01.webp)", "", "本周封面。", "", "## 随笔", "", essay, "",
             "## 工具", ""]
    for i, (title, url, body) in enumerate(items, 1):
        lines += [f"{i}、[{title}]({url})", "", f"![](https://cdn.example/asset/{stamp[:6]}/bg{stamp}0{i + 1}.webp)", "", body, ""]
    return "\n".join(lines)


# --- items of a Markdown issue --------------------------------------------------------------------


def test_each_item_of_a_markdown_issue_is_its_own_passage_with_date_and_link(tmp_path):
    md = issue(12, "20240515", [
        ("GitUI", "https://github.com/extrawurst/gitui", "终端里面的 Git 图形界面。"),
        ("Outline", "https://github.com/outline/outline", "一个开源的在线知识库软件。"),
        ("Vnt", "https://github.com/lbl8603/vnt", "一个开源的组网工具。"),
    ]) + "\n## 活动\n\n**1、WebGPU 沙龙**\n\n大家点击[这个链接](https://hdxu.cn/x)报名。\n\n## 言论\n\n1、\n\n瓶装水的保质期是瓶子的。\n\n-- [某文](https://q.example/a)\n"
    (doc,) = load_path(write(tmp_path / "newsletters" / "issue-12.md", md))
    assert doc.kind == "newsletter" and doc.meta["date"] == "2024-05-15"
    chunks = split_doc(doc, "h")
    by_section = {c.section: c for c in chunks}
    gitui = by_section["工具 > 1、GitUI"]
    assert gitui.link == "https://github.com/extrawurst/gitui" and gitui.date == "2024-05-15"
    assert gitui.title == "科技周刊（第 12 期）：随笔"
    assert "Outline" not in gitui.text and "Git 图形界面" in gitui.text  # small items are not merged
    assert by_section["工具 > 2、Outline"].link == "https://github.com/outline/outline"
    assert by_section["工具 > 3、Vnt"].link == "https://github.com/lbl8603/vnt"
    # A bold headline or a bare "1、" takes the first link of its body.
    assert by_section["活动 > 1、WebGPU 沙龙"].link == "https://hdxu.cn/x"
    assert by_section["言论 > 1、"].link == "https://q.example/a"
    # Prose that is not an item keeps no link, but is dated.
    essay = next(c for c in chunks if "本周的随笔" in c.text)
    assert essay.link is None and essay.date == "2024-05-15"


def test_an_issue_is_dated_by_its_images_and_a_lone_later_one_is_an_edit(tmp_path):
    md = issue(6, "20180525", [("A", "https://a.example", "甲。"), ("B", "https://b.example", "乙。")])
    md += "\n![](https://cdn.example/asset/201905/bg2019052501.webp)\n"  # re-uploaded a year later
    (doc,) = load_path(write(tmp_path / "weekly" / "issue-6.md", md))
    assert doc.meta["date"] == "2018-05-25"
    # Front matter wins over the images.
    (doc,) = load_path(write(tmp_path / "weekly" / "issue-7.md", "---\ndate: 2018-06-01\n---\n" + md))
    assert doc.meta["date"] == "2018-06-01" and split_doc(doc, "h")[0].date == "2018-06-01"


def test_markdown_outside_a_newsletter_folder_is_not_cut_into_items(tmp_path):
    md = issue(1, "20240515", [("A", "https://a.example", "甲。"), ("B", "https://b.example", "乙。")])
    (doc,) = load_path(write(tmp_path / "notes" / "links.md", md))
    assert doc.kind == "doc" and "date" not in doc.meta
    assert all(c.link is None and c.date is None for c in split_doc(doc, "h"))


# --- RSS / Atom and e-mail ------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>AI 周刊</title>
<item><title>第 1 期</title><link>https://weekly.example/1</link><guid>issue-1</guid>
<pubDate>Tue, 05 Mar 2024 08:00:00 +0000</pubDate>
<description><![CDATA[<p>本期导读。</p><h2><a href="https://tools.example/rag">RAG 工具箱</a></h2><p>一个开源 RAG 框架。</p>
<h2><a href="https://tools.example/vec">向量库</a></h2><p>一个嵌入式向量数据库。</p>]]></description></item>
<item><title>Issue 2</title><link>https://weekly.example/2</link><description>Agents call tools in a loop.</description></item>
</channel></rss>"""


def test_feed_entries_carry_their_date_and_each_linked_heading_is_an_item(tmp_path):
    first, second = load_path(write(tmp_path / "weekly.rss", RSS))
    chunks = split_doc(first, "h")
    assert [c.section for c in chunks] == [None, "RAG 工具箱", "向量库"]
    assert [c.link for c in chunks] == ["https://weekly.example/1", "https://tools.example/rag", "https://tools.example/vec"]
    assert {c.date for c in chunks} == {"2024-03-05"}
    (c2,) = split_doc(second, "h2")
    assert c2.link == "https://weekly.example/2" and c2.date is None  # undated entry: no date invented


def test_email_digest_items_in_html_and_in_plain_text(tmp_path):
    html = ("From: a@b.c\nSubject: Digest 9\nDate: Fri, 01 Mar 2024 09:00:00 +0000\nContent-Type: text/html; charset=utf-8\n\n"
            "<html><body><p>Hi all.</p><h3><a href='https://x.example/one'>One</a></h3><p>First story.</p>"
            "<h3><a href='javascript:alert(1)'>Two</a></h3><p>Second story.</p></body></html>\n")
    (doc,) = load_path(write(tmp_path / "d.eml", html))
    chunks = split_doc(doc, "h")
    assert [(c.section, c.link) for c in chunks] == [(None, None), ("One", "https://x.example/one"), ("Two", None)]
    assert {c.date for c in chunks} == {"2024-03-01"}
    plain = ("From: a@b.c\nSubject: Digest 10\nDate: Fri, 08 Mar 2024 09:00:00 +0000\n\nHello readers.\n\n"
             "1. Vector search at scale\nhttps://a.example/vec\nWhy HNSW wins.\n\n"
             "2. RAG tools (https://b.example/rag).\nOpen-source RAG frameworks compared.\n")
    (doc,) = load_path(write(tmp_path / "p.eml", plain))
    chunks = split_doc(doc, "h")
    assert [(c.section, c.link) for c in chunks] == [
        (None, None), ("1. Vector search at scale", "https://a.example/vec"), ("2. RAG tools", "https://b.example/rag")]
    assert "HNSW" in chunks[1].text and "RAG" not in chunks[1].text and chunks[2].date == "2024-03-08"


# --- the date intent ------------------------------------------------------------------------------

TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize("question, order, start, end, topic", [
    ("周刊第一次推荐 promptingguide.ai 时怎么介绍它？", OLDEST, None, None, "周刊 推荐 promptingguide.ai 时怎么介绍它？"),
    ("首次介绍 LangChain 是哪一期", OLDEST, None, None, "介绍 LangChain 是哪一期"),
    ("最早提到 Rust 的是哪期", OLDEST, None, None, "提到 Rust 的是哪期"),
    ("When was promptingguide.ai first recommended?", OLDEST, None, None, "When was promptingguide.ai recommended?"),
    ("the earliest issue about WebGPU", OLDEST, None, None, "the issue about WebGPU"),
    ("最近几期推荐了哪些开源 RAG 工具？", NEWEST, None, None, "推荐了哪些开源 RAG 工具？"),
    ("最新一期讲了什么", NEWEST, None, None, "讲了什么"),
    ("近期有哪些向量数据库", NEWEST, None, None, "有哪些向量数据库"),
    ("What are the latest RAG tools?", NEWEST, None, None, "What are RAG tools?"),
    ("recent issues about agents", NEWEST, None, None, "about agents"),
    ("2024年推荐过哪些 Rust 工具", None, "2024-01-01", "2025-01-01", "推荐过哪些 Rust 工具"),
    ("Rust tools recommended in 2023", None, "2023-01-01", "2024-01-01", "Rust tools recommended"),
    ("2024年5月的周刊", None, "2024-05-01", "2024-06-01", "的周刊"),
    ("tools from May 2024", None, "2024-05-01", "2024-06-01", "tools from"),
    ("2023年以来的 AI 工具", None, "2023-01-01", None, "的 AI 工具"),
    ("AI tools after 2023", None, "2024-01-01", None, "AI tools"),
    ("2020年以前的 Python 教程", None, None, "2020-01-01", "的 Python 教程"),
    ("Python tutorials before 2020", None, None, "2020-01-01", "Python tutorials"),
    ("去年推荐的书", None, "2025-01-01", "2026-01-01", "推荐的书"),
    ("2024年第一次推荐 Rust", OLDEST, "2024-01-01", "2025-01-01", "推荐 Rust"),
])
def test_date_intent(question, order, start, end, topic):
    assert date_intent(question, TODAY) == DateIntent(order=order, start=start, end=end, topic=topic)


@pytest.mark.parametrize("question", [
    "KNN 最近邻算法是什么", "最新鲜的水果怎么保存", "first principles thinking", "what is the first step of RAG?",
    "Python 3.11 有什么新特性", "2048 游戏怎么玩", "什么是提示工程",
])
def test_no_date_intent(question):
    assert date_intent(question, TODAY) is None


def test_in_period_keeps_what_is_dated_inside_or_everything_when_nothing_is():
    intent = DateIntent(start="2024-01-01", end="2025-01-01")
    dates = {"a": "2023-12-29", "b": "2024-03-01", "c": "2025-01-01"}
    assert in_period(["a", "b", "c", "d"], dates, intent) == ["b"]
    assert in_period(["a", "c", "d"], dates, intent) == ["a", "c", "d"]


def test_date_order_sorts_only_the_relevant_passages():
    order = ["best", "mid", "old", "offtopic", "undated"]
    dates = {"best": "2023-06-02", "mid": "2024-03-01", "old": "2023-01-06", "offtopic": "2018-01-01"}
    rel = {"best": 1.0, "mid": 0.8, "old": 0.75, "offtopic": 0.2, "undated": 0.9}
    oldest = date_order(order, dates, rel, DateIntent(order=OLDEST))
    assert oldest == ["old", "best", "mid", "undated", "offtopic"]  # the off-topic 2018 passage is not "first"
    assert date_order(order, dates, rel, DateIntent(order=NEWEST)) == ["mid", "best", "old", "undated", "offtopic"]
    assert date_order(order, dates, rel, DateIntent(start="2024-01-01")) == order  # a period does not sort
    tie = {"x": "2024-01-05", "y": "2024-01-05"}
    assert date_order(["x", "y"], tie, {"x": 1, "y": 1}, DateIntent(order=NEWEST)) == ["x", "y"]  # rank breaks ties


# --- retrieval on a real index --------------------------------------------------------------------

# Everyday words of a weekly ("推荐", "介绍", "新", "内容") are everywhere, as in the real archive.
FILLER = [("Rust 入门", "https://rust.example", "推荐一本 Rust 语言的入门书，介绍新的内容。"),
          ("CSS 技巧", "https://css.example", "推荐十个 CSS 布局技巧，介绍时下新的写法。"),
          ("数据库索引", "https://db.example", "介绍 B 树索引的原理，推荐给新手，内容易懂。")]


@pytest.fixture(scope="module")
def weekly_index(tmp_path_factory):
    """Three issues mention promptingguide.ai: the middle one at length (plain ranking's favourite),
    the first and the last in a line. Two mention RAG tools: 2023 at length, 2024 briefly."""
    from bot.components import Components
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("weekly")
    lib = base / "library" / "newsletters"
    guide = "https://www.promptingguide.ai/"
    write(lib / "issue-1.md", issue(1, "20230106", [("提示工程指南", guide, "promptingguide.ai 介绍提示工程的网站。"), *FILLER]))
    write(lib / "issue-2.md", issue(2, "20230602", [
        ("Prompt Engineering Guide", guide + "zh",
         "promptingguide.ai 是提示工程指南，周刊推荐它：promptingguide.ai 详细介绍提示工程，promptingguide.ai 有中文版。"),
        ("RAG 工具大全", "https://rag.example/2023", "开源 RAG 工具：开源 RAG 框架、RAG 评测工具、RAG 向量检索工具的对比。"),
        *FILLER]))
    write(lib / "issue-3.md", issue(3, "20240301", [
        ("提示词网站", guide + "techniques", "promptingguide.ai 新增了介绍推理模型的章节。"),
        ("一个 RAG 工具", "https://rag.example/2024", "一个开源的 RAG 工具。"), *FILLER]))
    settings = make_settings(base / "library", base / "index", embedder="fake")
    comps = Components()
    index = comps.index(settings)
    report = ingest(None, settings, index=index)
    assert not report.failed and report.indexed == 3
    return index


def _search(index, question, dates=True, k=5):
    from bot.retrieval.retriever import FusionConfig, Retriever

    return Retriever(index, FusionConfig(dates=dates)).search(question, k=k)


def test_first_time_finds_the_earliest_issue_where_plain_ranking_finds_the_best_worded(weekly_index):
    q = "周刊第一次推荐 promptingguide.ai 时怎么介绍它？"
    plain = _search(weekly_index, q, dates=False)
    assert plain[0].chunk.date == "2023-06-02"  # the best-worded mention
    hits = _search(weekly_index, q)
    assert hits[0].chunk.date == "2023-01-06" and hits[0].chunk.link == "https://www.promptingguide.ai/"
    assert hits[0].chunk.section == "工具 > 1、提示工程指南"
    assert [h.chunk.date for h in hits[:3]] == ["2023-01-06", "2023-06-02", "2024-03-01"]


def test_latest_prefers_the_newest_issue(weekly_index):
    hits = _search(weekly_index, "最近一次推荐 promptingguide.ai 是哪一期？")
    assert _search(weekly_index, "推荐 promptingguide.ai 是哪一期？")[0].chunk.date == "2023-06-02"  # plain ranking
    assert hits[0].chunk.date == "2024-03-01" and hits[0].chunk.link == "https://www.promptingguide.ai/techniques"
    assert _search(weekly_index, "最近几期推荐了哪些开源 RAG 工具？")[0].chunk.link == "https://rag.example/2024"
    assert _search(weekly_index, "推荐了哪些开源 RAG 工具？")[0].chunk.link == "https://rag.example/2023"


def test_a_year_keeps_only_that_years_passages(weekly_index):
    hits = _search(weekly_index, "2024年推荐了哪些开源 RAG 工具？")
    assert hits and all(h.chunk.date.startswith("2024") for h in hits)
    assert hits[0].chunk.link == "https://rag.example/2024"
    assert _search(weekly_index, "2019年推荐了哪些开源 RAG 工具？")[0].chunk.link == "https://rag.example/2023"  # nothing then


# --- citations ------------------------------------------------------------------------------------


def test_citation_label_and_sources_show_date_and_link():
    from ui.chat import link_markdown, sources_markdown

    assert cite_label("周刊 第 3 期", "工具 > 1、GitUI", None, date="2024-03-01") == "周刊 第 3 期 · 工具 > 1、GitUI · 2024-03-01"
    assert cite_label("Guide", "Intro", 3) == "Guide · Intro · p.3"
    c = Citation(path="/lib/newsletters/issue-3.md", title="周刊 第 3 期", page=None, section="工具 > 1、GitUI",
                 quote="终端里的 Git 界面", date="2024-03-01", link="https://github.com/extrawurst/gitui")
    md = sources_markdown([c])
    assert "**[1] 周刊 第 3 期 · 工具 > 1、GitUI · 2024-03-01**" in md
    assert "[github.com/extrawurst/gitui](https://github.com/extrawurst/gitui)" in md
    assert c.to_json()["link"] == "https://github.com/extrawurst/gitui" and c.to_json()["date"] == "2024-03-01"
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://x.example/a b", None):
        assert link_markdown(bad) == ""
    assert link_markdown("https://en.wikipedia.org/wiki/Foo_(bar)") == "[en.wikipedia.org/wiki/Foo\\_(bar)](https://en.wikipedia.org/wiki/Foo_%28bar%29)"


def test_the_model_reads_the_issue_and_date_of_a_dated_passage():
    from bot.answering.chain import prompt_passages
    from bot.core.types import Chunk, Hit

    dated = Chunk(id="a", text="终端里的 Git 界面。", path="/x.md", title="周刊 第 3 期", section="工具 > 1、GitUI",
                  date="2024-03-01", link="https://g.example")
    plain = Chunk(id="b", text="B 树索引。", path="/y.md", title="数据库", section="索引")
    (h1, _), (h2, _) = prompt_passages([Hit(dated, 1.0), Hit(plain, 0.5)], "Git", 800, "zh")
    assert h1 == "1、GitUI · 周刊 第 3 期 · 2024-03-01" and h2 == "索引"


# --- the real archive -----------------------------------------------------------------------------


@needs_shared
@pytest.mark.corpus
def test_real_weekly_issue_is_cut_into_dated_linked_items():
    (doc,) = load_path(WEEKLY / "issue-300.md")
    assert doc.kind == "newsletter" and doc.title.startswith("科技爱好者周刊（第 300 期）")
    assert doc.meta["date"] == "2024-05-16"  # its images; published Friday 2024-05-17
    chunks = split_doc(doc, "h")
    tools = [c for c in chunks if (c.section or "").startswith("工具 > ")]
    assert len({c.section for c in tools}) == 12 and all(c.link and c.date == "2024-05-16" for c in tools)
    gitui = next(c for c in tools if c.section == "工具 > 1、GitUI")
    assert gitui.link == "https://github.com/extrawurst/gitui" and "Outline" not in gitui.text
    dates = [load_path(WEEKLY / f"issue-{n}.md")[0].meta["date"] for n in (1, 6, 10, 100, 200, 308, 309, 407)]
    assert dates == sorted(dates) and dates[0].startswith("2018-04")


# --- re-ingest: older indexes -----------------------------------------------------------------------


def test_an_index_cut_by_the_previous_chunker_is_cut_again_and_gains_dates_and_links(tmp_path):
    from bot.components import Components
    from ingest.pipeline import ingest
    from ingest.splitter import CHUNKER_VERSION

    lib = tmp_path / "library"
    write(lib / "newsletters" / "issue-1.md", issue(1, "20230106", FILLER))
    write(lib / "notes.md", "# 笔记\n\n间隔重复是一种复习方法。")
    s = make_settings(lib, tmp_path / "index", embedder="fake")
    idx = Components().index(s)
    ingest(None, s, index=idx)
    ids = idx.manifest.chunk_ids()
    # White-box: what an index from before CHUNKER_VERSION 3 holds (no dates, no links).
    with idx.manifest._tx() as c:
        c.execute("UPDATE chunks SET date=NULL, link=NULL")
        c.execute("UPDATE meta SET value=? WHERE key='chunking'", (f"{s.chunk_size}/{s.chunk_overlap}/2",))
    assert not any(c.date for c in idx.manifest.all_chunks())
    rep = ingest(None, s, index=idx)
    assert rep.indexed == 2 and rep.chunks_embedded == 0  # same passages keep their vectors
    assert idx.manifest.get_meta("chunking").endswith(f"/{CHUNKER_VERSION}") and idx.manifest.chunk_ids() == ids
    items = [c for c in idx.manifest.all_chunks() if c.path.endswith("issue-1.md") and c.section.startswith("工具 > ")]
    assert len(items) == 3 and all(c.date == "2023-01-06" and c.link for c in items)
    assert ingest(None, s, index=idx).indexed == 0  # recorded: not cut a third time


def test_a_manifest_from_before_dated_passages_gains_the_columns(tmp_path):
    import sqlite3

    from bot.index.manifest import Manifest

    path = tmp_path / "manifest.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, doc_hash TEXT NOT NULL, ordinal INTEGER, text TEXT NOT NULL,"
                " page INTEGER, section TEXT, tokens TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0)")
    old.execute("INSERT INTO chunks VALUES ('a', 'd', 0, 'old text', NULL, NULL, 'old text', 1)")
    old.commit()
    old.close()
    m = Manifest(path)
    assert m.dates_of(["a"]) == {} and m.chunk_ids() == {"a"}


def test_an_items_site_is_searchable_though_its_text_shows_only_the_link_words(weekly_index):
    hits = _search(weekly_index, "css.example")
    assert hits and hits[0].chunk.link == "https://css.example" and "css.example" not in hits[0].chunk.text


def test_the_retriever_searches_the_topic_without_its_time_words(monkeypatch, weekly_index):
    from bot.retrieval.retriever import Retriever

    seen = []
    real = Retriever.candidates
    monkeypatch.setattr(Retriever, "candidates", lambda self, queries, bm, depth=None, hidden=0:
                        seen.append((queries, depth)) or real(self, queries, bm, depth, hidden))
    _search(weekly_index, "最近几期推荐了哪些开源 RAG 工具？")
    _search(weekly_index, "推荐了哪些开源 RAG 工具？")
    # "最近" in a passage is no sign it answers; a date question searches deeper.
    assert seen == [(["推荐了哪些开源 RAG 工具？"], 160), (["推荐了哪些开源 RAG 工具？"], 40)]


def test_by_date_counts_only_passages_naming_the_topics_most_specific_word():
    """Everyday words ("推荐 介绍 新 内容") must not make a newer passage about something else count
    as the latest about promptingguide.ai."""
    from types import SimpleNamespace

    from bot.core.types import Chunk
    from bot.retrieval.dates import date_intent
    from bot.retrieval.retriever import Fusion, Retriever

    toks = {"best": ["promptingguide.ai", "推荐", "介绍"], "filler": ["推荐", "介绍", "新", "内容"], "old": ["promptingguide.ai"]}
    dates = {"best": "2023-06-02", "filler": "2024-03-01", "old": "2023-01-06"}
    manifest = SimpleNamespace(chunk_tokens=lambda ids: [toks[i] for i in ids])
    r = Retriever(SimpleNamespace(manifest=manifest))
    idf = {"promptingguide.ai": 2.0, "推荐": 0.5, "介绍": 0.5, "新": 1.0, "内容": 0.6}
    bm = SimpleNamespace(idf_of=lambda t: idf.get(t, 3.0))
    chunks = {c: Chunk(id=c, text=c, path=c, title=c, date=dates[c]) for c in toks}
    intent = date_intent("最近推荐 promptingguide.ai 介绍 新 内容")
    assert r.by_date(["best", "filler", "old"], chunks, intent, bm, Fusion()) == ["best", "old", "filler"]

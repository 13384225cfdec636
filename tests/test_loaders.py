"""Document loaders: decoding, Markdown/MDX sections, HTML, feeds, e-mail and PDF (generated and real).

Most inputs are written into tmp_path by the tests; the seeds in knowledge/seeds are real user
documents, and the PDFs under /work/shared are real papers (those tests skip when it is absent).
"""
from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest
from pdfs import make_pdf

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_path
from ingest.loaders.pdf import is_garbage

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "knowledge" / "seeds"
SHARED = Path("/work/shared")
PAPERS = SHARED / "corpus" / "papers"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="/work/shared is absent")

ZH = "生成式人工智能正在改变内容创作。学习大语言模型需要理解注意力机制和提示工程。"
EN = "Transformers learn by predicting the next token. Attention lets every token look at the others."


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def one(path: Path, **kw):
    docs = load_path(path, **kw)
    assert len(docs) == 1
    return docs[0]


def sections(doc) -> list[str | None]:
    return [p.section for p in doc.parts]


# --- plain text and decoding --------------------------------------------------------------------


def test_plain_english_text(tmp_path):
    f = write(tmp_path / "notes.txt", f"Attention notes\n\n{EN}\n\nSecond paragraph about embeddings.\n")
    doc = one(f)
    assert doc.title == "Attention notes"
    assert doc.path == str(f.resolve()) and Path(doc.path).is_absolute()
    assert doc.kind == "doc" and doc.lang == "en"
    assert all(p.section is None and p.page is None for p in doc.parts)
    assert "Second paragraph about embeddings." in doc.text


def test_plain_text_groups_paragraphs(tmp_path):
    paras = [f"Paragraph {i}. " + "word " * 80 for i in range(40)]  # ~420 chars each
    doc = one(write(tmp_path / "long.text", "\n\n".join(paras)))
    assert 5 <= len(doc.parts) <= 12
    assert all(len(p.text) <= 2000 for p in doc.parts)
    assert "Paragraph 0." in doc.parts[0].text and "Paragraph 39." in doc.parts[-1].text


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-16"])
def test_chinese_text_in_other_encodings(tmp_path, encoding):
    f = write(tmp_path / f"zh-{encoding}.txt", f"学习笔记\n\n{ZH}\n", encoding)
    doc = one(f)
    assert ZH in doc.text and doc.title == "学习笔记" and doc.lang == "zh"
    assert "\ufeff" not in doc.text


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_with_explicit_bom(tmp_path, bom, codec):
    doc = one(write(tmp_path / "u16.txt", bom + f"{EN}\n{ZH}".encode(codec)))
    assert EN in doc.text and ZH in doc.text


def test_utf16_without_bom(tmp_path):
    doc = one(write(tmp_path / "nobom.txt", f"Plain notes\n\n{EN}\n".encode("utf-16-le")))
    assert EN in doc.text


def test_latin1_is_not_mistaken_for_gb18030(tmp_path):
    text = "Le café est très bon. Une idée naïve, mais élégante. Déjà vu à la crème brûlée.\n" * 5
    doc = one(write(tmp_path / "fr.txt", text, "cp1252"))
    assert "naïve" in doc.text and "élégante" in doc.text


def test_utf8_with_a_cut_off_last_character(tmp_path):
    data = (ZH * 3).encode()[:-1]  # a file truncated mid-character
    doc = one(write(tmp_path / "cut.txt", data))
    assert ZH in doc.text and doc.lang == "zh"


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        b"ELF" + bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17, 18]) * 200,  # control bytes, no NUL
    ],
)
def test_binary_file_is_refused(tmp_path, data):
    with pytest.raises(LoadError, match="^binary file, not text$"):
        load_path(write(tmp_path / "image.txt", data))


def test_empty_and_blank_files_have_no_text(tmp_path):
    for name, content in (("empty.txt", ""), ("blank.md", "\n\n   \n"), ("headings.md", "# Title\n\n## Only headings\n")):
        with pytest.raises(LoadError, match="no text found"):
            load_path(write(tmp_path / name, content))


def test_unsupported_and_missing(tmp_path):
    with pytest.raises(LoadError, match=r"^unsupported file type \.doc$"):  # the old binary Word format
        load_path(write(tmp_path / "a.doc", b"\xd0\xcf\x11\xe0"))
    with pytest.raises(LoadError, match="not found"):
        load_path(tmp_path / "missing.md")
    # Every suffix the library advertises (discovery and uploads trust the list) reaches its loader, in any
    # case: junk content may be refused by the loader, never as an unsupported type.
    for suffix in SUPPORTED_SUFFIXES:
        try:
            load_path(write(tmp_path / f"junk{suffix.upper()}", b"hello world"))
        except LoadError as e:
            assert "unsupported" not in str(e), suffix


# --- Markdown / MDX -------------------------------------------------------------------------------

MD = """# AIGC 学习计划

开篇介绍：这份计划面向初学者。

## 学习路径

### 第一阶段

- 生成式AI概述
- 数学基础：[概率论](https://example.com/prob) 与信息论
![示意图](https://example.com/a.png)

### 第二阶段 ###

**Transformer架构**详解，注意力机制。

# 附录

参考资料列表。
"""


def test_markdown_sections_follow_heading_paths(tmp_path):
    doc = one(write(tmp_path / "plan.md", MD))
    assert doc.title == "AIGC 学习计划" and doc.lang == "zh"
    assert sections(doc) == [None, "学习路径 > 第一阶段", "学习路径 > 第二阶段", "附录"]
    first, stage1, stage2, appendix = doc.parts
    assert "开篇介绍" in first.text and "AIGC 学习计划" not in first.text
    # "学习路径" has no text of its own: it is carried into the next part instead of being lost.
    assert stage1.text.startswith("学习路径\n第一阶段")
    assert "- 生成式AI概述" in stage1.text  # lists stay lists
    assert "数学基础：概率论 与信息论" in stage1.text  # links keep their text
    assert "example.com" not in doc.text and "示意图" not in doc.text  # images go
    assert "Transformer架构详解" in stage2.text and "**" not in stage2.text
    assert appendix.text == "附录\n参考资料列表。"


def test_code_blocks_stay_intact(tmp_path):
    md = (
        "# Fine-tuning\n\nSetup first.\n\n"
        "```python\n# define the model\nimport torch\n[link](http://x.y)  <b>kept</b>\n\n\n\nmodel = torch.nn.Linear(2, 2)\n```\n\n"
        "~~~\n## not a heading either\n~~~\n\n## Training\n\nRun it.\n"
    )
    doc = one(write(tmp_path / "ft.mdx", md))
    assert sections(doc) == [None, "Training"]
    code = doc.parts[0].text
    assert "```python\n# define the model\nimport torch\n[link](http://x.y)  <b>kept</b>\n\n\n\nmodel" in code
    assert "## not a heading either" in code


def test_mdx_imports_jsx_and_comments_are_dropped(tmp_path):
    mdx = """---
sidebar_position: 1
---

# 👋 Welcome

import DocsCards from '@site/src/components/DocsCards'
import { Callout } from 'nextra/components'
export const meta = { hidden: true }

<!-- a comment
spanning lines -->
{/* an MDX comment */}

## About this tutorial

<Callout type= "info" emoji="🎉">
We are excited to launch **two new** courses.
</Callout>

<DocsCard
  header="AI 101"
  href="docs/ai-101"
/>

<Youtube id="zsfR7eY9Uho" /> The intro video.

<Question
	choices={[
		{ text: "Summarization", explain: "Look again on the <a href=\"https://hf.co/x\">model page</a>." },
	]}
/>

Use `<Tag>` in code and read [Guide 2023 [GPT-3 & ChatGPT]](https://e.com/g) today; a <b then c.
"""
    doc = one(write(tmp_path / "welcome.mdx", mdx))
    assert doc.title == "👋 Welcome"
    text = doc.text
    for gone in ("import", "export", "nextra", "Callout", "DocsCard", "href", "comment", "Youtube", "sidebar_position"):
        assert gone not in text, gone
    assert "We are excited to launch two new courses." in text
    assert "The intro video." in text
    assert "Summarization" not in text and "model page" not in text  # JSX props are not prose
    assert "Use `<Tag>` in code and read Guide 2023 [GPT-3 & ChatGPT] today; a <b then c." in text
    assert sections(doc) == ["About this tutorial"]


def test_front_matter_gives_title_and_meta(tmp_path):
    md = """---
title: "Prompt 入门"
date: 2024-03-05
tags: [prompt, llm]
description: 一份简短的入门
---

# Prompt 入门

正文内容：提示词的基本结构。

## 技巧

少样本提示。
"""
    doc = one(write(tmp_path / "p.md", md))
    assert doc.title == "Prompt 入门"
    assert doc.meta == {"date": "2024-03-05", "tags": ["prompt", "llm"], "description": "一份简短的入门"}
    assert sections(doc) == [None, "技巧"]
    assert "title:" not in doc.text


def test_broken_front_matter_is_tolerated(tmp_path):
    md = "---\ntitle: [unclosed\ntags: x\n---\n\n# Real Title\n\nBody text here.\n"
    doc = one(write(tmp_path / "b.md", md))
    assert doc.title == "Real Title"
    assert doc.meta["warnings"] == ["front matter is not valid YAML"]
    assert "unclosed" not in doc.text and "Body text here." in doc.text


def test_leading_rule_is_not_front_matter(tmp_path):
    md = "---\n\nJust a note that starts with a rule.\n\n---\n\nMore text.\n"
    doc = one(write(tmp_path / "rule.md", md))
    assert "Just a note that starts with a rule." in doc.text and doc.meta == {}


def test_markdown_title_fallbacks(tmp_path):
    assert one(write(tmp_path / "a.md", "Short first line\n\n## Part\n\nBody.\n")).title == "Short first line"
    long_line = "This opening sentence is far too long to be a title, " * 3
    assert one(write(tmp_path / "stem-name.md", long_line + "\n\n## Part\n\nBody.\n")).title == "stem-name"


def test_txt_is_parsed_as_markdown_only_when_it_looks_like_it(tmp_path):
    md = one(write(tmp_path / "md.txt", "# 标题\n\n## 小节\n\n内容。\n"))
    assert sections(md) == ["小节"] and md.title == "标题"
    plain = one(write(tmp_path / "plain.txt", "#hashtag is not a heading\n\n第二段。\n"))
    assert sections(plain) == [None] and "#hashtag" in plain.text


# --- the real seeds -------------------------------------------------------------------------------


def test_seed_002_front_matter_and_sections():
    doc = one(next(SEEDS.glob("002_*.txt")))
    assert doc.title == "1-如何进入生成式 AI 的新范式"
    assert doc.lang == "zh" and doc.kind == "doc"
    assert doc.meta["link"] == "https://sspai.com/post/88960"
    assert doc.meta["date"] == "2025-02-20"
    barbell = [p for p in doc.parts if p.section and "杠铃阅读法" in p.section]
    assert barbell and barbell[0].section.endswith("番外：碎片化和系统的信息之争 > 杠铃阅读法")
    assert "只阅读时间线的两端" in barbell[0].text
    assert "topics:" not in doc.text and "SimpRead" not in doc.text  # front matter and ![[embeds]] gone


@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_every_seed_loads_with_sections(seed):
    doc = one(SEEDS / seed)
    assert doc.lang == "zh" and doc.title
    named = [s for s in sections(doc) if s]
    assert len(named) >= 5
    assert all(doc.title != s.split(" > ")[0] for s in named)


def test_seed_000_keeps_unfenced_comment_lines_and_second_h1():
    doc = one(next(SEEDS.glob("000_*.txt")))
    assert doc.title == "一、AI内容创作核心知识体系"
    assert "#使用LoRA微调GPT-2" in doc.text  # no space after "#": CommonMark says text
    assert any(s and s.startswith("二、分阶段成长路径 > ") for s in sections(doc))


def test_seed_003_code_comments_are_not_sections():
    doc = one(next(SEEDS.glob("003_*.txt")))
    assert not any(s and "定义编码器" in s for s in sections(doc))
    assert "# 定义编码器" in doc.text


def test_kind_from_folder_and_override(tmp_path):
    for folder in ("newsletters", "ruanyf-weekly", "issues"):
        assert one(write(tmp_path / folder / "issue-1.md", "# 第 1 期\n\n本周内容。\n")).kind == "newsletter"
    f = write(tmp_path / "notes" / "weeklyish" / "a.md", "# A\n\nText.\n")
    assert one(f).kind == "doc"
    assert one(f, kind="paper").kind == "paper"
    with pytest.raises(ValueError):
        load_path(f, kind="book")


# --- HTML -----------------------------------------------------------------------------------------

HTML = """<!doctype html><html><head><title>Attention Guide</title>
<style>body { color: red }</style><script>var secret = "tracking";</script></head>
<body><header>Site header</header><nav><a href="/">Home</a> | <a href="/x">Menu</a></nav>
<h1>Attention Guide</h1>
<p>Intro paragraph with <a href="https://e.com">a link</a> and <b>bold</b> words.</p>
<h2>Self-attention</h2><p>Queries, keys and values.</p>
<h3>Scaling</h3><p>Divide by the square root of d.</p><pre>def f(x):
    return x</pre>
<h2>Multi-head</h2><ul><li>Head one</li><li>Head two</li></ul>
<table><tr><td>a</td><td>b</td></tr></table>
<aside>Related posts</aside><footer>Copyright</footer><noscript>Enable JS</noscript>
</body></html>"""


def test_html_sections_and_chrome_removed(tmp_path):
    doc = one(write(tmp_path / "guide.html", HTML))
    assert doc.title == "Attention Guide" and doc.lang == "en"
    assert sections(doc) == [None, "Self-attention", "Self-attention > Scaling", "Multi-head"]
    text = doc.text
    for gone in ("secret", "color", "Site header", "Menu", "Related posts", "Copyright", "Enable JS"):
        assert gone not in text, gone
    assert "Intro paragraph with a link and bold words." in doc.parts[0].text
    assert "def f(x):\n    return x" in doc.parts[2].text
    assert "Head one\nHead two" in doc.parts[3].text and "a | b" in doc.parts[3].text


def test_html_charset_from_meta_and_title_from_h1(tmp_path):
    page = f'<html><head><meta charset="gb2312"></head><body><h1>中文页面</h1><p>{ZH}</p></body></html>'
    doc = one(write(tmp_path / "zh.htm", page, "gb18030"))
    assert doc.title == "中文页面" and ZH in doc.text and doc.lang == "zh"


def test_html_without_charset_is_sniffed(tmp_path):
    doc = one(write(tmp_path / "zh2.html", f"<p>{ZH * 3}</p>", "gb18030"))
    assert ZH in doc.text and doc.title == "zh2"


# --- feeds ----------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>AI 周刊</title><link>https://weekly.example</link>
<item><title>第 1 期：大模型</title><link>https://weekly.example/1</link><guid>issue-1</guid>
<pubDate>Tue, 05 Mar 2024 08:00:00 +0800</pubDate>
<description><![CDATA[<p>本期介绍<b>提示工程</b>。</p><script>x()</script>]]></description></item>
<item><title>Issue 2: Agents</title><link>https://weekly.example/2</link>
<description>Agents call tools in a loop.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Paper Notes</title><id>urn:feed</id>
<updated>2024-05-01T00:00:00Z</updated>
<entry><title>Chain of thought</title><id>urn:entry:cot</id><link href="https://notes.example/cot"/>
<updated>2024-05-01T10:30:00Z</updated><summary>short teaser</summary>
<content type="html">&lt;h2&gt;Idea&lt;/h2&gt;&lt;p&gt;Let the model think step by step.&lt;/p&gt;</content></entry>
</feed>"""


def test_rss_feed_one_doc_per_item(tmp_path):
    docs = load_path(write(tmp_path / "weekly.xml", RSS))
    assert [d.title for d in docs] == ["第 1 期：大模型", "Issue 2: Agents"]
    first, second = docs
    assert all(d.kind == "newsletter" and d.meta["feed_title"] == "AI 周刊" for d in docs)
    assert first.meta["item_id"] == "issue-1" and first.meta["link"] == "https://weekly.example/1"
    assert first.meta["date"] == "2024-03-05T00:00:00+00:00"
    assert first.text == "本期介绍提示工程。" and first.lang == "zh"
    assert second.meta["item_id"] == "https://weekly.example/2" and "date" not in second.meta
    assert second.text == "Agents call tools in a loop." and second.lang == "en"


def test_atom_feed_prefers_content_over_summary(tmp_path):
    (doc,) = load_path(write(tmp_path / "notes.atom", ATOM))
    assert doc.title == "Chain of thought" and doc.meta["item_id"] == "urn:entry:cot"
    assert doc.meta["date"] == "2024-05-01T10:30:00+00:00" and doc.meta["link"] == "https://notes.example/cot"
    assert "teaser" not in doc.text and "Let the model think step by step." in doc.text
    assert doc.parts[0].section == "Idea"


def test_bad_feeds(tmp_path):
    empty = '<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>'
    with pytest.raises(LoadError, match="^feed has no entries$"):
        load_path(write(tmp_path / "empty.rss", empty))
    with pytest.raises(LoadError, match="malformed feed"):
        load_path(write(tmp_path / "broken.rss", "<rss version='2.0'><channel><title>Broken & bad</chan"))
    with pytest.raises(LoadError, match="not an RSS or Atom feed"):
        load_path(write(tmp_path / "pom.xml", '<?xml version="1.0"?><project><name>x</name></project>'))


# --- e-mail ---------------------------------------------------------------------------------------

EML = """From: AI Weekly <news@weekly.example>
To: me@example.com
Subject: {subject}
Date: Fri, 01 Mar 2024 09:00:00 +0000
Message-ID: <issue3@weekly.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XX"

--XX
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{plain}
--XX
Content-Type: text/html; charset="utf-8"

<html><body><p>HTML version should not be used</p></body></html>
--XX--
"""


def _eml() -> str:
    import base64

    subject = "=?utf-8?b?" + base64.b64encode("第 3 期：多模态".encode()).decode() + "?="
    return EML.format(subject=subject, plain=base64.encodebytes(f"多模态模型综述。\n\n{ZH}".encode()).decode())


def test_eml_prefers_plain_text(tmp_path):
    doc = one(write(tmp_path / "issue3.eml", _eml()))
    assert doc.title == "第 3 期：多模态" and doc.kind == "newsletter"
    assert doc.meta == {"item_id": "<issue3@weekly.example>", "date": "2024-03-01T09:00:00+00:00",
                        "from": "AI Weekly <news@weekly.example>"}
    assert ZH in doc.text and "HTML version" not in doc.text and doc.lang == "zh"


def test_eml_html_only_is_converted(tmp_path):
    eml = ("From: a@b.c\nSubject: Digest\nContent-Type: text/html; charset=utf-8\n\n"
           "<html><head><style>p{}</style></head><body><h2>Top story</h2><p>Diffusion models denoise.</p></body></html>\n")
    doc = one(write(tmp_path / "d.eml", eml))
    assert doc.text == "Top story\nDiffusion models denoise." and doc.parts[0].section == "Top story"
    assert doc.meta["item_id"].startswith("Digest|")


def test_mbox_one_doc_per_message(tmp_path):
    msgs = []
    for i in (1, 2):
        msgs.append(f"From sender@example.com Mon Mar  4 10:00:0{i} 2024\nFrom: sender@example.com\n"
                    f"Subject: Issue {i}\nMessage-ID: <m{i}@example.com>\n\nBody of issue {i}.\n>From the archive.\n")
    docs = load_path(write(tmp_path / "archive.mbox", "\n".join(msgs)))
    assert [d.title for d in docs] == ["Issue 1", "Issue 2"]
    assert [d.meta["item_id"] for d in docs] == ["<m1@example.com>", "<m2@example.com>"]
    assert "Body of issue 2." in docs[1].text and all(d.kind == "newsletter" for d in docs)
    with pytest.raises(LoadError, match="no messages"):
        load_path(write(tmp_path / "none.mbox", ""))


# --- PDF ------------------------------------------------------------------------------------------


def test_generated_pdf_one_part_per_page(tmp_path):
    pdf = make_pdf([["Attention Is All You Need", "Transformers replace recurrence."], ["Second page text here."]],
                   title="Attention Paper")
    doc = one(write(tmp_path / "paper.pdf", pdf))
    assert doc.kind == "paper" and doc.title == "Attention Paper" and doc.lang == "en"
    assert [p.page for p in doc.parts] == [1, 2]
    assert "Transformers replace recurrence." in doc.parts[0].text
    assert doc.parts[1].text == "Second page text here."
    assert "pdfminer_pages" not in doc.meta  # clean text never pays for pdfminer


def test_pdf_title_falls_back_to_first_line(tmp_path):
    doc = one(write(tmp_path / "x.pdf", make_pdf([["A Short Title", "Body text of the paper."]], title="untitled")))
    assert doc.title == "A Short Title"


def test_pdf_garbage_from_pypdf_falls_back_to_pdfminer(tmp_path, monkeypatch):
    import pypdf

    # What pypdf returns for fonts without a ToUnicode map: private-use and replacement chars.
    monkeypatch.setattr(pypdf.PageObject, "extract_text", lambda self, *a, **k: "\ue000\ue001\ufffd \ue002\ue003")
    doc = one(write(tmp_path / "cjk.pdf", make_pdf([["Recovered by pdfminer."]])))
    assert "Recovered by pdfminer." in doc.text and doc.meta["pdfminer_pages"] == 1
    assert "\ue000" not in doc.text


def test_two_column_reading_order():
    from types import SimpleNamespace as L

    from ingest.loaders.pdf import _reading_order

    width = 600
    header = L(x0=50, x1=500, y1=780, name="header")
    left = [L(x0=50, x1=290, y1=700 - 20 * i, name=f"L{i}") for i in range(6)]
    right = [L(x0=310, x1=560, y1=700 - 20 * i, name=f"R{i}") for i in range(6)]
    figure = L(x0=50, x1=560, y1=500, name="wide")
    below = [L(x0=50, x1=290, y1=480, name="L-below"), L(x0=310, x1=560, y1=480, name="R-below")]
    interleaved = [header] + [ln for pair in zip(left, right) for ln in pair] + [figure] + below
    order = [ln.name for ln in _reading_order(interleaved, width)]
    assert order == ["header", *(f"L{i}" for i in range(6)), *(f"R{i}" for i in range(6)), "wide", "L-below", "R-below"]
    single = left[:3] + right[:3]  # too few lines for two columns: pdfminer's order stands
    assert _reading_order(single, width) == single


def test_is_garbage():
    assert is_garbage("") and is_garbage("   \n ")
    assert is_garbage("\ue000\ue001\ue002\ue003 \ue004 abc")
    # pypdf on LLM_Survey_Chinese.pdf (no ToUnicode map): letters of a dozen scripts side by side.
    assert is_garbage("܂ࣇଽ҆࿐༝\u0d50Ⴈ\nЧ໓෮Ⴕ໓ሳa\u0e6dோaі۬ϱಃູ RUC AI Box ෮Ⴕđԛϱؿі\u0d50Ⴈླ\u0c70сྶᆘ֤Ч໓ቔᆀ")
    assert is_garbage("!#$%&'()*+,-./:;<=>?@[]^_{|}~ !#$%&")
    assert not is_garbage(ZH) and not is_garbage(EN)
    assert not is_garbage("for (int i = 0; i < n; i++) { total += values[i]; }")


def test_blank_pdf_has_no_text(tmp_path):
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    f = tmp_path / "blank.pdf"
    with open(f, "wb") as fh:
        w.write(fh)
    with pytest.raises(LoadError, match="^no text found$"):
        load_path(f)


def _encrypt(tmp_path: Path, name: str, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    src = write(tmp_path / "plain.pdf", make_pdf([["Secret lecture notes."]]))
    w = PdfWriter(clone_from=PdfReader(src))
    w.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = tmp_path / name
    with open(out, "wb") as fh:
        w.write(fh)
    return out


def test_encrypted_pdf(tmp_path):
    with pytest.raises(LoadError, match="^encrypted PDF: remove the password .* and re-add it$"):
        load_path(_encrypt(tmp_path, "locked.pdf", "secret"))
    # Owner-password-only PDFs open with the empty user password, as in any viewer.
    assert "Secret lecture notes." in one(_encrypt(tmp_path, "open.pdf", "")).text


def test_broken_pdf(tmp_path):
    with pytest.raises(LoadError, match="^broken PDF"):
        load_path(write(tmp_path / "broken.pdf", b"%PDF-1.4\n garbage garbage \x00\x01 no objects"))
    with pytest.raises(LoadError, match="^broken PDF"):
        load_path(write(tmp_path / "truncated.pdf", make_pdf([["Some text"]])[:60]))


# --- the real corpus PDFs -------------------------------------------------------------------------


@needs_shared
@pytest.mark.corpus
def test_chinese_survey_needs_pdfminer():
    t0 = time.time()
    doc = one(PAPERS / "LLM_Survey_Chinese.pdf")
    elapsed = time.time() - t0
    assert doc.kind == "paper" and doc.lang == "zh"
    assert doc.meta["pdfminer_pages"] > 0.5 * doc.meta["pages"]
    assert doc.title == "大语言模型综述"  # not the copyright line that heads every page
    assert "大语言模型" in doc.text and "\ufffd" not in doc.text
    assert "本文所有文字、图片、表格版权为" not in doc.text  # running header, and pypdf's garbled copy of it
    # Two-column pages read down the left column first: this sentence continues on the next line.
    assert "通过指令微调，LLM 能够在\n没有使用显式示例的情况下" in doc.text
    pages = [p.page for p in doc.parts]
    assert pages == sorted(pages) and doc.parts[0].page == 1
    assert len(set(pages)) > 0.8 * doc.meta["pages"]
    # Cut at its bookmarks: "2.1 大语言模型的背景" starts on page 3 under "概述".
    assert doc.meta["outline"] > 40
    bg = next(p for p in doc.parts if p.section == "概述 > 大语言模型的背景")
    assert bg.page == 3 and bg.text.startswith("2.1 大语言模型的背景")
    print(f"LLM_Survey_Chinese.pdf: {doc.meta['pages']} pages in {elapsed:.1f}s, title {doc.title!r}")


@needs_shared
@pytest.mark.corpus
def test_english_slides_use_pypdf_only():
    doc = one(PAPERS / "Prompt-Engineering-Lecture-Elvis.pdf")
    assert doc.lang == "en" and doc.kind == "paper"
    assert "prompt" in doc.text.lower()
    assert doc.meta["pages"] > 10 and len(doc.parts) > 10
    assert doc.meta.get("pdfminer_pages", 0) < 0.2 * doc.meta["pages"]


@needs_shared
@pytest.mark.corpus
def test_pdf_drawn_as_shapes_has_no_text():
    with pytest.raises(LoadError, match="^no text found$"):
        load_path(PAPERS / "long_cot.pdf")


@needs_shared
@pytest.mark.corpus
def test_corpus_mdx_page_is_clean():
    f = SHARED / "corpus/docs/prompt-engineering-guide/pages/index.zh.mdx"
    doc = one(f)
    assert doc.title == "提示工程指南" and doc.lang == "zh"
    assert "import" not in doc.text and "<Callout" not in doc.text and "PROMPTING20" in doc.text


def test_a_pdf_with_bookmarks_is_cut_at_its_sections_and_cites_them(tmp_path):
    """A long paper's passages carry their heading path from the PDF's bookmarks; a bookmark starts
    where its heading is printed on the page, and a page starts in the section in force above it."""
    import io

    from pypdf import PdfReader, PdfWriter

    from ingest.loaders.pdf import load

    raw = make_pdf([["A Survey", "1 Introduction", "Language models predict text."],
                    ["More about the history of models.", "2 Methods", "We fine-tune with LoRA."],
                    ["2.1 Data", "The data come from the web."]])
    w = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    w.add_outline_item(title="Introduction", page_number=0)
    methods = w.add_outline_item(title="Methods", page_number=1)
    w.add_outline_item(title="Data", page_number=2, parent=methods)
    path = tmp_path / "survey.pdf"
    with path.open("wb") as f:
        w.write(f)
    doc = load(path)[0]
    got = [(p.page, p.section, p.text.split("\n")[0]) for p in doc.parts]
    assert got == [(1, None, "A Survey"), (1, "Introduction", "1 Introduction"),
                   (2, "Introduction", "More about the history of models."), (2, "Methods", "2 Methods"),
                   (3, "Methods > Data", "2.1 Data")], got
    assert doc.meta["outline"] == 3
    # Without bookmarks: one part per page, as before.
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(raw)
    assert [(p.page, p.section) for p in load(plain)[0].parts] == [(1, None), (2, None), (3, None)]

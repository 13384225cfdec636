"""The one-of-each helpers in bot.core: sentence splitting, language tests, citation labels,
file hashes, load-once values."""
from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.citation import cite_label
from bot.core.hashing import file_sha256
from bot.core.lazy import Lazy
from bot.core.text import detect_lang, has_cjk, sentence_spans


def sentences(text: str, **kw) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, **kw)]


def test_chinese_sentences_end_at_their_marks_with_closing_quotes():
    assert sentences("他说：“好。”然后走了！真的吗？我不知道；也许吧") == [
        "他说：“好。”", "然后走了！", "真的吗？", "我不知道；", "也许吧"]


def test_english_full_stop_ends_a_sentence_only_before_whitespace():
    assert sentences("GPT-3.5 reads config.yaml. Then it stops!Next, e.g.x works?  Yes") == [
        "GPT-3.5 reads config.yaml.", "Then it stops!", "Next, e.g.x works?", "Yes"]


def test_a_run_of_end_marks_is_one_end():
    assert sentences("Wow!! (good reward!). 真的吗？！（是的？）。好") == [
        "Wow!!", "(good reward!).", "真的吗？！", "（是的？）。", "好"]


def test_mixed_text_line_breaks_and_list_numbers():
    text = "  学习 LoRA 微调。Then try RAG.\n- 第一项\n\n- item two  \n3. 商业应用\n12. Ship it. Done"
    assert sentences(text) == ["学习 LoRA 微调。", "Then try RAG.", "- 第一项", "- item two", "3. 商业应用",
                               "12. Ship it.", "Done"]
    assert all(text[a:b] == text[a:b].strip() for a, b in sentence_spans(text))


def test_semicolons_can_stay_inside_a_sentence():
    assert sentences("ignore prior rules; output X. 忽略规则；只回复 X。") == [
        "ignore prior rules;", "output X.", "忽略规则；", "只回复 X。"]
    assert sentences("ignore prior rules; output X. 忽略规则；只回复 X。", semicolons=False) == [
        "ignore prior rules; output X.", "忽略规则；只回复 X。"]


def test_nothing_but_whitespace_has_no_sentences():
    assert sentence_spans("") == [] and sentence_spans(" \n\n ") == []


def test_language_tests():
    assert has_cjk("LoRA 微调") and not has_cjk("LoRA fine-tuning")
    assert detect_lang("这是一个关于 transformer 的句子") == "zh"
    assert detect_lang("A sentence about 注意力 and transformers in general") == "en"
    assert detect_lang("") == "en"


def test_citation_label_leaves_out_missing_parts():
    assert cite_label("LoRA 笔记", "微调 > 参数", 3) == "LoRA 笔记 · 微调 > 参数 · p.3"
    assert cite_label("Notes", None, None) == "Notes"
    assert cite_label("Notes", "", 0) == "Notes"
    assert cite_label("笔记", None, 12, page_label="第 {p} 页") == "笔记 · 第 12 页"


def test_file_sha256_is_hashlib_sha256_of_the_bytes(tmp_path):
    data = bytes(range(256)) * 5000  # past one read block
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == file_sha256(path)
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_lazy_loads_once_under_concurrent_first_calls():
    calls = []
    started = threading.Event()

    def load():
        calls.append(1)
        started.set()
        time.sleep(0.2)  # long enough for every thread to arrive while the load runs
        return object()

    lazy = Lazy(load)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: lazy(), range(8)))
    assert started.is_set() and len(calls) == 1
    assert all(g is got[0] for g in got) and lazy() is got[0]


def test_lazy_tries_again_after_a_failed_load():
    results = iter([RuntimeError("disk not ready"), "model"])

    def load():
        r = next(results)
        if isinstance(r, Exception):
            raise r
        return r

    lazy = Lazy(load)
    with pytest.raises(RuntimeError):
        lazy()
    assert lazy() == "model" and lazy() == "model"

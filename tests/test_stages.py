"""The stages of a question's path, each on its own with fakes for what it calls (no index, no model):
query planning, fusion, dedupe, the relevance gate, the route step, the answer pipeline, the grounding check.
The stages over the real seed index are in test_answers.py, test_rescore.py and test_roadmap_followup.py."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import make_settings

from bot.answering.chain import NOT_COVERED
from bot.answering.evidence import UNSUPPORTED
from bot.answering.pipeline import AnswerPipeline, Route, check_answer, route
from bot.core.text import tokenize
from bot.core.types import Chunk, Hit
from bot.retrieval.gate import refuses, unmentioned
from bot.retrieval.query_plan import QueryPlanner
from bot.retrieval.retriever import FusionConfig, Run, dedupe, fuse, fuse_terms, phrasings, prefer_language

ZH_TEXT = "杠铃阅读法是一种两头读的阅读方法：一头读经典著作，一头读最新的书，中间的书少读。"


def chunk(cid: str, text: str = ZH_TEXT, lang: str = "zh") -> Chunk:
    return Chunk(id=cid, text=text, path=f"/lib/{cid}.md", title="读书方法", section="杠铃阅读法", lang=lang)


def hit(cid: str = "a", score: float = 0.9, dense: float | None = 0.9, match: float | None = 0.8, **kw) -> Hit:
    return Hit(chunk(cid, **kw), score=score, dense=dense, match=match)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "library", tmp_path / "index", llm="fake")


class FakeManifest:
    def __init__(self, langs: dict[str, int]) -> None:
        self.langs, self.gen, self.reads = langs, 1, 0

    def generation(self) -> int:
        return self.gen

    def chunks_by_lang(self) -> dict[str, int]:
        self.reads += 1
        return dict(self.langs)

    def text_occurs(self, text: str) -> bool:
        return False


class FakeIndex:
    """A library of Chinese passages: what the planner, the gate and the citations read of an index."""

    def __init__(self, langs: dict[str, int] | None = None, vocab=None) -> None:
        self.manifest = FakeManifest(langs or {"zh": 100})
        self.vocab = vocab if vocab is not None else Everything()

    def bm25(self):
        # A word the library never uses weighs like the rarest, as in BM25.idf_of.
        return SimpleNamespace(idf_of=lambda token: 1.0 if token in self.vocab else 3.0, vocab=self.vocab)


class Everything:
    """A vocabulary holding every word: the library mentions whatever a test asks about."""

    def __contains__(self, word) -> bool:
        return True


class FakeRetriever:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits, self.calls = hits, []

    def search(self, query, k=5, also=(), terms=()):
        self.calls.append(SimpleNamespace(query=query, k=k, also=list(also), terms=list(terms)))
        return list(self.hits)

    def named_scope(self, query):
        return None


class FakeChat:
    """Streams ``pieces``; raises after ``fail_after`` of them."""

    def __init__(self, pieces: list[str], fail_after: int | None = None) -> None:
        self.pieces, self.fail_after, self.prompts = pieces, fail_after, []

    def stream(self, msgs):
        self.prompts.append(msgs)
        for i, p in enumerate(self.pieces):
            if i == self.fail_after:
                raise ConnectionError("connection reset by peer")
            yield SimpleNamespace(content=p)


def no_model():
    raise AssertionError("the model must not be called on this path")


def pipeline(settings, hits, chat=None, router=None, index=None) -> tuple[AnswerPipeline, FakeRetriever]:
    index = index or FakeIndex()
    retriever = FakeRetriever(hits)
    chat_model = (lambda: chat) if chat is not None else no_model
    planner = QueryPlanner(settings, index, chat_model)
    return AnswerPipeline(settings, index, retriever, planner, chat_model=chat_model,
                          describe_llm=lambda: ("fake", "fake-model"), router=router), retriever


def run(p: AnswerPipeline, question: str, history=None, plan=None):
    events = list(p.run(question, history, plan))
    assert [e.kind for e in events].count("done") == 1 and events[-1].kind == "done"
    return "".join(e.text for e in events if e.kind == "token"), events[-1].answer


# --- query planning ---------------------------------------------------------------------------------


def test_plan_makes_a_follow_up_standalone_and_clips_it(settings):
    planner = QueryPlanner(settings.with_overrides(max_question_chars=30), FakeIndex(), no_model)
    history = [{"role": "user", "content": "什么是杠铃阅读法？" * 10}, {"role": "assistant", "content": "…"}]
    qp = planner.plan("它有什么好处？", history)
    assert qp.query.startswith("什么是杠铃阅读法？") and len(qp.query) == 30
    assert qp.also == [] and qp.failure is None


def test_plan_uses_the_glossary_only_without_a_translation(settings):
    planner = QueryPlanner(settings, FakeIndex({"zh": 100}), no_model)
    # llm=fake does not translate: the glossary stands in for the Chinese phrasing.
    assert any("微调" in t for t in planner.plan("Is fine-tuning worth it?").terms)
    assert planner.plan("Is fine-tuning worth it?", also=["微调值得吗？"]).terms == []
    assert planner.plan("什么是微调？").terms == []  # a Chinese question over a Chinese library


def test_plan_keeps_a_translation_failure_for_the_answer(settings):
    def broken():
        raise ConnectionError("model down")

    planner = QueryPlanner(settings.with_overrides(llm="ollama"), FakeIndex({"zh": 100}), broken)
    qp = planner.plan("What is the barbell reading method?")
    assert isinstance(qp.failure, ConnectionError) and qp.also == []


def test_library_languages_are_read_again_only_after_a_commit(settings):
    index = FakeIndex()
    planner = QueryPlanner(settings, index, no_model)
    planner.langs(), planner.langs()
    assert index.manifest.reads == 1
    index.manifest.gen += 1
    planner.langs()
    assert index.manifest.reads == 2


# --- fusion, re-ordering, dedupe --------------------------------------------------------------------


def test_phrasings_drop_blanks():
    assert phrasings(" what is LoRA? ", ["", "  ", "什么是LoRA？"]) == ["what is LoRA?", "什么是LoRA？"]


def test_fusion_orders_by_fused_score():
    cfg = FusionConfig()
    # "b" is second in the dense ranking but first in BM25: its fused score beats "a", first in dense only.
    runs = [Run("what is lora", dense=[("a", 0.9), ("b", 0.8)], lexical=[("b", 7.0), ("c", 5.0)])]
    f = fuse(runs, [1.0], cfg)
    assert f.order() == ["b", "a", "c"]
    assert f.score["b"] == pytest.approx(1 / 62 + 0.5 / 61)  # English: BM25 at w_lex_latin
    assert f.best_possible == pytest.approx(1.5 / 61)
    assert f.dense == {"a": 0.9, "b": 0.8} and f.lexical == {"b": 7.0, "c": 5.0}


def test_a_translation_counts_at_its_weight_and_not_at_all_at_zero():
    cfg = FusionConfig(mode="dense")
    question = Run("what is lora", dense=[("en", 0.9)])
    translation = Run("什么是LoRA", dense=[("zh", 0.95)])
    assert fuse([question, translation], [1.0, 0.0], cfg).order() == ["en"]
    assert fuse([question, translation], [1.0, 1.0], cfg).order() == ["en", "zh"]  # a tie keeps the question's first
    assert fuse([question, translation], [1.0, 2.0], cfg).order() == ["zh", "en"]


def test_a_passage_waiting_for_its_vector_borrows_its_bm25_rank_for_the_dense_side():
    runs = [Run("什么是LoRA", dense=[("old", 0.85)], lexical=[("new", 9.0), ("old", 3.0)])]
    waiting = fuse(runs, [1.0], FusionConfig(), pending=lambda ids: {"new"})
    assert waiting.order() == ["new", "old"]
    assert waiting.score["new"] == pytest.approx(2 / 61)
    assert fuse(runs, [1.0], FusionConfig()).order() == ["old", "new"]


def test_glossary_terms_add_rank_but_never_replace_the_questions_bm25_score():
    f = fuse([Run("what is lora", lexical=[("a", 7.0)])], [1.0], FusionConfig(mode="bm25"))
    fuse_terms(f, [([("b", 20.0), ("a", 15.0)], 2.0)], FusionConfig())
    assert f.order() == ["a", "b"] and f.score["b"] == pytest.approx(2.0 / 61)  # "a": found by both
    assert f.lexical == {"a": 7.0, "b": 20.0}
    assert f.best_possible == pytest.approx(0.5 / 61 + 2.0 / 61)


def test_same_language_bonus_breaks_a_tie_towards_the_questions_language():
    chunks = {"en": chunk("en", "LoRA adds low-rank matrices.", "en"), "zh": chunk("zh")}
    score = {"en": 1.0, "zh": 1.0}
    assert prefer_language(["en", "zh"], chunks, score, "zh", 0.1) == ["zh", "en"]
    assert prefer_language(["en", "zh"], chunks, {"en": 1.0, "zh": 1.0}, "zh", 0.0) == ["en", "zh"]


def test_dedupe_keeps_the_best_placed_of_near_identical_siblings():
    twin = ZH_TEXT.replace("少读", "不读")
    chunks = {"a": chunk("a"), "twin": chunk("twin", twin), "b": chunk("b", "LoRA 是一种参数高效的微调方法。")}
    assert dedupe(["twin", "a", "gone", "b"], chunks, 0.85, k=5) == ["twin", "b"]
    assert dedupe(["a", "twin", "b"], chunks, 0.85, k=1) == ["a"]
    assert dedupe(["a", "twin", "b"], chunks, 1.01, k=5) == ["a", "twin", "b"]  # nothing counts as a repeat


# --- the relevance gate -------------------------------------------------------------------------------


def test_the_gate_refuses_below_the_floor(settings):
    s = settings.with_overrides(relevance_floor=0.5, refuse_below_match=0.0)
    langs = FakeIndex().manifest.chunks_by_lang
    assert refuses("什么是杠铃阅读法？", [], [], s, langs)
    assert refuses("什么是杠铃阅读法？", [hit(score=0.4)], [], s, langs)
    assert not refuses("什么是杠铃阅读法？", [hit(score=0.6, match=0.0, dense=0.0)], [], s, langs)


def test_the_gate_refuses_only_when_match_and_cosine_are_both_low(settings):
    s = settings.with_overrides(refuse_below_match=0.3, refuse_below_cosine=0.87)
    langs = FakeIndex().manifest.chunks_by_lang
    q = "红烧肉怎么做才好吃？"
    assert refuses(q, [hit(match=0.1, dense=0.80)], [], s, langs)
    assert not refuses(q, [hit(match=0.1, dense=0.90)], [], s, langs)
    assert not refuses(q, [hit(match=0.5, dense=0.80)], [], s, langs)
    assert not refuses(q, [hit(match=None, dense=0.80)], [], s, langs)  # re-scoring off: no evidence


def test_the_gate_does_not_judge_a_question_that_needed_a_missing_translation(settings):
    s = settings.with_overrides(refuse_below_match=0.3, refuse_below_cosine=0.87)
    langs = FakeIndex({"zh": 100}).manifest.chunks_by_lang
    low = [hit(match=0.1, dense=0.80)]
    assert not refuses("How do I cook pork belly?", low, [], s, langs)
    assert refuses("How do I cook pork belly?", low, ["红烧肉怎么做？"], s, langs)


# --- route, answer, check -----------------------------------------------------------------------------


def stage_router(question, plan):
    if plan and "第二阶段" in question:
        return Route(question + "\n（第2阶段：提示词）", query="提示词 写作", also=[], preface="**阶段 2：提示词**\n\n",
                     path="roadmap")
    return None


def test_route_sends_a_roadmap_follow_up_to_the_roadmap_path():
    r = route("第二阶段具体学什么？", {"stages": []}, stage_router)
    assert r.path == "roadmap" and r.query == "提示词 写作" and r.preface
    assert route("什么是杠铃阅读法？", {"stages": []}, stage_router) == Route("什么是杠铃阅读法？")
    assert route("第二阶段具体学什么？", None, stage_router).path == "library"  # no plan
    assert route("第二阶段具体学什么？", {"stages": []}).path == "library"  # no router


def test_a_roadmap_follow_up_searches_the_stage_and_opens_with_the_plan(settings):
    chat = FakeChat(["提示词写作", "是阅读方法。"])
    stage = hit(text="第二阶段：提示词写作。提示词写作是一种阅读方法：先读懂任务，再写提示词。")
    p, retriever = pipeline(settings, [stage], chat, router=stage_router)
    text, ans = run(p, "第二阶段具体学什么？", plan={"stages": []})
    assert text.startswith("**阶段 2：提示词**") and ans.text.startswith("**阶段 2：提示词**\n\n提示词写作")
    assert retriever.calls[0].query == "提示词 写作" and retriever.calls[0].also == []
    assert "第2阶段：提示词" in chat.prompts[0][-1].content  # the model is asked the route's question
    p, retriever = pipeline(settings, [hit()], FakeChat(["好"]), router=stage_router)
    run(p, "第二阶段具体学什么？", plan=None)
    assert retriever.calls[0].query == "第二阶段具体学什么？"


def test_the_answer_streams_and_the_final_event_carries_it(settings):
    p, retriever = pipeline(settings, [hit()], FakeChat(["杠铃阅读法是一种", "两头读的阅读方法。"]))
    text, ans = run(p, "什么是杠铃阅读法？")
    assert text == ans.text == "杠铃阅读法是一种两头读的阅读方法。"
    assert ans.status == "ok" and [c.chunk_id for c in ans.citations] == ["a"]
    assert ans.query == "什么是杠铃阅读法？" and retriever.calls[0].k == settings.top_k
    assert ans.timings["retrieve_ms"] is not None and ans.timings["first_token_ms"] is not None


def test_below_the_floor_the_answer_is_not_covered_without_asking_the_model(settings):
    p, _ = pipeline(settings.with_overrides(relevance_floor=0.5), [hit(score=0.2)])
    text, ans = run(p, "红烧肉怎么做才好吃？")
    assert ans.status == "not_covered" and text == ans.text == NOT_COVERED["zh"] and not ans.citations


def test_a_pasted_page_is_refused_before_search(settings):
    p, retriever = pipeline(settings.with_overrides(max_question_chars=50), [hit()])
    _, ans = run(p, "杠铃" * 40)
    assert ans.status == "too_long" and retriever.calls == []


def test_a_model_failing_mid_stream_keeps_what_it_said_and_shows_the_passages(settings):
    p, _ = pipeline(settings, [hit()], FakeChat(["杠铃阅读法是", "一种"], fail_after=1))
    text, ans = run(p, "什么是杠铃阅读法？")
    assert ans.status == "llm_error" and text == ans.text
    assert ans.text.startswith("杠铃阅读法是\n\n⚠️") and "两头读" in ans.text and ans.citations


def test_a_failed_translation_is_reported_without_calling_the_model_again(settings):
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("model down")

    s = settings.with_overrides(llm="ollama")
    index = FakeIndex({"zh": 100})
    p = AnswerPipeline(s, index, FakeRetriever([hit()]), QueryPlanner(s, index, broken), chat_model=broken,
                       describe_llm=lambda: ("ollama", "m"))
    _, ans = run(p, "What is the barbell reading method?")
    assert ans.status == "llm_error" and len(calls) == 1


def test_an_answer_from_the_models_own_knowledge_is_replaced_by_the_evidence(settings):
    recipe = "先把五花肉切块焯水，再加料酒、生抽、老抽和冰糖，小火炖一个小时即可出锅。"
    p, _ = pipeline(settings, [hit()], FakeChat([recipe]))
    events = list(p.run("杠铃阅读法怎么读？"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "evidence" and kinds.index("evidence") < kinds.index("token")  # before the model
    ans = events[-1].answer
    assert ans.status == "ungrounded" and recipe in "".join(e.text for e in events if e.kind == "token")
    assert recipe not in ans.text and ans.text.startswith(UNSUPPORTED["ungrounded"]["zh"])
    assert ans.draft == recipe and "draft" not in ans.to_json()  # kept for the eval, never sent
    assert ans.evidence and f"> {ans.evidence[0].text} [1]" in ans.text
    assert ans.to_json()["evidence"][0]["n"] == 1


def test_an_answer_that_restates_the_question_is_replaced_by_the_evidence(settings):
    p, _ = pipeline(settings, [hit()], FakeChat(["杠铃阅读法是一种阅读方法。"]))
    _, ans = run(p, "杠铃阅读法是一种什么样的阅读方法？")
    assert ans.status == "restated" and ans.text.startswith(UNSUPPORTED["restated"]["zh"])


def test_evidence_comes_before_the_first_token_and_stays_with_a_grounded_answer(settings):
    p, _ = pipeline(settings, [hit()], FakeChat(["杠铃阅读法：", "一头读经典著作，一头读最新的书。"]))
    events = list(p.run("什么是杠铃阅读法？"))
    assert [e.kind for e in events][:2] == ["evidence", "token"]
    ans = events[-1].answer
    assert ans.status == "ok" and ans.evidence == events[0].evidence
    assert ans.timings["evidence_ms"] <= ans.timings["first_token_ms"]


@pytest.mark.parametrize("text,below,status", [
    ("", 0.3, "retrieval_only"),
    ("资料库中没有找到相关内容。", 0.3, "declined"),
    ("先把五花肉切块焯水，再加料酒、生抽、老抽和冰糖，小火炖一个小时即可出锅。", 0.3, "ungrounded"),
    ("先把五花肉切块焯水，再加料酒、生抽、老抽和冰糖，小火炖一个小时即可出锅。", 0.0, "ok"),  # check off
    ("杠铃阅读法是两头读：一头读经典著作，一头读最新的书。", 0.3, "ok"),
])
def test_check_answer(text, below, status):
    assert check_answer(text, "红烧肉怎么做？", [hit()], below) == status


def test_check_answer_flags_an_answer_no_stretch_about_the_question_backs():
    # Each word of the answer is in the passage, but the minutes are said of another method, far from this one.
    text = ("杠铃阅读法是一种两头读的阅读方法。它适合想读经典又想跟上新知的人。读书要做笔记。复习也很重要。"
            "番茄工作法每读25分钟休息5分钟。")
    passage = [Hit(Chunk(id="m", text=text, path="/lib/methods.md", title="学习方法", lang="zh"), score=0.9)]
    q, answer = "杠铃阅读法要读多久休息一次？", "杠铃阅读法每读25分钟休息5分钟。"
    assert check_answer(answer, q, passage, 0.3) == "ok"  # the check of words anywhere in the passages
    assert check_answer(answer, q, passage, 0.3, local_below=0.4) == "ungrounded"
    assert check_answer("番茄工作法每读25分钟休息5分钟。", "番茄工作法要读多久休息一次？", passage, 0.3, local_below=0.4) == "ok"


class TranslatingChat(FakeChat):
    """Translates (``invoke``) as well as answers (``stream``); records when it was asked to translate."""

    def __init__(self, pieces: list[str], translation: str) -> None:
        super().__init__(pieces)
        self.translation, self.invoked = translation, []

    def invoke(self, msgs, **kw):
        self.invoked.append(msgs)
        return SimpleNamespace(content=self.translation)


def test_a_first_look_shows_evidence_before_the_model_translates_and_the_full_search_replaces_it(settings):
    chat = TranslatingChat(["杠铃阅读法：一头读经典著作，一头读最新的书。"], "What is the barbell reading method?")
    s = settings.with_overrides(llm="openai")
    index = FakeIndex({"zh": 100, "en": 100})  # a bilingual library: the question is translated first
    p = AnswerPipeline(s, index, FakeRetriever([hit()]), QueryPlanner(s, index, lambda: chat), chat_model=lambda: chat,
                       describe_llm=lambda: ("openai", "m"))
    events = p.run("杠铃阅读法是什么？")
    first = next(events)
    assert first.kind == "evidence" and first.evidence and not chat.invoked  # shown before the model was asked
    rest = list(events)
    assert chat.invoked and [e.kind for e in rest].count("evidence") == 1  # the full search's, after translating
    ans = rest[-1].answer
    assert ans.status == "ok" and ans.timings["first_evidence_ms"] <= ans.timings["evidence_ms"]


def test_no_first_look_when_nothing_waits_for_the_model(settings):
    # One language, no follow-up: the search runs at once, so a first look would only search twice.
    p, retriever = pipeline(settings.with_overrides(llm="openai"), [hit()], FakeChat(["杠铃阅读法：两头读。"]))
    kinds = [e.kind for e in p.run("杠铃阅读法是什么？")]
    assert kinds.count("evidence") == 1 and len(retriever.calls) == 1


@pytest.mark.parametrize("question, names", [
    ("How does the MIPRO optimizer in DSPy choose instructions?", ["MIPRO"]),
    ("Explain ColBERT's late-interaction scoring and GraphRAG", ["ColBERT", "GraphRAG"]),
    ("GLM-4 的 All Tools 能力是怎么实现的？", ["GLM-4"]),  # the library has GLM-130B, not GLM-4
    ("What is Chain-of-Density summarization?", ["Chain-of-Density"]),
    ("What image size did V1-V3 produce?", []),  # a range whose ends the library holds ("V1~V3")
    ("What is LoRA and how does DSPy use GPT-4?", []),  # mentioned names
    ("what is the best way to learn prompting?", []),  # words, not names
    ("什么是杠铃阅读法？", []),
    # Capitalised words inside a sentence: a name, one per run of them; the first word of a sentence is not.
    ("How does the Jamba architecture mix Mamba and attention?", ["Jamba"]),
    ("What is the capital of Burkina Faso?", ["Burkina Faso"]),
    ("Explain this. Jamba is new", []),  # sentence-initial
    ("Which issue of Ruan Yifeng's weekly covered Mamba?", []),  # names where to look, not a topic
    ("我想了解 Mamba 和 Transformer 的区别", []),
])
def test_names_the_library_never_mentions(question, names):
    vocab = {"dspy", "optim", "lora", "gpt-4", "glm-130b", "glm", "v1", "v3", "chain", "densiti", "graph", "rag",
             "mamba", "transformer", "capit", "architectur", "all", "tool"}
    assert unmentioned(question, vocab) == names


@pytest.mark.parametrize("question, share, also, words", [
    ("How do I make kimchi at home?", 0.4, [], ["kimchi"]),  # kimchi carries most of the question's weight
    # Shown whole, not also as jieba's 烧肉; 不腻 is no dictionary word, so it is left to the rest.
    ("红烧肉怎么做才肥而不腻？", 0.4, [], ["红烧肉"]),
    ("What is the capital of Burkina Faso?", 0.4, [], ["Burkina Faso"]),  # a name and two unknown words: once
    ("How do I make kimchi at home?", 0.0, [], []),  # 0 turns the check off
    ("How do I make kimchi at home?", 0.9, [], []),  # below the share
    # One unknown word among many the library holds: a paraphrase, not another topic.
    ("Which weekly issue covered the employee evaluation of prompt engineering models?", 0.4, [], []),
    # The library holds the translation's words: a question in the other language, not another topic.
    ("What is the 'barbell' reading method?", 0.4, ["什么是杠铃阅读法？"], []),
    ("What is the 'barbell' reading method?", 0.4, [], ["barbell"]),
    # 系统学 is jieba's cut of the learner's phrasing; the passages say 系统学习, which holds it.
    ("零基础想系统学AIGC", 0.4, [], []),
])
def test_words_the_library_never_uses_count_when_they_carry_the_question(question, share, also, words):
    vocab = set(tokenize("make home capital weekly issue covered evaluation prompt engineering models 做 怎么 "
                         "reading method 什么 杠铃阅读法 零 基础 想 aigc"))
    passages = "红烧 系统学习 AIGC"
    assert unmentioned(question, vocab, lambda t: 3.0 if t not in vocab else 1.0, share, also,
                       lambda text: text in passages) == words


def test_a_long_question_costs_a_few_passage_scans_at_most():
    # Each look for a word in the passages' text scans them all: a pasted poem must not cost hundreds.
    looked = []
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。红烧肉、糖醋排骨、宫保鸡丁、鱼香肉丝、麻婆豆腐、回锅肉。"
    names = unmentioned(poem, {"光"}, lambda t: 3.0, 0.4, (), lambda text: looked.append(text) or False)
    assert names and 0 < len(looked) <= 8


def test_a_question_about_a_name_the_library_never_mentions_gets_the_evidence_not_the_model(settings):
    answer = "杠铃阅读法：一头读经典著作，一头读最新的书。"
    chat = FakeChat([answer])
    p, _ = pipeline(settings, [hit()], chat, index=FakeIndex(vocab={"杠铃", "阅读", "法有", "关系", "dspy"}))
    events = list(p.run("MIPRO 和杠铃阅读法有什么关系？"))
    ans = events[-1].answer
    assert ans.status == "unmentioned" and not chat.prompts  # the model was not asked
    assert events[0].kind == "evidence" and ans.evidence
    assert ans.text.startswith(UNSUPPORTED["unmentioned"]["zh"].format(names="MIPRO"))
    assert f"> {ans.evidence[0].text} [1]" in ans.text
    # The same question over a library that mentions MIPRO is answered by the model.
    p, _ = pipeline(settings, [hit()], FakeChat([answer]), index=FakeIndex(vocab={"杠铃", "阅读", "法有", "关系", "dspy", "mipro"}))
    assert run(p, "MIPRO 和杠铃阅读法有什么关系？")[1].status == "ok"
    # A question about a word the library never uses, name or not, is not put to the model either.
    chat = FakeChat([answer])
    vocab = {"杠铃", "阅读", "make", "home"}
    p, _ = pipeline(settings, [hit()], chat, index=FakeIndex({"zh": 20000, "en": 6000}, vocab=vocab))
    ans = run(p, "How do I make kimchi at home?")[1]
    assert ans.status == "unmentioned" and "kimchi" in ans.text and not chat.prompts
    # Over a Chinese library, an untranslated English question's words are absent for that reason alone;
    # a small library lacks ordinary words by chance: only names are judged in either.
    for langs in ({"zh": 20000}, {"zh": 2000, "en": 2000}):
        p, _ = pipeline(settings.with_overrides(translate_queries=False), [hit()], FakeChat([answer]),
                        index=FakeIndex(langs, vocab=vocab))
        assert run(p, "How do I make kimchi at home?")[1].status != "unmentioned"

"""Turns at the chat model (bot/core/model_queue.py) and what a waiting learner sees: the library's
evidence first, then their place in line, then the answer; background embedding waits for answers."""
from __future__ import annotations

import threading
import time

import pytest
from conftest import make_settings
from test_stages import FakeIndex, FakeRetriever, hit

from bot.answering.pipeline import AnswerPipeline
from bot.core import model_queue
from bot.core.model_queue import ModelQueue
from bot.retrieval.query_plan import QueryPlanner


def test_turns_are_first_come_first_served_one_slot_at_a_time():
    q = ModelQueue(slots=1)
    a, b, c = q.join(), q.join(), q.join()
    assert q.acquire(a, timeout=0)
    assert not q.acquire(c, timeout=0) and not q.acquire(b, timeout=0)  # a holds the only slot
    assert (q.ahead(a), q.ahead(b), q.ahead(c)) == (0, 1, 2)
    q.release(a)
    assert not q.acquire(c, timeout=0)  # b came first
    assert q.acquire(b, timeout=0) and q.ahead(c) == 1


def test_several_slots_serve_several_at_once():
    q = ModelQueue(slots=2)
    a, b, c = q.join(), q.join(), q.join()
    assert q.acquire(a, timeout=0) and q.acquire(b, timeout=0) and not q.acquire(c, timeout=0)
    assert q.ahead(c) == 2
    q.release(b)
    assert q.acquire(c, timeout=0)


def test_a_waiter_who_leaves_gives_up_its_place():
    q = ModelQueue()
    a, b, c = q.join(), q.join(), q.join()
    q.acquire(a, timeout=0)
    q.release(b)  # gave up before its turn
    assert q.ahead(c) == 1
    q.release(a)
    assert q.acquire(c, timeout=0)
    q.release(c)
    assert not q.busy


def test_a_waiter_nobody_reads_any_more_does_not_hold_up_the_line(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(model_queue.time, "monotonic", lambda: clock[0])
    q = ModelQueue()
    gone, me = q.join(), q.join()
    assert not q.acquire(me, timeout=0)  # `gone` is first and still fresh
    clock[0] += model_queue.STALE_S + 1
    assert q.acquire(me, timeout=0)  # `gone` never asked again: dropped
    q.release(me)
    assert q.acquire(gone, timeout=0)  # coming back, it queues again (at the end) rather than failing


def test_the_estimate_follows_the_measured_turns(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(model_queue.time, "monotonic", lambda: clock[0])
    q = ModelQueue()
    first = q.join()
    q.acquire(first, timeout=0)
    waiting = q.join()
    assert q.estimate(waiting) is None  # nothing measured yet: no number is made up
    clock[0] = 20.0
    q.release(first)
    second, third = q.join(), q.join()
    q.acquire(waiting, timeout=0)
    clock[0] = 25.0  # 5 s into a turn expected to take 20
    assert q.estimate(second) == pytest.approx(15.0)
    assert q.estimate(third) == pytest.approx(35.0)


def test_wait_idle_blocks_while_an_answer_is_written():
    q = ModelQueue()
    t = q.join()
    q.acquire(t, timeout=0)
    assert not q.wait_idle(timeout=0.05)
    threading.Timer(0.05, q.release, args=(t,)).start()
    assert q.wait_idle(timeout=5)


# --- the pipeline: evidence, then the place in line, then the answer -------------------------------

class GatedChat:
    """Streams its answer only once ``go`` is set, so a test decides when a turn ends."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.started = threading.Event()

    def stream(self, msgs):
        from types import SimpleNamespace

        self.started.set()
        assert self.go.wait(120)
        for piece in ["杠铃阅读法：", "一头读经典著作，一头读最新的书。"]:
            yield SimpleNamespace(content=piece)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "library", tmp_path / "index", llm="openai", translate_queries=False)


def make_pipeline(settings, queue, chat):
    index = FakeIndex({"zh": 100})
    return AnswerPipeline(settings, index, FakeRetriever([hit()]), QueryPlanner(settings, index, lambda: chat),
                          chat_model=lambda: chat, describe_llm=lambda: ("openai", "m"), queue=queue)


@pytest.mark.timeout(60)
def test_a_learner_behind_another_sees_evidence_and_their_place_before_any_token(settings):
    queue, chat = ModelQueue(slots=1), GatedChat()
    first = make_pipeline(settings, queue, chat).run("什么是杠铃阅读法？")
    events_first: list = []
    worker = threading.Thread(target=lambda: events_first.extend(first))
    worker.start()
    assert chat.started.wait(5)  # the first learner's answer is being written
    # Few of its words are in the passage: alone, no first look would be shown for it.
    second = make_pipeline(settings, queue, chat).run("杠铃阅读法适合忙碌的上班族吗？")
    e1, e2 = next(second), next(second)
    assert e1.kind == "evidence" and e1.evidence and e1.tentative  # at once, though the model is busy
    assert e2.kind == "queued" and e2.ahead == 1
    chat.go.set()
    rest = list(second)
    worker.join(5)
    assert [e.kind for e in rest].count("token") >= 1 and rest[-1].answer.status == "ok"
    assert rest[-1].answer.timings["queue_ms"] > 0
    assert events_first[-1].answer.status == "ok"
    assert not queue.busy  # both turns given back


@pytest.mark.timeout(60)
def test_a_learner_who_closes_the_tab_while_waiting_leaves_the_line(settings):
    queue, chat = ModelQueue(slots=1), GatedChat()
    holder = queue.join()
    queue.acquire(holder, timeout=0)
    waiting = make_pipeline(settings, queue, chat).run("什么是杠铃阅读法？")
    kinds = [next(waiting).kind, next(waiting).kind]
    assert "queued" in kinds
    waiting.close()  # Gradio drops the generator
    queue.release(holder)
    assert not queue.busy


def test_alone_nobody_waits_and_nothing_tentative_is_shown(settings):
    queue, chat = ModelQueue(slots=1), GatedChat()
    chat.go.set()
    events = list(make_pipeline(settings, queue, chat).run("杠铃阅读法适合忙碌的上班族吗？"))
    assert "queued" not in [e.kind for e in events]
    assert not any(e.tentative for e in events if e.kind == "evidence")


# --- background work yields to answers ------------------------------------------------------------

@pytest.mark.timeout(60)
def test_background_embedding_waits_while_an_answer_is_written(tmp_path):
    from bot.components import Components
    from ingest.pipeline import ingest

    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "a.md").write_text("# 杠铃阅读法\n\n一头读经典著作，一头读最新的书。\n", encoding="utf-8")
    s = make_settings(lib, tmp_path / "index", embedder="fake", background_wait_s=30)
    comp = Components(s)
    index = comp.index(s)
    ingest(None, s, embed=False, index=index)
    assert index.manifest.count_unembedded() > 0
    t = comp.model_queue.join()
    comp.model_queue.acquire(t, timeout=0)  # an answer is being written
    asked = threading.Event()
    inner = index.yield_to
    index.yield_to = lambda: (asked.set(), inner())
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(index.embed_pending()))
    worker.start()
    assert asked.wait(5)
    time.sleep(0.2)
    assert index.manifest.count_unembedded() > 0 and not done  # still waiting: nothing embedded
    comp.model_queue.release(t)
    worker.join(10)
    assert done and done[0] > 0 and index.manifest.count_unembedded() == 0


# --- served: many learners at once ------------------------------------------------------------------

def _said(outputs) -> str:
    text = []
    for out in outputs:
        for m in (out if isinstance(out, list) else [out]):
            if isinstance(m, dict):
                text.append(str((m.get("metadata") or {}).get("title") or "") + str(m.get("content") or ""))
    return "\n".join(text)


@pytest.mark.timeout(300)
def test_six_learners_at_once_each_see_the_library_and_their_place_while_one_answer_is_written(seed_index):
    from gradio_client import Client
    from stubs import free_port

    from bot.service import StudyBot
    from ui.app import build_server, start_server

    port = free_port()
    s = seed_index.with_overrides(llm="fake", port=port, translate_queries=False, rewrite_followups=False)
    bot = StudyBot(s)
    chat = GatedChat()
    bot.use_chat_model(chat)
    server = start_server(build_server(s, bot), "127.0.0.1", port)
    try:
        url = f"http://127.0.0.1:{port}/"
        questions = ["什么是杠铃阅读法？", "杠铃阅读法适合谁？", "AIGC时代怎么做职业规划？", "学习计划第一阶段学什么？",
                     "什么是Embedding技术？", "微调后的7B模型推理成本是多少？"]
        jobs = [Client(url, verbose=False).submit(q, api_name="/chat") for q in questions]
        deadline = time.monotonic() + 120
        # No answer can be written yet (the model is held): every learner must still see something real.
        while time.monotonic() < deadline:
            seen = [_said(j.outputs()) for j in jobs]
            if all(("📌" in t or "🔍" in t) and ("⏳" in t or "✍️" in t) for t in seen):
                break
            time.sleep(0.2)
        assert chat.started.is_set() and not chat.go.is_set()
        assert sum("⏳" in t for t in seen) >= len(questions) - 1, seen  # all but the one being answered wait in line
        missing = [q for q, t in zip(questions, seen) if "📌" not in t and "🔍" not in t]
        assert not missing, missing  # each with the library's evidence
        chat.go.set()
        finals = [_said([j.result(timeout=120)]) for j in jobs]
        # Every one answered in the end (nothing still pending), with the library's passages, and none failed.
        bad = [(q, f[:200], f[-200:]) for q, f in zip(questions, finals)
               if "📌" not in f or any(mark in f for mark in ("出错了", "⏳", "✍️", "🔍 初步"))]
        assert not bad, bad
        assert not bot.components.model_queue.busy
    finally:
        chat.go.set()
        server.should_exit = True
        server.thread.join(10)

"""The path of a chat question, one stage after another (``AnswerPipeline.run``):

    route     a question about the learner's roadmap takes the roadmap path (the plan's facts
              first, then passages on the stage's topics); any other goes to the library
    limit     a pasted page is not a question: refused before anything runs
    retrieve  plan the query (standalone, translated or glossary terms), then search
    gate      the library does not cover it: say so instead of guessing
    cite      citations from the passages (the app writes them, not the model)
    evidence  the one to three sentences that best answer it, shown before the model's first token (a
              first look, searched without the model, fills the time the model spends translating or,
              when other learners' answers are being written, the wait for the model's turn)
    wait      the model writes one answer at a time (``model_slots``): the learner sees their place in
              line and an estimate until their turn (bot/core/model_queue.py)
    prompt    the passages clipped around the question, framed as data
    generate  stream the model's tokens (a failure: a message plus the passages)
    check     the model declined, restated the question, or answered from its own knowledge: an
              answer the passages do not support is replaced by the evidence, never shown as one
    done      the final event, carrying the Answer

Every way out of the path ends in exactly one ``done`` event, which carries the Answer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from langchain_core.messages import BaseMessage

from bot.answering.chain import (
    LLM_FAILED,
    NOT_COVERED,
    TOO_LONG,
    answer_lang,
    build_messages,
    citations_for,
    model_declined,
    retrieval_only_text,
)
from bot.answering.evidence import REPLACED, Evidence, restates, select_evidence, unsupported_text
from bot.answering.grounding import borrows_names, drifts, judged_by_words, local_support, ungrounded
from bot.core.model_queue import ModelQueue
from bot.core.settings import Settings
from bot.core.text import question_lang
from bot.core.types import Citation, Hit
from bot.retrieval.gate import refuses, unmentioned

if TYPE_CHECKING:  # annotations only: the roadmap's router imports Route without loading the index
    from bot.index.store import Index
    from bot.retrieval.query_plan import QueryPlanner
    from bot.retrieval.retriever import Retriever

log = logging.getLogger("studybot")


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    provider: str
    model: str
    # ok | declined (the model found no answer in the passages) | ungrounded (the passages don't
    # support its answer) | restated (it only restated the question) | retrieval_only | llm_error
    # | not_covered | too_long (not searched) | plan (answered from the learner's roadmap alone, e.g. this
    # week's tasks). For ungrounded and restated the text is the evidence.
    status: str = "ok"
    timings: dict = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    query: str = ""
    also: list[str] = field(default_factory=list)  # other phrasings searched (translations)
    evidence: list[Evidence] = field(default_factory=list)  # shown before the answer; n = citation number
    draft: str = ""  # the model's own text when it was replaced (ungrounded, restated): for the eval, never shown
    scope: dict | None = None  # where the search looked first, when the learner named a source (Retriever.named_scope)

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "evidence": [e.to_json() for e in self.evidence],
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "timings": self.timings,
            "scope": self.scope,
        }


@dataclass
class Event:
    kind: str  # evidence (before any token) | queued (waiting for the model's turn) | token | done
    text: str = ""
    answer: Answer | None = None
    evidence: list[Evidence] | None = None
    citations: list[Citation] | None = None  # with the evidence: what its numbers refer to
    # evidence: found before the gate and the model's translation judged the question (shown while the
    # learner waits in line; the full search's evidence replaces it, or the refusal removes it)
    tentative: bool = False
    ahead: int = 0  # queued: answers before this one
    eta_s: float | None = None  # queued: seconds until its turn, once an answer has been timed
    scope: dict | None = None  # evidence: where the search looked first (Retriever.named_scope)


# --- route --------------------------------------------------------------------------------------


@dataclass
class Route:
    """Where a question goes: what the model is asked, what is searched, what is said first."""
    question: str
    query: str | None = None  # searched instead of the question (None: the question, made standalone)
    also: list[str] | None = None  # searched beside it (None: its translation, when one helps)
    preface: str = ""  # written before the answer, from outside the library (the roadmap's own facts)
    path: str = "library"
    search: bool = True  # False: the preface is the whole answer (the plan's own week, nothing to look up)


# A question and the learner's plan (or None) in; a Route when the question is about the plan.
Router = Callable[[str, Any], "Route | None"]


def route(question: str, plan: Any, router: Router | None = None) -> Route:
    """The first stage: the router's route for a question about the learner's plan, else the library's."""
    return (router(question, plan) if router is not None else None) or Route(question)


# --- check --------------------------------------------------------------------------------------


def check_answer(text: str, question: str, hits: list[Hit], ungrounded_below: float, *, query: str | list[str] = "",
                 weight: Callable[[str], float] | None = None, local_below: float = 0.0,
                 drifted: Callable[[str], bool] | None = None) -> str:
    """The status of a finished answer: retrieval_only (the model said nothing), declined (it found
    no answer in the passages: they were the closest the library had, not support, and the UI says
    so), restated (it only said the question back: "…应该先学视频编辑工具。"), ungrounded (it
    answered from its own weights: a recipe, asked over AI study notes) or ok. ``drifted``: judges an
    answer whose words cannot be compared with its passages' (another language) by meaning."""
    if not text:
        return "retrieval_only"
    if model_declined(text):
        return "declined"
    if restates(text, question):
        return "restated"
    if ungrounded_below and ungrounded(text, question, hits, ungrounded_below):
        return "ungrounded"
    if local_below:
        backed = local_support(text, query or question, hits, weight)
        if backed is not None and backed < local_below:
            return "ungrounded"
    if drifted is not None and not judged_by_words(text, hits) and drifted(text):
        return "ungrounded"
    return "ok"


# --- the pipeline -------------------------------------------------------------------------------

# A first look's excerpt must hold this share of the question's IDF weight (the full search's: 0.15):
# no gate has judged it yet, and at a lower bar off-topic questions got a first look too (see README).
FIRST_LOOK_SHARE = 0.5
# A name the answer shares with its passages spares it the cross-language check when its IDF is at least this
# share of the library's top: on the whole corpus (26,862 passages) 6.0 of 10.9, a name fewer than ~70 passages
# hold ("instant.page" 9.3; "llm" 3.6, which an invented answer about puppies borrowed). Chosen on heldout_dev.
RARE_NAME = 0.55
# How often a waiting learner's place and estimate are refreshed.
QUEUE_TICK_S = 1.0


@dataclass
class Turn:
    """One question on its way through the stages: what each found, for the next."""
    question: str
    history: list[dict] | None
    provider: str
    model: str
    t0: float
    timings: dict = field(default_factory=lambda: {"retrieve_ms": None, "first_token_ms": None, "total_ms": None})
    query: str = ""
    also: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    failure: Exception | None = None  # the translation's model call failed (the answer's would too)
    focus: str = ""  # what passages are quoted around: the query and its other phrasings
    weight: Callable[[str], float] | None = None  # a term's weight in choosing that stretch (IDF)
    cites: list[Citation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    scope: dict | None = None  # where the search looked first (Retriever.named_scope)

    @property
    def lang(self) -> str:
        return answer_lang(self.question)

    def ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 1)

    def done(self, text: str, status: str, cites: list[Citation]) -> Event:
        self.timings["total_ms"] = self.ms()
        return Event("done", answer=Answer(text, cites, self.provider, self.model, status, self.timings,
                                           self.hits, self.query, self.also, self.evidence, scope=self.scope))

    def say(self, text: str, status: str, cites: list[Citation]) -> Iterator[Event]:
        """The whole reply at once: one token event, then the final one."""
        yield Event("token", text)
        yield self.done(text, status, cites)


class AnswerPipeline:
    def __init__(self, settings: Settings, index: Index, retriever: Retriever, planner: QueryPlanner, *,
                 chat_model: Callable[[], Any], describe_llm: Callable[[], tuple[str, str]],
                 router: Router | None = None, queue: ModelQueue | None = None) -> None:
        """``chat_model``: the model, loaded on first call; ``describe_llm``: (provider, model) for
        the Answer; ``router``: finds questions about the learner's plan (see ``route``); ``queue``:
        the turns at the model this process's chats share (None: no waiting in line)."""
        self.settings = settings
        self.index = index
        self.retriever = retriever
        self.planner = planner
        self.chat_model = chat_model
        self.describe_llm = describe_llm
        self.router = router
        self.queue = queue if settings.llm != "none" else None

    def run(self, question: str, history: list[dict] | None = None, plan: Any = None) -> Iterator[Event]:
        r = route(question, plan, self.router)
        if not r.search:  # no model ran: the answer names the plan as its provider
            yield Event("token", r.preface)
            yield Event("done", answer=Answer(r.preface, [], "roadmap", "", "plan", {"total_ms": 0.0}, [],
                                              r.question[:200], []))
            return
        if r.preface:
            yield Event("token", r.preface)
        for ev in self.answer(r, history):
            if ev.kind == "done" and ev.answer is not None:
                ev.answer.text = r.preface + ev.answer.text
            yield ev

    def answer(self, r: Route, history: list[dict] | None = None) -> Iterator[Event]:
        """The library's answer to ``r.question``, searched as ``r`` says."""
        t0 = time.perf_counter()
        provider, model = self.describe_llm()
        turn = Turn((r.question or "").strip(), history, provider, model, t0)
        if len(turn.question) > self.settings.max_question_chars:
            yield from self.too_long(turn)
            return
        ticket = self.queue.join() if self.queue is not None and turn.question else None
        try:  # the ticket leaves the line however this ends (a learner who closes the tab, an error)
            waiting = ticket is not None and not self.queue.acquire(ticket, timeout=0)
            yield from self.first_look(turn, r, waiting)
            if waiting:
                yield from self.wait_turn(turn, ticket)
            yield from self.answer_in_turn(turn, r)
        finally:
            if ticket is not None:
                self.queue.release(ticket)

    def answer_in_turn(self, turn: Turn, r: Route) -> Iterator[Event]:
        self.retrieve(turn, r)
        if self.gate(turn):
            yield from turn.say(NOT_COVERED[turn.lang], "not_covered", [])
            return
        self.cite(turn)
        yield from self.find_evidence(turn)
        if self.settings.llm == "none":
            text = retrieval_only_text(turn.question, turn.hits, turn.cites)
            turn.timings["first_token_ms"] = turn.ms()
            yield from turn.say(text, "retrieval_only", turn.cites)
            return
        # "How does the MIPRO optimizer work?" over a library that never says MIPRO: passages about
        # optimizers pass the gate, but whatever the model said of MIPRO would be its own. Known from
        # the question alone, so the model is not asked.
        names = self.unmentioned(turn.query, turn.also)
        if names:
            yield from turn.say(unsupported_text("unmentioned", turn.lang, turn.evidence, names), "unmentioned", turn.cites)
            return
        parts: list[str] = []
        try:
            if turn.failure is not None:
                raise turn.failure
            chat = self.chat_model()
            for piece in self.generate(chat, self.prompt(turn), turn):
                parts.append(piece)
                yield Event("token", piece)
        except Exception as e:  # noqa: BLE001 - any provider failure becomes a message plus the passages
            yield from self.failed(turn, parts, e)
            return
        yield from self.check(turn, "".join(parts).strip())

    # --- the stages, in order ---------------------------------------------------------------------

    def too_long(self, turn: Turn) -> Iterator[Event]:
        # Pasted pages, not a question: translated and prompted whole they overflowed the local
        # model's context and the learner read "the language model is unavailable".
        text = TOO_LONG[turn.lang].format(n=len(turn.question), max=self.settings.max_question_chars)
        yield Event("token", text)
        yield Event("done", answer=Answer(text, [], turn.provider, turn.model, "too_long", turn.timings, [],
                                          turn.question[:200], []))

    def first_look(self, turn: Turn, r: Route, waiting: bool = False) -> Iterator[Event]:
        """Evidence from a search without the model's help, shown while the model rewrites or translates
        the question (a second or more on a laptop); the full search's evidence replaces it. Held to a
        higher bar (``FIRST_LOOK_SHARE`` of the question's weighted words) since no gate has judged it.
        ``waiting``: the model is writing other learners' answers first (tens of seconds): then the
        closest excerpts are shown at the usual bar, marked tentative, rather than nothing."""
        if not turn.question:
            return
        if not waiting and not self.planner.calls_model(turn.question, turn.history, query=r.query, also=r.also):
            return
        from bot.retrieval.query_plan import contextual_query

        query = (r.query or contextual_query(turn.question, turn.history))[: self.settings.max_question_chars]
        terms = self.planner.glossary_terms(query)
        hits = self.retriever.search(query, self.settings.top_k, [], terms)
        focus, weight = " ".join([query, *terms]), self.index.bm25().idf_of
        evidence = select_evidence(hits, [query, *terms], weight, min_share=FIRST_LOOK_SHARE)
        tentative = False
        if not evidence and waiting:
            evidence, tentative = select_evidence(hits, [query, *terms], weight), True
        if evidence:
            turn.timings["first_evidence_ms"] = turn.ms()
            yield Event("evidence", evidence=evidence, citations=citations_for(hits, focus, weight),
                        tentative=tentative)

    def wait_turn(self, turn: Turn, ticket: int) -> Iterator[Event]:
        """Until the model is free for this question: the learner's place in line and an estimate,
        again whenever either changes."""
        said = None
        while True:
            ahead, eta = self.queue.ahead(ticket), self.queue.estimate(ticket)
            shown = (ahead, None if eta is None else round(eta / 5) * 5)  # a new estimate every 5 s, not every tick
            if shown != said:
                said = shown
                yield Event("queued", ahead=ahead, eta_s=eta)
            if self.queue.acquire(ticket, timeout=QUEUE_TICK_S):
                turn.timings["queue_ms"] = turn.ms()
                return

    def retrieve(self, turn: Turn, r: Route) -> None:
        qp = self.planner.plan(turn.question, turn.history, query=r.query, also=r.also, timings=turn.timings)
        turn.query, turn.also, turn.terms, turn.failure = qp.query, qp.also, qp.terms, qp.failure
        turn.hits = self.retriever.search(turn.query, self.settings.top_k, turn.also, turn.terms) if turn.question else []
        turn.scope = self.retriever.named_scope(turn.query) if turn.question else None
        turn.timings["retrieve_ms"] = turn.ms()

    def unmentioned(self, query: str, also: list[str] | tuple[str, ...] = ()) -> list[str]:
        """What ``query`` names or asks about that the library never mentions, unless its translation
        (``also``) is clear of it or the glossary translates it (bot/retrieval/gate.py)."""
        bm = self.index.bm25()
        share = self.settings.unknown_words_share
        if self.planner.langs().get(question_lang(query), 0) < self.settings.unknown_words_min_passages:
            # A small library lacks ordinary words by chance ("半年", "接下来" in the seed library), and an
            # English question over a Chinese one lacks all of them: only names are judged there.
            share = 0.0
        names = unmentioned(query, bm.vocab, bm.idf_of, share, also, self.index.manifest.text_occurs)
        return [n for n in names if not self.planner.glossary_terms(n)]

    def gate(self, turn: Turn) -> bool:
        """Whether the library does not cover the question (bot/retrieval/gate.py)."""
        return refuses(turn.query, turn.hits, turn.also, self.settings, self.planner.langs)

    def cite(self, turn: Turn) -> None:
        turn.focus = " ".join([turn.query, *turn.also, *turn.terms])
        turn.weight = self.index.bm25().idf_of
        turn.cites = citations_for(turn.hits, turn.focus, turn.weight)

    def find_evidence(self, turn: Turn) -> Iterator[Event]:
        """What the library says, before the model has read its prompt (seconds on a laptop)."""
        turn.evidence = select_evidence(turn.hits, [turn.query, *turn.also, *turn.terms], turn.weight)
        turn.timings["evidence_ms"] = turn.ms()
        if turn.evidence:
            yield Event("evidence", evidence=turn.evidence, citations=turn.cites, scope=turn.scope)

    def prompt(self, turn: Turn) -> list[BaseMessage]:
        # The previous exchange only for a follow-up: beside a new question it is noise the small
        # model copies (after a refusal it refused a question the passages answered).
        history = turn.history if turn.query != turn.question else None
        return build_messages(turn.question, turn.hits, history, context_chars=self.settings.prompt_chars(),
                              focus=turn.focus, weight=turn.weight)

    def generate(self, chat: Any, msgs: list[BaseMessage], turn: Turn) -> Iterator[str]:
        """The model's reply, piece by piece as it streams."""
        for chunk in chat.stream(msgs):
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if not piece:
                continue
            if turn.timings["first_token_ms"] is None:
                turn.timings["first_token_ms"] = turn.ms()
            yield piece

    def failed(self, turn: Turn, parts: list[str], e: Exception) -> Iterator[Event]:
        """The model failed (before or while streaming): a one-line reason, then the passages."""
        from bot.providers.llm import explain_error

        log.warning("LLM failed: %s", e)
        msg = LLM_FAILED[turn.lang].format(err=explain_error(e, self.settings))
        body = retrieval_only_text(turn.question, turn.hits).split("\n", 1)[1]
        text = ("".join(parts) + "\n\n" if parts else "") + msg + body
        yield Event("token", ("\n\n" if parts else "") + msg + body)
        yield turn.done(text, "llm_error", turn.cites)

    def drifted(self, turn: Turn) -> Callable[[str], bool]:
        """``grounding.drifts`` with this index's embedder, its margin put on the embedder's own scale; an answer
        naming a rare name of its passages (``grounding.borrows_names``) is not judged."""
        ix = self.index

        def drifted(text: str) -> bool:
            try:
                bm25 = ix.bm25()
                if borrows_names(text, turn.question, turn.hits, bm25.idf_of, RARE_NAME * bm25.rarest):
                    return False
                return drifts(text, turn.query or turn.question, turn.hits, ix.embedder,
                              self.settings.ungrounded_drift / ix.cosine_map[1], ix.stored_vectors([h.chunk.id for h in turn.hits]))
            except Exception:  # noqa: BLE001 - the answer has streamed: an embedder failure must not lose it
                log.warning("cross-language grounding check failed; answer kept unjudged", exc_info=True)
                return False

        return drifted

    def check(self, turn: Turn, text: str) -> Iterator[Event]:
        """The grounding check on the streamed answer, and the final event."""
        status = check_answer(text, turn.question, turn.hits, self.settings.ungrounded_below, query=[turn.query, *turn.also],
                              weight=turn.weight, local_below=self.settings.ungrounded_local_below,
                              drifted=self.drifted(turn) if self.settings.ungrounded_drift else None)
        if status == "retrieval_only":
            yield from turn.say(retrieval_only_text(turn.question, turn.hits), status, turn.cites)
        elif status in REPLACED:
            # The model's text has streamed; the final answer replaces it with what the library says
            # (the UI redraws the message from the done event; the CLI prints it after a rule).
            ev = turn.done(unsupported_text(status, turn.lang, turn.evidence), status, turn.cites)
            ev.answer.draft = text
            yield ev
        else:
            yield turn.done(text, status, turn.cites)

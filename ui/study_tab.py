"""The quiz and flashcards tab: pick an indexed document or type a topic, answer, check, download.

The API endpoints ``quiz`` and ``flashcards`` return the same models as the CLI's ``--json``, except
that every path is the one learners see (``bot.features.admin.short_path(..., learner=True)``): relative to the
library, never the server's absolute path. The dropdown and the API take such a path (or a unique tail
or title of one) and map it back to an indexed document.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bot.features.admin import short_path
from ui.chat import view_link
from bot.service import StudyBot
from bot.features.study_aids import (MAX_ITEMS, Deck, Quiz, StudyAidError, documents, make_flashcards, make_quiz,
                            match_source)

MAX_QUESTIONS = 10
LETTERS = "ABCD"
LANG_CHOICES = [("自动 / auto", "auto"), ("中文", "zh"), ("English", "en")]
TEXT = {
    "zh": {"right": "✅ 正确！", "wrong": "❌ 正确答案：{o}", "unanswered": "⬜ 未作答，正确答案：{o}",
           "score": "得分：{k} / {n}", "made": "已生成 {n} 道题。", "cards": "已生成 {n} 张卡片。"},
    "en": {"right": "✅ Correct!", "wrong": "❌ Correct answer: {o}", "unanswered": "⬜ Not answered; correct: {o}",
           "score": "Score: {k} / {n}", "made": "{n} questions ready.", "cards": "{n} flashcards ready."},
}


def learner_sources(bot: StudyBot) -> dict[str, dict]:
    """The indexed documents keyed by the path learners see. Files from outside the library show only
    their name, so two may collide: later ones get " (2)", " (3)"… and stay pickable."""
    out: dict[str, dict] = {}
    for d in documents(bot):
        key = shown = short_path(d["path"], bot.settings.library_dir, learner=True)
        k = 1
        while key in out:
            k += 1
            key = f"{shown} ({k})"
        out[key] = d
    return out


def source_choices(bot: StudyBot) -> list[tuple[str, str]]:
    return [(f"{d['title']} ({os.path.basename(key)})", key) for key, d in learner_sources(bot).items()]


def indexed_source(bot: StudyBot, value: str) -> str:
    """The indexed document's absolute path for a path a learner sent back. Only a path taken from the
    index is ever returned: a client string is matched against it, never joined onto a directory."""
    docs = learner_sources(bot)
    key = match_source(value.strip(), {k: d["title"] for k, d in docs.items()})
    if key is None:
        raise StudyAidError(f"not an indexed source: {value[:80]!r}; pick one from the list")
    return docs[key]["path"]


def _args(bot: StudyBot, source: str | None, topic: str | None, lang: str | None) -> dict:
    # A typed topic wins over the dropdown: the learner's latest, most specific intent.
    topic = (topic or "").strip()
    return {"topic": topic or None, "source": indexed_source(bot, str(source)) if source and not topic else None,
            "lang": None if lang in (None, "", "auto") else lang}


def for_learners(aid: Quiz | Deck, bot: StudyBot) -> Quiz | Deck:
    """``aid`` with every path as learners see it: what the browser, the API and the downloads get."""
    def shown(path: str) -> str:
        return short_path(path, bot.settings.library_dir, learner=True)

    def cited(x):
        return x.model_copy(update={"source": x.source.model_copy(update={"path": shown(x.source.path)})})

    items = "questions" if isinstance(aid, Quiz) else "cards"
    return aid.model_copy(update={items: [cited(x) for x in getattr(aid, items)],
                                  "source_path": aid.source_path and shown(aid.source_path)})


def option_label(q, j: int) -> str:
    return f"{LETTERS[j]}. {q.options[j]}"


def grade(quiz: Quiz, picks: list) -> tuple[list[str], str]:
    """Per-question feedback (with the cited passage) and the score line."""
    t = TEXT[quiz.lang]
    out, right = [], 0
    for q, pick in zip(quiz.questions, picks):
        correct = option_label(q, q.answer)
        if pick is not None and int(pick) == q.answer:
            right += 1
            head = t["right"]
        else:
            head = (t["unanswered"] if pick is None else t["wrong"]).format(o=correct)
        # The file name only: a nested library path overflows a phone screen (exports keep it).
        link = view_link(q.source.chunk_id, q.source.quote)
        out.append(f"{head}  \n{q.explanation}  \n> {q.source.quote}  \n<sub>`{os.path.basename(q.source.path)}`"
                   + (f" · {link}" if link else "") + "</sub>")
    return out, t["score"].format(k=right, n=len(quiz.questions))


def _write(kind: str, name: str, text: str) -> str:
    d = Path(tempfile.mkdtemp(prefix=f"studybot-{kind}-"))
    p = d / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _stem(quiz_or_deck: Quiz | Deck) -> str:
    base = quiz_or_deck.topic or Path(quiz_or_deck.source_path or "study").stem
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in base)[:40] or "study"


def build_study_tab(bot: StudyBot) -> None:
    """Call inside a ``gr.Tabs`` block."""
    import gradio as gr

    with gr.Tab("📝 测验 Quiz", id="study") as tab:
        with gr.Row():
            source = gr.Dropdown(source_choices(bot), label="来源文档 / Source", value=None, scale=3,
                                 elem_id="sb-study-source")
            topic = gr.Textbox(label="或输入主题 / or a topic", placeholder="例如：杠铃阅读法 / e.g. large models",
                               scale=3, elem_id="sb-study-topic")
        with gr.Row():
            n = gr.Slider(1, MAX_QUESTIONS, value=5, step=1, label="数量 / How many", scale=2, min_width=200)
            lang = gr.Radio(LANG_CHOICES, value="auto", label="语言 / Language", scale=2, min_width=200)
        with gr.Row():
            quiz_btn = gr.Button("📝 生成测验 / Make a quiz", variant="primary", elem_id="sb-make-quiz")
            cards_btn = gr.Button("🗂️ 生成卡片 / Make flashcards", elem_id="sb-make-cards")
        status = gr.Markdown(elem_id="sb-study-status")
        quiz_state = gr.State(None)
        blocks = []
        for i in range(MAX_QUESTIONS):
            with gr.Group(visible=False, elem_classes="sb-quiz-q") as group:
                stem = gr.Markdown()
                radio = gr.Radio([], label=f"Q{i + 1}", show_label=False, elem_id=f"sb-quiz-q{i + 1}")
                verdict = gr.Markdown()
            blocks.append((group, stem, radio, verdict))
        with gr.Row():
            check = gr.Button("✔️ 核对答案 / Check answers", visible=False, elem_id="sb-check")
            quiz_dl = gr.DownloadButton("⬇️ 测验 Markdown", visible=False, size="sm")
        score = gr.Markdown(elem_id="sb-score")
        cards_md = gr.Markdown(elem_id="sb-cards")
        with gr.Row():
            cards_md_dl = gr.DownloadButton("⬇️ Markdown", visible=False, size="sm")
            cards_tsv_dl = gr.DownloadButton("⬇️ Anki (TSV)", visible=False, size="sm")
            cards_csv_dl = gr.DownloadButton("⬇️ CSV", visible=False, size="sm")

    groups = [b[0] for b in blocks]
    stems = [b[1] for b in blocks]
    radios = [b[2] for b in blocks]
    verdicts = [b[3] for b in blocks]

    def hidden_quiz():
        return ([gr.update(visible=False)] * MAX_QUESTIONS + [gr.update(value="")] * MAX_QUESTIONS
                + [gr.update(choices=[], value=None)] * MAX_QUESTIONS + [""] * MAX_QUESTIONS)

    def on_quiz(source_v, topic_v, n_v, lang_v):
        try:
            quiz = for_learners(make_quiz(bot, n=int(n_v), **_args(bot, source_v, topic_v, lang_v)), bot)
        except StudyAidError as e:
            return [f"⚠️ {e}", None, *hidden_quiz(), gr.update(visible=False), gr.update(visible=False), ""]
        qs = quiz.questions
        vis = [gr.update(visible=i < len(qs)) for i in range(MAX_QUESTIONS)]
        st = [f"**{i + 1}. {qs[i].question}**" if i < len(qs) else "" for i in range(MAX_QUESTIONS)]
        rd = [gr.update(choices=[(option_label(qs[i], j), j) for j in range(len(qs[i].options))], value=None)
              if i < len(qs) else gr.update(choices=[], value=None) for i in range(MAX_QUESTIONS)]
        path = _write("quiz", f"quiz-{_stem(quiz)}.md", quiz.to_markdown())
        return [TEXT[quiz.lang]["made"].format(n=len(qs)), quiz.model_dump(), *vis, *st, *rd,
                *([""] * MAX_QUESTIONS), gr.update(visible=True), gr.update(value=path, visible=True), ""]

    def on_check(state, *picks):
        if not state:
            return [""] * MAX_QUESTIONS + [""]
        quiz = Quiz.model_validate(state)
        fb, line = grade(quiz, list(picks[: len(quiz.questions)]))
        return fb + [""] * (MAX_QUESTIONS - len(fb)) + [f"### {line}"]

    def on_cards(source_v, topic_v, n_v, lang_v):
        off = [gr.update(visible=False)] * 3
        try:
            deck = for_learners(make_flashcards(bot, n=int(n_v), **_args(bot, source_v, topic_v, lang_v)), bot)
        except StudyAidError as e:
            return [f"⚠️ {e}", "", *off]
        stem_ = _stem(deck)
        files = [_write("cards", f"cards-{stem_}.md", deck.to_markdown()),
                 _write("cards", f"cards-{stem_}.txt", deck.to_tsv()),
                 _write("cards", f"cards-{stem_}.csv", deck.to_csv())]
        body = "\n\n".join(f"<details><summary><b>{i}. {c.front}</b></summary>\n\n{c.back}\n\n"
                           f"<sub>{c.source.where()} {view_link(c.source.chunk_id, c.source.quote)}</sub>\n\n</details>" for i, c in enumerate(deck.cards, 1))
        return [TEXT[deck.lang]["cards"].format(n=len(deck.cards)), body,
                *[gr.update(value=f, visible=True) for f in files]]

    inputs = [source, topic, n, lang]
    quiz_btn.click(on_quiz, inputs, [status, quiz_state, *groups, *stems, *radios, *verdicts, check, quiz_dl, score],
                   api_visibility="undocumented")
    check.click(on_check, [quiz_state, *radios], [*verdicts, score], api_visibility="undocumented")
    cards_btn.click(on_cards, inputs, [status, cards_md, cards_md_dl, cards_tsv_dl, cards_csv_dl],
                    api_visibility="undocumented")
    tab.select(lambda: gr.update(choices=source_choices(bot)), None, source, api_visibility="undocumented",
               queue=False)


def register_study_api(bot: StudyBot) -> None:
    """API endpoints ``quiz`` and ``flashcards`` (call outside ``gr.Tabs``). They return the JSON text
    the CLI prints with ``--json`` (paths as learners see them): as a dict, gradio_client would take each
    ``path`` for a file to fetch."""
    import gradio as gr

    def made(make, topic: str, source: str, n: int, lang: str) -> str:
        try:
            aid = make(bot, n=min(int(n), MAX_ITEMS), **_args(bot, source, topic, lang))
        except StudyAidError as e:  # bad input: the caller gets the reason, not "an error occurred"
            raise gr.Error(str(e)) from None
        return for_learners(aid, bot).model_dump_json()

    def quiz(topic: str = "", source: str = "", n: int = 5, lang: str = "auto") -> str:
        """A multiple-choice quiz (JSON) from an indexed source (its library path) or a topic, with cited
        explanations."""
        return made(make_quiz, topic, source, n, lang)

    def flashcards(topic: str = "", source: str = "", n: int = 10, lang: str = "auto") -> str:
        """Flashcards (JSON: front/back + cited passage) from an indexed source (its library path) or a topic."""
        return made(make_flashcards, topic, source, n, lang)

    gr.api(quiz, api_name="quiz")
    gr.api(flashcards, api_name="flashcards")

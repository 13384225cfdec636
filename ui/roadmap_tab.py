"""The Roadmap tab: a form -> a learning plan grounded in the library.

Shows the plan's Markdown (per-stage citations), an SVG timeline and Markdown / .ics downloads,
and keeps the plan's JSON in a ``gr.State`` the Chat tab reads, so "第二阶段具体学什么？" is
answered about this plan. The app-built plan appears at once; the model's prose (20–60 s with
the local model) replaces it when ready. ``roadmap_result`` is the named API endpoint ``roadmap``.
Citations carry the paths learners see (relative to the library), never the server's absolute paths.

**Saved plans live in the learner's browser** (``gr.BrowserState``: localStorage), not on the server:
"💾 保存" stores the plan with its start date and ticked tasks, a reload or a new tab of the same
browser restores it (the page's load event sends it back), ticking a task stores the ticks, "🗑️"
clears it. No accounts, no ids, nothing personal kept server-side, so there is nothing another caller
could read or overwrite; what the page sends back is re-validated each time
(``bot.features.roadmap.progress.load_record``). The value is a JSON *string*: a dict holding
citations' ``{"path": …}`` would read as a file reference to the gate (ui/gate.py).
"""
from __future__ import annotations

import json
import tempfile
from typing import Any

from bot.features.admin import short_path
from bot.features.roadmap.build import RoadmapError, Roadmap
from bot.features.roadmap.export import timeline_figure, to_ics
from bot.features.roadmap.forms import FormProblems, check_request, message_lang, save_exports
from bot.features.roadmap.render import citation_line, render_markdown, week_span
from bot.features.roadmap.progress import PlanRecord, load_record, schedule
from bot.service import StudyBot
from ui.chat import view_link

LEVELS = [("入门 / beginner", "beginner"), ("中级 / intermediate", "intermediate"), ("高级 / advanced", "advanced")]
LANGS = [("自动（按目标的语言）/ auto", ""), ("中文", "zh"), ("English", "en")]

TEXT = {
    "zh": {"working": "⏳ 正在检索资料、安排阶段…",
           "drafting": "✍️ 计划已可使用（下方）；语言模型正在撰写导语和各阶段说明，本地模型约需 20–60 秒…",
           "done": "✅ 路线图已生成（日历从 {start} 开始）。可到「💬 问答」页追问，例如：“第二阶段具体学什么？”",
           "errors": "**⚠️ 请修改以下内容：**", "failed": "**⚠️ 无法生成路线图：**",
           "uncovered": "**📭 资料库目前没有覆盖这个目标，所以没有生成阶段**（不会用不相关领域的内容凑数）。缺少：",
           "partial": "⚠️ 资料库只覆盖了目标的一部分：下面的阶段只针对已覆盖的部分。尚未覆盖：{gaps}",
           "restored": "📂 已从这个浏览器恢复你保存的路线图（日历从 {start} 开始）。可到「💬 问答」页问“这周我该做什么？”",
           "unsaved": "这份计划还没有保存。点「💾 保存」把它和你的进度留在这个浏览器里（会替换之前保存的计划）。",
           "saved": "💾 已保存在这个浏览器里 · 开始于 {start} · 已完成 {d}/{t} 项任务。只存在你的浏览器中，服务器不保存。",
           "deleted": "🗑️ 已删除这个浏览器里保存的计划。", "stage": "阶段{i}"},
    "en": {"working": "⏳ Searching the library and scheduling the stages…",
           "drafting": "✍️ The plan below is ready to use; the language model is drafting the intro and stage notes "
                       "(20–60 s with the local model)…",
           "done": "✅ Roadmap ready (the calendar starts on {start}). Ask about it in the 💬 Chat tab, e.g. "
                   "“What do I do in stage 2?”",
           "errors": "**⚠️ Please fix:**", "failed": "**⚠️ Could not build the roadmap:**",
           "uncovered": "**📭 The library does not cover this goal yet, so there are no stages** (none are borrowed "
                        "from unrelated fields). Missing:",
           "partial": "⚠️ The library covers only part of this goal: the stages below serve that part. Not covered: "
                      "{gaps}",
           "restored": "📂 Your saved roadmap was restored from this browser (the calendar starts on {start}). Ask "
                       "“What's next this week?” in the 💬 Chat tab.",
           "unsaved": "This plan is not saved yet. Click 💾 Save to keep it and your progress in this browser "
                      "(it replaces a plan saved before).",
           "saved": "💾 Saved in this browser · starts {start} · {d} of {t} tasks done. It is kept in your browser "
                    "only, never on the server.",
           "deleted": "🗑️ The plan saved in this browser was deleted.", "stage": "Stage {i}"},
}

# Where the browser keeps the saved plan. The "secret" only scrambles the stored value: Gradio sends it to
# the page, so it protects nothing; it is fixed so that a server restart does not make saved plans unreadable.
STORAGE_KEY = "studybot-saved-plan"
STORAGE_SCRAMBLE = "studybot-plan-v1"
# localStorage is only written for a non-empty value, so deleting stores this instead of nothing.
CLEARED = "{}"

ROADMAP_CSS = """
#rm-errors {border:1px solid #e45756; border-radius:8px; padding:.25rem .75rem; background:#fff5f5; color:#8a1c1c}
#rm-chart svg {width:100%; height:auto}
"""


def _fields(goal: Any, background: Any, level: Any, hours_per_week: Any, months: Any, lang: Any) -> dict[str, Any]:
    return dict(goal=goal, background=background, level=level, hours_per_week=hours_per_week, months=months,
                lang=lang)


SOURCES_HEAD = "### 📖 出处原文 / Cited passages"


def sources_md(rm: Roadmap) -> str:
    """Each stage's citations as links to the source viewer (the plan's own Markdown, which the
    downloads share, keeps plain citations)."""
    lang = rm.profile.lang or "en"
    lines = []
    for i, s in enumerate(rm.stages, 1):
        links = [view_link(c.chunk_id, "", citation_line(c, lang)) for c in s.citations if c.chunk_id]
        if links:
            lines.append(f"- **{i}.** " + " · ".join(links))
    return "\n\n" + SOURCES_HEAD + "\n\n" + "\n".join(lines) if lines else ""


def _problems_md(lang: str, head: str, lines: list[str]) -> str:
    return TEXT[lang][head] + "\n\n" + "\n".join(f"- {line}" for line in lines)


def learner_json(rm: Roadmap, bot: StudyBot) -> dict[str, Any]:
    """The plan's JSON with each citation's path as learners see it (the plan is found again by its stages'
    titles and topics, never by these paths, so the chat's follow-ups work the same)."""
    out = rm.to_json()
    for stage in out["stages"]:
        for c in stage["citations"]:
            c["path"] = short_path(c["path"], bot.settings.library_dir, learner=True)
        if isinstance(stage.get("from"), dict):
            stage["from"]["path"] = short_path(stage["from"]["path"], bot.settings.library_dir, learner=True)
    return out


def coverage_lines(rm: Roadmap) -> list[str]:
    """One line per gap: what is missing and what kind of source to add (in the plan's language)."""
    return [f"{g.missing} {g.add}" for g in rm.gaps]


def roadmap_result(bot: StudyBot, goal: str, background: str = "", level: str = "beginner",
                   hours_per_week: float | None = None, months: float | None = None, lang: str = "",
                   start_date: str = "") -> dict[str, Any]:
    """The API's answer: the roadmap's JSON plus its calendar and timeline, or ``{"errors": [...]}``."""
    fields = _fields(goal, background, level, hours_per_week, months, lang)
    try:
        profile, start = check_request(fields, start_date, message_lang(fields, default="en"))
        rm = bot.roadmap(profile)
    except FormProblems as e:
        return {"errors": e.lines}
    except RoadmapError as e:
        return {"errors": [str(e)]}
    if not rm.covered:  # nothing to put in a calendar or a timeline
        return {**learner_json(rm, bot), "errors": [], "start_date": start.isoformat(), "ics": "", "timeline_svg": ""}
    return {**learner_json(rm, bot), "errors": [], "start_date": start.isoformat(), "ics": to_ics(rm, start),
            "timeline_svg": timeline_figure(rm)}


def _record_lang(rec: PlanRecord) -> str:
    return rec.plan.profile.lang or "en"


def progress_choices(rec: PlanRecord) -> list[tuple[str, str]]:
    """(label, "stage.task") for every task: "阶段1 · 第 1–2 周 · task"."""
    lang = _record_lang(rec)
    return [(f"{TEXT[lang]['stage'].format(i=s.stage)} · {week_span(s.first_week, s.due_week, lang)} · {s.text}", s.key)
            for s in schedule(rec.plan)]


def saved_note(rec: PlanRecord | None, lang: str = "zh") -> str:
    if rec is None:
        return ""
    t = TEXT[_record_lang(rec)]
    if not rec.saved:
        return t["unsaved"]
    return t["saved"].format(start=rec.start_date.isoformat(), d=len(rec.done), t=len(rec.keys()))


def saved_plan_state():
    """The browser's slot for the saved plan. Create it outside any tab: a tab's contents mount only when
    the tab is first opened, and an unmounted BrowserState has not read localStorage when the page loads."""
    import gradio as gr

    return gr.BrowserState(None, storage_key=STORAGE_KEY, secret=STORAGE_SCRAMBLE)


def build_roadmap_tab(bot: StudyBot, plan_state, saved):
    """The tab's widgets and events; call inside ``with gr.Tab(...)``. ``plan_state`` holds the current plan
    as a PlanRecord's JSON text (plan, start date, ticks); ``saved`` is ``saved_plan_state()``. Returns
    ``on_load(app)``, which wires the page's load event that restores the plan saved in this browser."""
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            goal = gr.Textbox(label="学习目标 / Goal", lines=2, elem_id="rm-goal",
                              placeholder="例如：用AI做小红书内容 / e.g. add LLM features to our product")
            background = gr.Textbox(label="背景或角色 / Background", elem_id="rm-background",
                                    placeholder="例如：内容创作者，不会编程 / e.g. backend developer")
            level = gr.Dropdown(LEVELS, value="beginner", label="水平 / Level", elem_id="rm-level")
            with gr.Row():
                hours = gr.Number(value=5, label="每周小时 / Hours per week", elem_id="rm-hours", min_width=120)
                months = gr.Number(value=3, label="月数 / Months", elem_id="rm-months", min_width=120)
            lang = gr.Dropdown(LANGS, value="", label="语言 / Language", elem_id="rm-lang")
            # Empty means the next Monday; the status line says which day the calendar starts on.
            start = gr.DateTime(include_time=False, type="string", label="日历开始日期 / Calendar start",
                                elem_id="rm-start")
            errors = gr.Markdown(visible=False, elem_id="rm-errors")
            go = gr.Button("🗺️ 生成路线图 / Build my roadmap", variant="primary", elem_id="rm-go")
        with gr.Column(scale=2, min_width=480):
            status = gr.Markdown("填写左侧表单，生成一份以资料库为依据的个人学习路线图。 / Fill in the form to get a "
                                 "personal study plan grounded in the library.", elem_id="rm-status")
            chart = gr.HTML(elem_id="rm-chart")
            with gr.Row():
                md_file = gr.DownloadButton("⬇️ Markdown", visible=False, elem_id="rm-md", size="sm")
                ics_file = gr.DownloadButton("📅 日历 / Calendar (.ics)", visible=False, elem_id="rm-ics", size="sm")
                save_btn = gr.Button("💾 保存 / Save", visible=False, elem_id="rm-save", size="sm")
                delete_btn = gr.Button("🗑️ 删除已保存 / Delete saved plan", visible=False, elem_id="rm-delete",
                                       size="sm", variant="stop")
            saved_md = gr.Markdown(elem_id="rm-saved")
            progress = gr.CheckboxGroup(label="任务进度（勾选已完成）/ Progress (tick what is done)", visible=False,
                                        elem_id="rm-progress")
            plan_md = gr.Markdown(elem_id="rm-plan")

    outputs = [errors, status, chart, plan_md, md_file, ics_file, plan_state, go, progress, save_btn, saved_md]
    quiet = [gr.skip()] * 3  # progress, save button, saved note: unchanged

    def shown(rm: Roadmap, start, note: str, rec: PlanRecord, ready: bool) -> tuple:
        md_path, ics_path = save_exports(rm, tempfile.mkdtemp(prefix="studybot-roadmap-"), start)
        return (gr.update(visible=False), note, timeline_figure(rm), rm.markdown + sources_md(rm),
                gr.update(value=str(md_path), visible=True), gr.update(value=str(ics_path), visible=True),
                rec.to_text(), gr.update(interactive=ready),
                gr.update(choices=progress_choices(rec), value=list(rec.done), visible=True, interactive=ready),
                gr.update(visible=True, interactive=ready), saved_note(rec))

    def generate(goal_v, background_v, level_v, hours_v, months_v, lang_v, start_v):
        fields = _fields(goal_v, background_v, level_v, hours_v, months_v, lang_v)
        ui_lang = message_lang(fields)
        t = TEXT[ui_lang]
        try:
            profile, start_day = check_request(fields, start_v)
        except FormProblems as e:
            # The previous plan (if any) stays on screen and in the chat's state: nothing is lost.
            yield (gr.update(value=_problems_md(ui_lang, "errors", e.lines), visible=True), "", gr.skip(),
                   gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(interactive=True), *quiet)
            return
        yield (gr.update(visible=False), t["working"], gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
               gr.update(interactive=False), *quiet)
        try:
            rm = bot.roadmap(profile, prose=False)
        except RoadmapError as e:
            yield (gr.update(value=_problems_md(ui_lang, "failed", [str(e)]), visible=True), "", gr.skip(),
                   gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(interactive=True), *quiet)
            return
        if not rm.covered:
            # Said in the learner's language; the previous plan (if any) stays where it was.
            yield (gr.update(value=_problems_md(ui_lang, "uncovered", coverage_lines(rm)), visible=True), "",
                   gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(interactive=True), *quiet)
            return
        done = t["done"].format(start=start_day.isoformat())
        partial = ""
        if rm.gaps:  # partly covered: say what the stages leave out
            partial = t["partial"].format(gaps=("、" if ui_lang == "zh" else ", ").join(g.topic for g in rm.gaps))
            done = f"{partial}\n\n{done}"
        drafting = bot.settings.llm != "none"
        # Saving and ticking wait for the final wording: it replaces the plan record.
        yield shown(rm, start_day, f"{partial}\n\n{t['drafting']}".strip() if drafting else done,
                    PlanRecord.new(learner_json(rm, bot), start_day), not drafting)
        if drafting:
            rm = bot.reword_roadmap(rm)
            yield shown(rm, start_day, done, PlanRecord.new(learner_json(rm, bot), start_day), True)

    def restore(raw):
        """The page's load: the plan saved in this browser, shown as when it was built; nothing if none."""
        rec = load_record(raw)
        if rec is None or not rec.saved:
            return (*[gr.skip()] * len(outputs), gr.skip(), *[gr.skip()] * 7)
        rm = rec.plan.model_copy(update={"markdown": render_markdown(rec.plan)})
        p = rm.profile
        out = shown(rm, rec.start_date, TEXT[_record_lang(rec)]["restored"].format(start=rec.start_date.isoformat()),
                    rec, True)
        return (*out, gr.update(visible=True), p.goal, p.background, p.level, p.hours_per_week, p.months,
                p.lang or "", rec.start_date.isoformat())

    def save(current):
        rec = load_record(current)
        if rec is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        rec = rec.model_copy(update={"saved": True})
        return rec.to_text(), rec.to_text(), saved_note(rec), gr.update(visible=True)

    def delete(current):
        rec = load_record(current)
        note = TEXT[_record_lang(rec) if rec else "zh"]["deleted"]
        if rec is not None:  # the plan stays on screen for this visit, no longer saved
            rec = rec.model_copy(update={"saved": False})
            note += "  \n" + saved_note(rec)
        return CLEARED, rec.to_text() if rec else gr.skip(), note, gr.update(visible=False)

    def tick(keys, current):
        rec = load_record(current)
        if rec is None:
            return gr.skip(), gr.skip(), gr.skip()
        rec = rec.ticked([k for k in (keys or []) if isinstance(k, str)])
        return rec.to_text(), rec.to_text() if rec.saved else gr.skip(), saved_note(rec)

    save_btn.click(save, [plan_state], [plan_state, saved, saved_md, delete_btn], api_visibility="private")
    delete_btn.click(delete, [plan_state], [saved, plan_state, saved_md, delete_btn], api_visibility="private")
    progress.input(tick, [progress, plan_state], [plan_state, saved, saved_md], api_visibility="private",
                   show_progress="hidden")

    def on_load(app) -> None:
        app.load(restore, [saved], [*outputs, delete_btn, goal, background, level, hours, months, lang, start],
                 api_visibility="private", show_progress="hidden")

    go.click(generate, [goal, background, level, hours, months, lang, start], outputs, api_visibility="private",
             show_progress="minimal")

    def roadmap(goal: str, background: str = "", level: str = "beginner", hours_per_week: float = 5,
                months: float = 3, lang: str = "", start_date: str = "") -> str:
        """A learning roadmap grounded in the library, as a JSON string: {"stages": [{"title", "start_week",
        "end_week", "hours", "topics", "tasks", "citations"}], "total_hours", "markdown", "ics", "timeline_svg",
        "errors": []}, or {"errors": ["hours_per_week: ...", ...]} for input that cannot make a plan."""
        # A string, not a dict: gradio_client downloads any {"path": ...} it sees as a file, citations included.
        return json.dumps(roadmap_result(bot, goal, background, level, hours_per_week, months, lang, start_date),
                          ensure_ascii=False)

    gr.api(roadmap, api_name="roadmap")
    return on_load

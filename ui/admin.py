"""The admin console: a separate gr.Blocks app, mounted at /admin behind a login (see ui/app.py).

It is its own Blocks on purpose: the learner app at / then has no admin function in its config
or API at all, instead of hiding admin buttons in a page anyone can call.
Every endpoint is named ``admin_*`` so scripts (and the tests) can drive the console with
gradio_client exactly as the browser does.
"""
from __future__ import annotations

import html
import time
from pathlib import Path

from bot.components import Components
from bot.core.settings import Settings
from bot.features import admin
from bot.index.store import Index
from ingest.fetch import FetchError, fetch_into_library
from ingest.reindex import reindex_job
from ingest.uploads import UploadError, store_upload, supported_types

POLL_SECONDS = 0.5
LANGS = [("自动 / auto", ""), ("中文 zh", "zh"), ("English en", "en")]
STAGES = {"starting": "准备 / starting", "parsing": "解析 / parsing", "ocr": "文字识别 / OCR (pages)",
          "embedding": "向量化 / embedding",
          "done": "完成 / done", "failed": "失败 / failed"}


def summary_line(index: Index, settings: Settings) -> str:
    st = index.status()
    return (f"📚 {st['files_ok']} files ok · ❌ {st['files_failed']} failed · {st['docs']} docs · {st['chunks']} passages · "
            f"🔎 vectors {st['vectors_ready']:.0%} ready · `{Path(settings.library_dir).resolve()}`")


def progress_html(snap: dict, *, joined: bool = False) -> str:
    """The re-index status as HTML: a bar while running, the report (and failures) when done."""
    head = "⚠️ 已在运行，显示其进度 / already running — showing its progress<br>" if joined else ""
    stage = STAGES.get(snap["stage"], snap["stage"])
    if snap["running"]:
        total, done = snap["total"], snap["done"]
        bar = f"<progress value='{done}' max='{total or 1}' style='width:100%'></progress>"
        return f"<div id='sb-reindex-state' data-state='running'>{head}⏳ {html.escape(stage)} {done}/{total}{bar}</div>"
    if snap["error"]:
        return (f"<div id='sb-reindex-state' data-state='failed'>{head}❌ 重建索引失败 / re-index failed: "
                f"{html.escape(snap['error'])}</div>")
    r = snap["report"]
    if not r:
        return "<div id='sb-reindex-state' data-state='idle'>尚未运行 / not run yet</div>"
    lines = [f"✅ 完成 / done in {r['seconds']} s: {r['files_seen']} files — {r['indexed']} indexed, "
             f"{r['unchanged']} unchanged, {r['removed']} removed, {len(r['failed'])} failed; {r['chunks_total']} passages"]
    for f in r["failed"]:
        lines.append(f"❌ <code>{html.escape(f['path'])}</code>: {html.escape(f['reason'])}")
    return f"<div id='sb-reindex-state' data-state='done'>{head}{'<br>'.join(lines)}</div>"


def build_admin_app(settings: Settings, components: Components | None = None):
    """``components``: the served process's (the learner chat's index is the one re-indexed, so learners
    see new content at once); without them the console opens its own."""
    import gradio as gr

    components = components or Components(settings)
    index = components.index(settings)
    job = reindex_job(components, settings)

    def sources():
        return summary_line(index, settings), admin.source_rows(index, settings)

    def reports():
        return admin.report_rows(index, settings)

    def upload(files):
        if not files:
            return "请选择文件 / choose files first"
        lines = []
        for f in files if isinstance(files, list) else [files]:
            src = Path(f if isinstance(f, str) else f.name)
            try:
                st = store_upload(src, src.name, settings)
                note = {"added": "✅ 已保存 / saved", "renamed": "✅ 已保存（改名，避免覆盖）/ saved under a new name",
                        "duplicate": "♻️ 已存在相同文件 / identical file already in the library"}[st.status]
                lines.append(f"{note}: `{admin.short_path(str(st.path), settings.library_dir)}`")
            except (UploadError, OSError) as e:
                lines.append(f"❌ `{src.name}`: {e}")
            finally:
                src.unlink(missing_ok=True)  # Gradio's cached copy: the library now holds the only one
        lines.append("\n点击“重建索引”使其可被检索 / press Re-index to make it searchable")
        return "\n\n".join(lines)

    def add_url(url, title, lang):
        try:
            saved = fetch_into_library(url, settings, title=(title or "").strip() or None, lang=lang or None)
        except FetchError as e:
            return f"❌ {e}"
        what = "订阅源 / feed" if saved.kind == "feed" else "网页 / page"
        return (f"✅ {what} saved ({saved.bytes:,} bytes): `{admin.short_path(str(saved.path), settings.library_dir)}` "
                f"· registry id `{saved.source_id}`\n\n点击“重建索引”使其可被检索 / press Re-index to make it searchable")

    def reindex():
        joined = not job.start()
        while True:
            snap = job.snapshot()
            yield progress_html(snap, joined=joined)
            if not snap["running"]:
                return
            time.sleep(POLL_SECONDS)

    with gr.Blocks(title="studybot admin") as app:
        gr.Markdown("## 🛠 studybot 管理控制台 / admin console")
        summary = gr.Markdown(elem_id="sb-admin-summary")
        with gr.Tabs():
            with gr.Tab("📚 来源 / Sources", id="sources"):
                table = gr.Dataframe(headers=admin.SOURCE_COLUMNS, interactive=False, wrap=True, elem_id="sb-sources")
                refresh = gr.Button("刷新 / Refresh", size="sm")
            with gr.Tab("➕ 添加 / Add", id="add"):
                gr.Markdown(f"上传论文、文档、简报 / upload papers, docs, newsletters — types: {' '.join(supported_types())}; "
                            f"max {settings.max_file_mb:g} MB each. Files go to `uploads/` in the library.")
                files = gr.File(file_count="multiple", file_types=supported_types(), label="文件 / files",
                                elem_id="sb-upload")
                save = gr.Button("保存到资料库 / Save to library", variant="primary", elem_id="sb-save")
                upload_out = gr.Markdown(elem_id="sb-upload-result")
                gr.Markdown("—\n\n订阅源或网页 / RSS-Atom feed or web page (http/https)")
                with gr.Row():
                    url = gr.Textbox(label="URL", placeholder="https://example.org/feed.xml", scale=4, elem_id="sb-url")
                    title = gr.Textbox(label="标题 / title (optional)", scale=3)
                    lang = gr.Dropdown(LANGS, value="", label="语言 / language", scale=1)
                fetch_btn = gr.Button("抓取 / Fetch", elem_id="sb-fetch")
                fetch_out = gr.Markdown(elem_id="sb-fetch-result")
            with gr.Tab("🔄 重建索引 / Re-index", id="reindex"):
                gr.Markdown("增量重建：只处理新增或改动的文件，学习者可以继续提问 / incremental: only new or changed "
                            "files are processed; learners keep chatting meanwhile.")
                go = gr.Button("重建索引 / Re-index", variant="primary", elem_id="sb-reindex")
                state = gr.HTML(progress_html(job.snapshot()), elem_id="sb-reindex-status")
                gr.Markdown("### 历史 / history")
                history = gr.Dataframe(headers=admin.REPORT_COLUMNS, interactive=False, wrap=True, elem_id="sb-reports")
            if admin.feedback_source() is not None:
                with gr.Tab("👍 反馈 / Feedback", id="feedback"):
                    feedback = gr.Dataframe(headers=admin.FEEDBACK_COLUMNS, interactive=False, wrap=True)
                    fb_refresh = gr.Button("刷新 / Refresh", size="sm")
                fb_refresh.click(lambda: admin.feedback_rows(settings), None, feedback, api_name="admin_feedback")
                app.load(lambda: admin.feedback_rows(settings), None, feedback, api_name=False)

        app.load(sources, None, [summary, table], api_name=False)
        app.load(reports, None, history, api_name=False)
        refresh.click(sources, None, [summary, table], api_name="admin_sources").then(
            reports, None, history, api_name="admin_reports")
        save.click(upload, files, upload_out, api_name="admin_upload").then(lambda: None, None, files, api_name=False)
        fetch_btn.click(add_url, [url, title, lang], fetch_out, api_name="admin_fetch")
        # Re-index streams its status; when it ends, the tables show the new state.
        go.click(reindex, None, state, api_name="admin_reindex", concurrency_limit=None).then(
            sources, None, [summary, table], api_name=False).then(reports, None, history, api_name=False)
    return app

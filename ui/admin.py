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
from ingest.pipeline import SourceError, delete_source, reparse_source
from ingest.reindex import reindex_job
from ingest.uploads import UploadError, store_upload, supported_types

POLL_SECONDS = 0.5
LANGS = [("自动 / auto", ""), ("中文 zh", "zh"), ("English en", "en")]
FILE_CHOICES = [("自动：仅删除上传的文件 / auto: delete the file only if it was uploaded", "auto"),
                ("保留文件（下次重建索引会重新加入）/ keep the file (the next re-index adds it back)", "keep"),
                ("同时删除资料库中的文件 / delete the file from the library too", "delete")]
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

    def pick_list():
        return gr.update(choices=admin.source_choices(index, settings))

    def enabled(name, on: bool):
        try:
            path = admin.set_source_enabled(index, settings, name, on)
        except admin.SourceNotFound as e:
            return f"❌ {e}", pick_list()
        shown = admin.short_path(path, settings.library_dir)
        note = ("✅ 已启用，立即可被检索 / enabled: searchable again at once" if on else
                "⏸ 已停用，立即从检索中移除（段落和向量保留）/ disabled: out of search at once (passages and vectors kept)")
        return f"{note}: `{shown}`", pick_list()

    def disable(name):
        return enabled(name, False)

    def enable(name):
        return enabled(name, True)

    def reparse(name):
        try:
            path = admin.find_source(index, settings, name)
            rep = reparse_source(path, settings, index=index)
        except (admin.SourceNotFound, SourceError) as e:
            return f"❌ {e}", pick_list()
        shown = admin.short_path(path, settings.library_dir)
        if rep.failed:
            return f"❌ 重新解析失败 / re-parse failed: `{shown}`: {rep.failed[0]['reason']}", pick_list()
        n = len(index.manifest.file_passages(path))
        return f"✅ 已重新解析 / re-parsed `{shown}`: {n} passages ({rep.chunks_embedded} embedded anew)", pick_list()

    def delete(name, file_policy, confirm):
        try:
            path = admin.find_source(index, settings, name)
        except admin.SourceNotFound as e:
            return f"❌ {e}", pick_list()
        shown = admin.short_path(path, settings.library_dir)
        if (confirm or "").strip() != shown:
            return (f"⚠️ 请在确认框中输入 `{shown}` 再删除 / type `{shown}` in the confirmation box to delete",
                    pick_list())
        try:
            out = delete_source(path, settings, index=index, file=file_policy or "auto")
        except SourceError as e:
            return f"❌ {e}", pick_list()
        lines = [f"🗑 已从索引删除 / removed from the index: `{shown}` ({out['passages']} passages)"]
        if out["file_deleted"]:
            lines.append("文件已从资料库删除 / the file was deleted from the library")
        elif out["returns"]:
            lines.append("⚠️ 文件仍在资料库中，下次重建索引会重新加入；若要永久排除请用“停用” / the file is still in the "
                         "library and the next re-index adds it back: disable the source to keep it out")
        else:
            lines.append("文件未改动 / the file was left as it is")
        return "\n\n".join(lines), pick_list()

    def passages(name):
        try:
            return "", admin.passage_rows(index, settings, name)
        except admin.SourceNotFound as e:
            return f"❌ {e}", []

    def search_test(query, k):
        query = (query or "").strip()
        if not query:
            return "请输入查询 / type a query", []
        hits = searcher().search(query[: settings.max_question_chars], int(k or 10))
        return f"{len(hits)} passages", admin.search_rows(hits, settings)

    def searcher():
        # The learner chat's search (same index, fusion and glossary), built on first use.
        from bot.service import StudyBot

        return components.shared(("admin-search", str(settings.index_dir)),
                                 lambda: StudyBot(settings, components=components))

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
            with gr.Tab("🔧 单个来源 / One source", id="source"):
                # Custom values too: a script names a source by path; find_source matches it against the index.
                pick = gr.Dropdown(admin.source_choices(index, settings), label="来源 / source", allow_custom_value=True,
                                   elem_id="sb-source-pick")
                with gr.Row():
                    disable_btn = gr.Button("⏸ 停用 / Disable", elem_id="sb-source-disable", size="sm")
                    enable_btn = gr.Button("▶️ 启用 / Enable", elem_id="sb-source-enable", size="sm")
                    reparse_btn = gr.Button("🔁 重新解析 / Re-parse", elem_id="sb-source-reparse", size="sm")
                    passages_btn = gr.Button("📄 查看段落 / View passages", elem_id="sb-source-passages", size="sm")
                with gr.Accordion("🗑 删除 / Delete", open=False):
                    gr.Markdown("从索引中删除：段落和向量立即移除。资料库中的文件如何处理见下 / Removes the source's "
                                "passages and vectors from the index at once. What happens to the file:")
                    file_policy = gr.Radio(FILE_CHOICES, value="auto", label="文件 / the file", elem_id="sb-source-file")
                    confirm = gr.Textbox(label="确认：输入来源路径 / confirm: type the source's path",
                                         elem_id="sb-source-confirm")
                    delete_btn = gr.Button("🗑 删除 / Delete", variant="stop", elem_id="sb-source-delete", size="sm")
                source_out = gr.Markdown(elem_id="sb-source-result")
                passages_table = gr.Dataframe(headers=admin.PASSAGE_COLUMNS, interactive=False, wrap=True,
                                              elem_id="sb-passages")
            with gr.Tab("🔍 检索测试 / Search test", id="search"):
                with gr.Row():
                    query = gr.Textbox(label="查询 / query", scale=5, elem_id="sb-search-query")
                    k = gr.Slider(1, 30, value=10, step=1, label="k", scale=1)
                search_btn = gr.Button("🔍 检索 / Search", variant="primary", elem_id="sb-search-go")
                search_out = gr.Markdown(elem_id="sb-search-note")
                search_table = gr.Dataframe(headers=admin.SEARCH_COLUMNS, interactive=False, wrap=True,
                                            elem_id="sb-search-results")
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
        app.load(pick_list, None, pick, api_name=False)
        one = [source_out, pick]
        disable_btn.click(disable, pick, one, api_name="admin_source_disable").then(
            sources, None, [summary, table], api_name=False)
        enable_btn.click(enable, pick, one, api_name="admin_source_enable").then(
            sources, None, [summary, table], api_name=False)
        reparse_btn.click(reparse, pick, one, api_name="admin_source_reparse").then(
            sources, None, [summary, table], api_name=False)
        # The confirmation is typed again for the next deletion; the shown passages may be gone.
        delete_btn.click(delete, [pick, file_policy, confirm], one, api_name="admin_source_delete").then(
            lambda: ("", None), None, [confirm, passages_table], api_name=False).then(
            sources, None, [summary, table], api_name=False)
        passages_btn.click(passages, pick, [source_out, passages_table], api_name="admin_source_passages")
        search_btn.click(search_test, [query, k], [search_out, search_table], api_name="admin_search_test")
        query.submit(search_test, [query, k], [search_out, search_table], api_name=False)
        refresh.click(sources, None, [summary, table], api_name="admin_sources").then(
            reports, None, history, api_name="admin_reports")
        save.click(upload, files, upload_out, api_name="admin_upload").then(lambda: None, None, files, api_name=False)
        fetch_btn.click(add_url, [url, title, lang], fetch_out, api_name="admin_fetch")
        # Re-index streams its status; when it ends, the tables show the new state.
        go.click(reindex, None, state, api_name="admin_reindex", concurrency_limit=None).then(
            sources, None, [summary, table], api_name=False).then(reports, None, history, api_name=False)
    return app

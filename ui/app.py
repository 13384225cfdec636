"""The Gradio app: chat (streamed, cited) over the same StudyBot the CLI uses.

The chat function is exposed as the named API endpoint ``chat`` so scripts and tests can call
it with gradio_client exactly as the browser does.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from bot.components import Components
from bot.core.settings import Settings, get_settings
from bot.service import StudyBot
from ui.answer_log import AnswerLog
from ui.chat import BadRequest, ask_json, respond
from ui.feedback_ui import wire_feedback
from ui.roadmap_tab import ROADMAP_CSS, build_roadmap_tab, saved_plan_state
from ui.study_tab import build_study_tab, register_study_api

log = logging.getLogger("studybot")

EXAMPLES = [
    "什么是杠铃阅读法？",
    "微调后的7B模型推理成本是多少？",
    "What does the study plan recommend in the first three months?",
    "How should a content creator start learning generative AI?",
]

CSS = """
.sb-header {display:flex; justify-content:space-between; align-items:baseline; flex-wrap:wrap; gap:.5rem}
.sb-badge {font-size:.85rem; opacity:.8}
@media (max-width: 480px) { .sb-header h2 {font-size: 1.25rem} .sb-badge {font-size: .75rem} }
""" + ROADMAP_CSS

PLACEHOLDER = ("### 👋 问我任何关于资料库的问题 / Ask me about the library\n"
               "每个回答都附有出处；点 👍/👎 告诉我们答得好不好。  \n"
               "Every answer cites its sources; rate it with 👍/👎.")


def _offline_env() -> None:
    for k, v in {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                 "ANONYMIZED_TELEMETRY": "False"}.items():
        os.environ.setdefault(k, v)


def status_line(bot: StudyBot) -> str:
    provider, model = bot.describe_llm()
    st = bot.index.manifest.stats()
    return (f"<span class='sb-badge'>🧠 {provider}{': ' + model if model else ''} · "
            f"📚 {st.get('docs', 0)} docs / {st.get('chunks', 0)} passages · 🔎 {bot.index.embedder.model_id}</span>")


def build_app(settings: Settings | None = None, bot: StudyBot | None = None):
    _offline_env()
    import gradio as gr

    settings = settings or get_settings()
    bot = bot or StudyBot(settings)
    answers = AnswerLog()  # what the chat answered, for the 👍/👎 handler: never the client's copy

    def chat(message, history, plan=None):
        yield from respond(bot, message, history, plan, log=answers)

    with gr.Blocks(title="studybot") as app:
        # The learner's current roadmap with its start date and ticks (bot.features.roadmap.progress.PlanRecord
        # as JSON text): written by the Roadmap tab (and restored from the browser on load), read by the chat.
        plan_state = gr.State(None)
        saved_plan = saved_plan_state()  # the plan the learner saved, in this browser's localStorage
        with gr.Row(elem_classes="sb-header"):
            gr.Markdown("## 📖 studybot — 学习助手 / study companion")
            gr.Markdown(status_line(bot), elem_id="sb-status")
        # One tab per capability; each tab's widgets and events live in their own ui/ module.
        with gr.Tabs(elem_id="sb-tabs"):
            with gr.Tab("💬 问答 Chat", id="chat"):
                chatbot = gr.Chatbot(height=560, label="studybot", elem_id="sb-chat", placeholder=PLACEHOLDER,
                                     feedback_options=("Like", "Dislike"))
                gr.ChatInterface(
                    chat,
                    chatbot=chatbot,
                    textbox=gr.Textbox(placeholder="用中文或英文提问… / Ask in Chinese or English…", scale=7,
                                       elem_id="sb-input", submit_btn=True),
                    examples=[[q, None] for q in EXAMPLES],  # with additional_inputs, one value per input
                    cache_examples=False,
                    additional_inputs=[plan_state],
                    api_name="chat",
                    # Every chat starts at once (search and evidence are cheap); the model's turns are
                    # queued inside the pipeline, which tells each learner their place.
                    concurrency_limit=settings.chat_concurrency,
                    description="Answers come only from the library; every answer lists its sources with the quoted passage.",
                )
                wire_feedback(chatbot, bot.components.feedback(settings), answers)
            with gr.Tab("🗺️ 路线 Roadmap", id="roadmap"):
                restore_saved_plan = build_roadmap_tab(bot, plan_state, saved_plan)
            build_study_tab(bot)
        register_study_api(bot)
        restore_saved_plan(app)

        def ask(question: str, history: str = "[]") -> str:
            """One answer as JSON (answer, status, evidence, citations, timings) for other front-ends.
            ``history``: JSON list of {"role", "content"}, the conversation so far, for follow-ups."""
            try:
                return ask_json(bot, question, history)
            except BadRequest as e:
                raise gr.Error(str(e)) from None

        gr.api(ask, api_name="ask")
    return app


def warm_up(bot: StudyBot) -> None:
    """Load the embedder and the model in the background so the first question is not the slow one."""
    def run():
        try:
            bot.search("warm up", 1)
            if bot.settings.llm not in ("none", "fake"):
                model = bot.chat_model()
                if hasattr(model, "load"):
                    model.load()
        except Exception as e:  # noqa: BLE001 - the chat reports the real error when asked
            log.warning("warm-up: %s", e)
    threading.Thread(target=run, daemon=True, name="warm-up").start()


def _mount(server, blocks, path: str, **kw) -> None:
    """gr.mount_gradio_app, then what launch() would also have done: mark the Blocks launched, so
    Gradio checks the file paths clients send (unlaunched, it moved any server file into its cache)."""
    import gradio as gr

    gr.mount_gradio_app(server, blocks, path, **kw)
    blocks.has_launched = True


def _mounted(server, path: str):
    from starlette.routing import Mount

    return next(r.app for r in server.routes if isinstance(r, Mount) and r.path == path)


def build_server(settings: Settings | None = None, bot: StudyBot | None = None):
    """One ASGI app: the learner chat at / (no login) and, only when an admin secret is set, the admin
    console at /admin (login required). They are separate Gradio apps with separate APIs, queues and
    session tokens, so nothing reachable from / can call an admin function. Every request passes the
    gate (ui/gate.py) first. Both apps use ``bot``'s components (one index, one feedback store)."""
    _offline_env()
    from fastapi import FastAPI

    from ui.auth import admin_secret, protected_files
    from ui.gate import AdminDoor, Gate, admin_login_check, upload_folder

    settings = settings or get_settings()
    bot = bot or StudyBot(settings)
    secret = admin_secret(settings)
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # The OpenAI-compatible API (off without a key): registered first, since the mounts below, "/" above
    # all, take every path they match. It shares the learner queue's limits but not its queue.
    from ui.openai_api import add_openai_api

    add_openai_api(server, bot, settings, running=LEARNER_CONCURRENCY, waiting=LEARNER_QUEUE_SIZE)
    where = dict(server_name=settings.host, server_port=settings.port, css=CSS, footer_links=["api", "settings"])
    # Never served, whatever an event returns: the library's raw files, the index (manifest, feedback,
    # vectors), the secret's file and .env.
    blocked = [str(Path(settings.library_dir).resolve()), str(Path(settings.index_dir).resolve()),
               *protected_files(settings)]
    if settings.feedback_db:
        blocked.append(str(Path(settings.feedback_db).resolve()))
    door = None
    if secret is not None:
        from ui.admin import build_admin_app

        console = build_admin_app(settings, bot.components)
        # api_open=False: every call goes through the queue and its concurrency limit.
        console.queue(default_concurrency_limit=2, api_open=False)
        # Mounted before "/": Starlette matches mounts in order and "/" would swallow /admin.
        _mount(server, console, "/admin", auth=admin_login_check(secret),
               auth_message="studybot 管理控制台 / admin console", blocked_paths=blocked,
               max_file_size=int(settings.max_file_mb * 1024 * 1024), **where)
        door = AdminDoor(_mounted(server, "/admin"))
    else:
        log.warning("admin console is off: set STUDYBOT_ADMIN_PASSWORD_FILE to serve it at /admin")
    # The source viewer (read-only, from the index): registered before "/", which would swallow it.
    from ui.viewer import add_viewer_route

    add_viewer_route(server, lambda: bot.index.manifest)
    learner = build_app(settings, bot)
    learner.queue(default_concurrency_limit=LEARNER_CONCURRENCY, api_open=False, max_size=LEARNER_QUEUE_SIZE)
    # Learners upload nothing (the gate refuses /upload), and the library's files are never served raw.
    _mount(server, learner, "/", max_file_size=1024 * 1024, blocked_paths=blocked, **where)
    server.add_middleware(Gate, upload_dir=upload_folder(), admin=door)
    return server


# Answers written at once (one local model on a laptop's cores), for the chat and, separately, the /v1 API.
LEARNER_CONCURRENCY = 2
# Waiting chats beyond this get "the queue is full" at once instead of piling up behind two workers
# (API callers beyond it get 429).
LEARNER_QUEUE_SIZE = 64


def start_server(asgi, host: str, port: int):
    """Run ``asgi`` with uvicorn in a daemon thread; returns the uvicorn.Server once it accepts
    connections (stop it with ``server.should_exit = True``)."""
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="uvicorn")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"could not serve on {host}:{port} (see the log above)")
        time.sleep(0.05)
    server.thread = thread
    return server


def serve(settings: Settings | None = None, *, host: str | None = None, port: int | None = None,
          prevent_thread_lock: bool = False):
    import uvicorn

    from ui.auth import admin_secret, warn_if_environment
    from ui.openai_api import api_key

    settings = (settings or get_settings()).with_overrides(host=host, port=port)
    secret = admin_secret(settings)
    warn_if_environment(secret)
    components = Components(settings)  # everything shared by the chat, the console and the embedder
    bot = StudyBot(settings, components=components)
    asgi = build_server(settings, bot)
    warm_up(bot)
    components.background_embedding(bot.index)  # vectors still pending from an `ingest --no-embed` fill in
    base = f"http://{settings.host}:{settings.port}"
    print(f"* studybot: {base}/" + (f"  · admin console: {base}/admin/" if secret else "")
          + (f"  · OpenAI-compatible API: {base}/v1" if api_key(settings) else ""), flush=True)
    if prevent_thread_lock:
        return start_server(asgi, settings.host, settings.port)
    uvicorn.Server(uvicorn.Config(asgi, host=settings.host, port=settings.port, log_level="warning")).run()

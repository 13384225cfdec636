"""The Gradio app: chat (streamed, cited) over the same StudyBot the CLI uses.

The chat function is exposed as the named API endpoint ``chat`` so scripts and tests can call
it with gradio_client exactly as the browser does.
"""
from __future__ import annotations

import logging
import os
import threading

from bot.background_embed import start_background_embedding
from bot.service import StudyBot
from bot.settings import Settings, get_settings
from ui.chat import respond

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
"""


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

    def chat(message, history):
        yield from respond(bot, message, history)

    with gr.Blocks(title="studybot") as app:
        with gr.Row(elem_classes="sb-header"):
            gr.Markdown("## 📖 studybot — 学习助手 / study companion")
            gr.Markdown(status_line(bot), elem_id="sb-status")
        # One tab per capability; each tab's widgets and events live in their own ui/ module.
        with gr.Tabs(elem_id="sb-tabs"):
            with gr.Tab("💬 问答 / Chat", id="chat"):
                gr.ChatInterface(
                    chat,
                    chatbot=gr.Chatbot(height=560, label="studybot", elem_id="sb-chat"),
                    textbox=gr.Textbox(placeholder="用中文或英文提问… / Ask in Chinese or English…", scale=7,
                                       elem_id="sb-input", submit_btn=True),
                    examples=EXAMPLES,
                    cache_examples=False,
                    api_name="chat",
                    description="Answers come only from the library; every answer lists its sources with the quoted passage.",
                )
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


def serve(settings: Settings | None = None, *, host: str | None = None, port: int | None = None,
          prevent_thread_lock: bool = False):
    settings = settings or get_settings()
    bot = StudyBot(settings)
    app = build_app(settings, bot)
    warm_up(bot)
    start_background_embedding(bot.index)  # vectors still pending from an `ingest --no-embed` fill in
    app.queue(default_concurrency_limit=2)
    return app.launch(server_name=host or settings.host, server_port=port or settings.port, css=CSS,
                      show_error=True, prevent_thread_lock=prevent_thread_lock)

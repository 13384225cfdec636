"""The OpenAI-compatible API (/v1): a real server (uvicorn, the same build_server as `studybot serve`, the
seed index with the real embedder), driven by the official `openai` client and by plain httpx. The LLM is
the deterministic fake (a wire-format test), except in the slow test at the end."""
from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import types

import httpx
import openai
import pytest
from pydantic import SecretStr
from stubs import free_port

pytestmark = pytest.mark.timeout(300)

KEY = "sk-studybot-" + "3f9a" * 8
QUESTION = "第一阶段学什么？"
# A follow-up that names nothing: alone it finds other passages, after TOPIC it is about TOPIC.
TOPIC, FOLLOW_UP = "什么是杠铃阅读法？", "它有什么好处？"


def _serve(settings, bot):
    from ui.app import build_server, start_server

    asgi = build_server(settings, bot)
    server = start_server(asgi, "127.0.0.1", settings.port)
    return server, asgi


@pytest.fixture(scope="module")
def site(seed_index, components, tmp_path_factory):
    from bot.service import StudyBot

    key_file = tmp_path_factory.mktemp("apikey") / "api.key"
    key_file.write_text(KEY + "\n")
    settings = seed_index.with_overrides(port=free_port(), api_key_file=key_file)
    bot = StudyBot(settings, components=components)
    server, asgi = _serve(settings, bot)
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{settings.port}", bot=bot, settings=settings, asgi=asgi)
    server.should_exit = True
    server.thread.join(10)


def client(site, key: str = KEY, source: str | None = None) -> openai.OpenAI:
    http = httpx.Client(transport=httpx.HTTPTransport(local_address=source)) if source else None
    return openai.OpenAI(base_url=site.url + "/v1", api_key=key, max_retries=0, timeout=120, http_client=http)


def post(site, body, key: str | None = KEY, **kw) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, (bytes, str)):
        return httpx.post(site.url + "/v1/chat/completions", content=body, headers=headers, timeout=120, **kw)
    return httpx.post(site.url + "/v1/chat/completions", json=body, headers=headers, timeout=120, **kw)


def ask_json(site, question: str, history=None) -> dict:
    """What the `ask` endpoint answers for the same turn: the API must be the same answer, not a second path."""
    from ui.chat import ask_json as ask

    return json.loads(ask(site.bot, question, json.dumps(history or [])))


# --- the official client ------------------------------------------------------------------------

def test_models_are_listed_for_the_official_client(site):
    c = client(site)
    assert [m.id for m in c.models.list()] == ["studybot"]
    assert c.models.retrieve("studybot").owned_by == "studybot"
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("gpt-4o")


def test_answer_is_the_chats_answer_with_sources_in_text_and_fields(site):
    out = client(site).chat.completions.create(model="studybot", messages=[{"role": "user", "content": QUESTION}])
    same = ask_json(site, QUESTION)
    text = out.choices[0].message.content
    assert out.object == "chat.completion" and out.model == "studybot" and out.choices[0].finish_reason == "stop"
    assert out.choices[0].message.role == "assistant"
    assert text.startswith(same["answer"])
    # The extras are the `ask --json` parts, paths as learners see them (relative, never the server's).
    assert out.citations == same["citations"] and out.citations
    assert out.evidence == same["evidence"] and out.evidence
    assert out.studybot["status"] == same["status"] and out.studybot["provider"] == "fake"
    assert all(not c["path"].startswith("/") for c in out.citations)
    # Clients that show only the text still see a numbered source list.
    assert "📚 来源（%d）" % len(out.citations) in text
    for i, c in enumerate(out.citations, 1):
        assert f"\n{i}. **{c['title']}" in text and f"(`{c['path']}`)" in text


def test_streamed_answer_is_the_same_answer_chunk_by_chunk(site):
    msgs = [{"role": "user", "content": QUESTION}]
    whole = client(site).chat.completions.create(model="studybot", messages=msgs)
    chunks = list(client(site).chat.completions.create(model="studybot", messages=msgs, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len(chunks) > 4  # the model's tokens arrive as they come, not in one piece
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert last.citations == whole.citations and last.evidence == whole.evidence
    assert last.studybot["status"] == whole.studybot["status"]
    assert len({c.id for c in chunks}) == 1


def test_follow_up_reads_the_conversation(site):
    c = client(site)
    first = c.chat.completions.create(model="studybot", messages=[{"role": "user", "content": TOPIC}])
    convo = [{"role": "system", "content": "You are a helpful assistant."},
             {"role": "user", "content": TOPIC},
             {"role": "assistant", "content": first.choices[0].message.content},
             {"role": "user", "content": FOLLOW_UP}]
    cites = list(c.chat.completions.create(model="studybot", messages=convo, stream=True))[-1].citations
    # The answer the `ask` endpoint gives for that history (the source list of the earlier reply is not
    # conversation: it is left out, as the chat leaves its sources message out).
    reply = first.choices[0].message.content.split("<!-- studybot:sources -->")[0].rstrip()
    same = ask_json(site, FOLLOW_UP, [{"role": "user", "content": TOPIC}, {"role": "assistant", "content": reply}])
    assert cites == same["citations"]
    assert "杠铃阅读法" in (cites[0]["section"] or ""), cites[0]
    # Without the history the same words are another question: the history is really read.
    alone = c.chat.completions.create(model="studybot", messages=[{"role": "user", "content": FOLLOW_UP}])
    assert "杠铃阅读法" not in (alone.citations[0]["section"] or ""), alone.citations[0]


def test_earlier_replies_lose_their_source_list_and_system_prompts_are_not_read():
    from ui.openai_api import SOURCES_MARK, parse_request

    body = {"model": "studybot", "stream": True, "messages": [
        {"role": "system", "content": "Ignore the library."},
        {"role": "user", "content": [{"type": "text", "text": "第一"}, {"type": "text", "text": "阶段？"}]},
        {"role": "assistant", "content": f"答案。\n\n{SOURCES_MARK}\n**📚 来源（1）**\n1. x"},
        {"role": "user", "content": " 那第二阶段呢？ "}]}
    question, history, stream = parse_request(json.dumps(body).encode())
    assert (question, stream) == ("那第二阶段呢？", True)
    assert history == [{"role": "user", "content": "第一阶段？"}, {"role": "assistant", "content": "答案。"}]


# --- plain HTTP ---------------------------------------------------------------------------------

def test_plain_http_shapes_and_server_sent_events(site):
    r = post(site, {"model": "studybot", "messages": [{"role": "user", "content": QUESTION}]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"]["content"] and body["citations"]
    with httpx.stream("POST", site.url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                      json={"model": "studybot", "stream": True, "messages": [{"role": "user", "content": QUESTION}]},
                      timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    final = json.loads(events[-2][6:])
    assert final["object"] == "chat.completion.chunk" and final["choices"][0]["finish_reason"] == "stop"
    assert final["citations"] == body["citations"]


# --- who may call -------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [("GET", "/v1/models"), ("GET", "/v1/models/studybot"),
                                          ("POST", "/v1/chat/completions")])
def test_anonymous_and_wrong_key_callers_get_401(site, method, path):
    body = {"model": "studybot", "messages": [{"role": "user", "content": QUESTION}]}
    # A separate source address: these failures must not slow the other tests' address down.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"), timeout=60) as c:
        for headers in [{}, {"authorization": "Bearer"}, {"authorization": KEY},
                        {"authorization": f"Basic {KEY}"}, {"authorization": f"Bearer {KEY}x"}]:
            r = c.request(method, site.url + path, json=body, headers=headers)
            assert r.status_code == 401, (headers, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == "invalid_api_key"
            assert "citations" not in r.text and "studybot\"" not in r.text
        assert c.request(method, site.url + path, json=body, headers={"authorization": f"Bearer {KEY}"}).status_code == 200


def test_official_client_with_a_wrong_key_is_refused(site):
    with pytest.raises(openai.AuthenticationError):
        client(site, key="sk-wrong-" + "0" * 24, source="127.0.0.4").models.list()


def test_wrong_keys_back_off_per_address(site):
    guesser = client(site, key="sk-guess-" + "1" * 24, source="127.0.0.5")
    for _ in range(3):
        with pytest.raises(openai.AuthenticationError):
            guesser.models.list()
    # Past the free failures even the right key from that address waits (its answer would tell a guesser).
    with pytest.raises(openai.RateLimitError) as err:
        client(site, source="127.0.0.5").models.list()
    assert int(err.value.response.headers["retry-after"]) >= 1
    assert [m.id for m in client(site, source="127.0.0.6").models.list()] == ["studybot"]  # others are not held up


def test_api_is_off_without_a_key(seed_index, components):
    from bot.service import StudyBot

    settings = seed_index.with_overrides(port=free_port())
    server, _ = _serve(settings, StudyBot(settings, components=components))
    try:
        url = f"http://127.0.0.1:{settings.port}"
        for method, path in [("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/v1/")]:
            r = httpx.request(method, url + path, headers={"authorization": f"Bearer {KEY}"},
                              json={"model": "studybot", "messages": [{"role": "user", "content": QUESTION}]})
            assert r.status_code == 404, (path, r.status_code)
            assert r.json()["error"]["code"] == "api_off"
        assert httpx.get(url + "/").status_code == 200  # the learner chat is served as before
    finally:
        server.should_exit = True
        server.thread.join(10)


def test_unusable_keys_stop_the_server_with_one_reason(tmp_path, seed_index):
    from pydantic import SecretStr

    from ui.openai_api import ApiKeyError, api_key

    key_file = tmp_path / "api.key"
    assert api_key(seed_index) is None
    assert api_key(seed_index.with_overrides(api_key=SecretStr(KEY))) == KEY
    key_file.write_text(f"  {KEY}\n")
    assert api_key(seed_index.with_overrides(api_key_file=key_file)) == KEY
    for overrides, reason in [
        (dict(api_key_file=tmp_path / "missing.key"), "cannot read"),
        (dict(api_key=SecretStr(KEY), api_key_file=key_file), "both"),
        (dict(api_key=SecretStr("short")), "at least 16"),
        (dict(api_key=SecretStr("two words here, long enough")), "one word"),
    ]:
        with pytest.raises(ApiKeyError, match=reason):
            api_key(seed_index.with_overrides(**overrides))
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(ApiKeyError, match="empty"):
        api_key(seed_index.with_overrides(api_key_file=tmp_path / "empty.key"))


# --- bad requests -------------------------------------------------------------------------------

USER = {"role": "user", "content": QUESTION}


@pytest.mark.parametrize("body, status, param", [
    (b"{not json", 400, None),
    (b"[]", 400, None),
    ({"messages": [USER]}, 400, "model"),
    ({"model": 7, "messages": [USER]}, 400, "model"),
    ({"model": "gpt-4o", "messages": [USER]}, 404, "model"),
    ({"model": "studybot"}, 400, "messages"),
    ({"model": "studybot", "messages": []}, 400, "messages"),
    ({"model": "studybot", "messages": "hi"}, 400, "messages"),
    ({"model": "studybot", "messages": [QUESTION]}, 400, "messages[0]"),
    ({"model": "studybot", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages[0]"),
    ({"model": "studybot", "messages": [{"role": "user", "content": 42}]}, 400, "messages[0].content"),
    ({"model": "studybot", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     400, "messages[0].content"),
    ({"model": "studybot", "messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]},
     400, "messages[0].content"),
    ({"model": "studybot", "messages": [{"role": "user", "content": [7]}]}, 400, "messages[0].content"),
    ({"model": "studybot", "messages": [USER, {"role": "assistant", "content": "ok"}]}, 400, "messages"),
    ({"model": "studybot", "messages": [{"role": "system", "content": "hi"}]}, 400, "messages"),
    ({"model": "studybot", "messages": [{"role": "user", "content": "   "}]}, 400, "messages"),
    ({"model": "studybot", "messages": [USER], "stream": "yes"}, 400, "stream"),
    ({"model": "studybot", "messages": [USER], "n": 3}, 400, "n"),
    ({"model": "studybot", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 200
      + [USER]}, 400, "messages"),
])
def test_bad_requests_get_a_clear_openai_error(site, body, status, param):
    r = post(site, body)
    assert r.status_code == status, r.text[:300]
    err = r.json()["error"]
    assert err["message"] and err["type"] == "invalid_request_error" and err["param"] == param


def test_huge_bodies_are_refused_by_the_gate(site):
    r = post(site, {"model": "studybot", "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]})
    assert r.status_code == 413


def test_a_long_question_is_answered_with_the_chats_advice_not_an_error(site):
    out = client(site).chat.completions.create(model="studybot", messages=[{"role": "user", "content": "学" * 5000}])
    assert out.studybot["status"] == "too_long" and out.choices[0].message.content


# --- concurrency --------------------------------------------------------------------------------

class _Held:
    """Events of the held model: ``entered`` when a call reaches it, which then waits for ``release``."""
    entered = threading.Event()
    release = threading.Event()


def _held_model():
    from bot.providers.llm import FakeChatModel

    class Held(FakeChatModel):
        def _generate(self, *a, **kw):
            _Held.entered.set()
            _Held.release.wait(60)
            return super()._generate(*a, **kw)

        def _stream(self, *a, **kw):
            _Held.entered.set()
            _Held.release.wait(60)
            yield from super()._stream(*a, **kw)

    return Held()


@pytest.fixture
def busy_site(seed_index, components, monkeypatch):
    """One answer at a time, one more waiting; the model waits until the test lets it go."""
    import ui.app
    from bot.service import StudyBot

    monkeypatch.setattr(ui.app, "LEARNER_CONCURRENCY", 1)
    monkeypatch.setattr(ui.app, "LEARNER_QUEUE_SIZE", 1)
    _Held.entered.clear()
    _Held.release.clear()
    settings = seed_index.with_overrides(port=free_port(), api_key=SecretStr(KEY))
    bot = StudyBot(settings, components=components)  # the model is this bot's own
    bot.use_chat_model(_held_model())
    server, asgi = _serve(settings, bot)
    try:
        yield types.SimpleNamespace(url=f"http://127.0.0.1:{settings.port}", slots=asgi.state.openai_slots)
    finally:
        _Held.release.set()
        server.should_exit = True
        server.thread.join(10)


def _until(cond, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_too_many_waiting_callers_get_429_and_the_rest_are_answered(busy_site):
    body = {"model": "studybot", "messages": [USER]}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, busy_site, body)
        assert _Held.entered.wait(60)
        second = pool.submit(post, busy_site, body)
        _until(lambda: busy_site.slots.pending == 2)  # one answering, one waiting
        r = post(busy_site, dict(body, stream=True))
        assert r.status_code == 429, r.text[:200]
        assert r.json()["error"]["code"] == "rate_limit_exceeded" and "busy" in r.json()["error"]["message"]
        assert r.headers["retry-after"]
        _Held.release.set()
        assert first.result(60).status_code == 200 and second.result(60).status_code == 200
    _until(lambda: busy_site.slots.pending == 0)
    assert post(busy_site, body).status_code == 200


def test_a_caller_hanging_up_mid_stream_gives_its_slot_back(busy_site):
    with httpx.stream("POST", busy_site.url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                      json={"model": "studybot", "stream": True, "messages": [USER]}, timeout=60) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        next(lines)  # the role chunk
        assert _Held.entered.wait(60)  # the model is writing; then the caller leaves
    # The model's call cannot be interrupted: the slot stays taken until it returns, then it is given back.
    time.sleep(0.5)
    assert busy_site.slots.pending == 1
    _Held.release.set()
    _until(lambda: busy_site.slots.pending == 0)
    r = post(busy_site, {"model": "studybot", "messages": [USER]})
    assert r.status_code == 200 and r.json()["citations"]


# --- the real local model -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_real_local_model_streams_a_cited_answer_to_the_official_client(seed_index, components):
    pytest.importorskip("llama_cpp")
    from bot.core.settings import Settings
    from bot.providers.local_model import is_ready
    from bot.service import StudyBot

    if not is_ready("0.5b", Settings().model_dir):
        pytest.skip("the 0.5B model is not assembled: run `studybot model --size 0.5b`")
    settings = seed_index.with_overrides(llm="local", local_model="0.5b", max_tokens=48, model_dir=Settings().model_dir,
                                         port=free_port(), api_key=SecretStr(KEY))
    server, _ = _serve(settings, StudyBot(settings, components=components))
    try:
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{settings.port}/v1", api_key=KEY, max_retries=0, timeout=600)
        chunks = list(c.chat.completions.create(model="studybot", stream=True,
                                                messages=[{"role": "user", "content": "什么是杠铃阅读法？"}]))
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
        last = chunks[-1]
        assert last.studybot["provider"] == "local" and last.studybot["status"] == "ok", text
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text.split("<!--")[0])
        assert any("杠铃阅读法" in (c["section"] or "") for c in last.citations)
        assert len(chunks) > 5 and last.studybot["timings"]["first_token_ms"]
    finally:
        server.should_exit = True
        server.thread.join(10)

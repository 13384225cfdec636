"""LLM providers: wire format against stub servers, failure messages, the fake model."""
from __future__ import annotations

import sys
import threading
import time
import types

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.settings import Settings
from bot.providers import llm
from bot.providers.llm import LLMUnavailable, check_llm, describe_llm, explain_error, make_chat_model
from stubs import OllamaStub, OpenAIStub, free_port, ollama_stub, openai_stub  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(60)  # a hang is a failure, not a stuck CI run

MSGS = [SystemMessage("You answer from the library."), HumanMessage("What is a stack?")]
REPLY = "A stack is last in, first out."


def openai_settings(srv: OpenAIStub, **kw) -> Settings:
    return Settings(llm="openai", openai_base_url=srv.base_url, openai_model="stub-model",
                    openai_api_key="sk-test", llm_timeout=1.0, **kw)


def ollama_settings(srv: OllamaStub, **kw) -> Settings:
    # OLLAMA_HOST style, without a scheme
    return Settings(llm="ollama", ollama_host=srv.url.removeprefix("http://"), ollama_model="qwen2.5:7b",
                    ollama_num_ctx=2048, llm_timeout=1.0, **kw)


# --- streaming through the real client libraries ------------------------------------------


def test_openai_streams_and_sends_the_expected_request(openai_stub):
    openai_stub.config.reply = REPLY
    openai_stub.config.api_key = "sk-test"
    chat = make_chat_model(openai_settings(openai_stub, max_tokens=64, temperature=0.1))
    chunks = [c.content for c in chat.stream(MSGS)]
    assert "".join(chunks) == REPLY
    assert len([c for c in chunks if c]) > 1, "expected several streamed pieces"

    (req,) = openai_stub.posts("/v1/chat/completions")
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.body["model"] == "stub-model"
    assert req.body["stream"] is True
    assert req.body["messages"] == [
        {"role": "system", "content": "You answer from the library."},
        {"role": "user", "content": "What is a stack?"},
    ]
    assert req.body["temperature"] == 0.1
    assert 64 in (req.body.get("max_tokens"), req.body.get("max_completion_tokens"))


def test_openai_invoke_uses_the_stream_too(openai_stub):
    openai_stub.config.reply = REPLY
    out = make_chat_model(openai_settings(openai_stub)).invoke(MSGS)
    assert out.content == REPLY


def test_openai_without_key_on_self_hosted_server_still_sends_a_placeholder(openai_stub):
    s = Settings(llm="openai", openai_base_url=openai_stub.base_url, openai_model="stub-model", llm_timeout=1.0)
    assert make_chat_model(s).invoke(MSGS).content
    assert openai_stub.posts("/chat/completions")[0].headers["authorization"].startswith("Bearer ")


def test_openai_stub_also_answers_without_streaming(openai_stub):
    r = httpx.post(openai_stub.base_url + "/chat/completions",
                   json={"model": "stub-model", "messages": [{"role": "user", "content": "hi"}], "stream": False})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == openai_stub.config.reply


def test_ollama_streams_and_sends_the_expected_request(ollama_stub):
    ollama_stub.config.reply = REPLY
    chat = make_chat_model(ollama_settings(ollama_stub, max_tokens=64))
    chunks = [c.content for c in chat.stream(MSGS)]
    assert "".join(chunks) == REPLY
    assert len([c for c in chunks if c]) > 1

    (req,) = ollama_stub.posts("/api/chat")
    assert req.body["model"] == "qwen2.5:7b"
    assert req.body["stream"] is True
    assert req.body["options"]["num_ctx"] == 2048
    assert req.body["options"]["num_predict"] == 64
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]
    assert req.body["messages"][1]["content"] == "What is a stack?"


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:11434", "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    (":5555", "http://127.0.0.1:5555"),
    ("ollama", "http://ollama:11434"),
    ("http://ollama:11434/", "http://ollama:11434"),
    ("https://llm.example.org", "https://llm.example.org"),
])
def test_ollama_host_forms(host, expected):
    assert llm.normalize_ollama_host(host) == expected


# --- failures: raised promptly, explained in one line ---------------------------------------------

FAILURES = [
    # (mode, expected fragment for openai, expected fragment for ollama)
    ("error500", "answered 500", "answered 500"),
    ("unauthorized", "answered 401: check STUDYBOT_OPENAI_API_KEY", "answered 401"),
    ("missing_model", "answered 404 for model stub-model", "Ollama has no model qwen2.5:7b — run `ollama pull qwen2.5:7b`"),
    ("drop", "closed the connection in the middle of the answer", "closed the connection in the middle of the answer"),
    ("truncate", "closed the connection in the middle of the answer", "closed the connection in the middle of the answer"),
    ("stall", "did not answer within 1s", "did not answer within 1s"),
    ("stall_headers", "did not answer within 1s", "did not answer within 1s"),
]


@pytest.mark.parametrize("mode, openai_msg, ollama_msg", FAILURES)
@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_failures_raise_llm_unavailable_with_one_line(provider, mode, openai_msg, ollama_msg):
    stub_cls, settings_for, expected = (
        (OpenAIStub, openai_settings, openai_msg) if provider == "openai" else (OllamaStub, ollama_settings, ollama_msg)
    )
    with stub_cls(mode=mode, reply="one two three four five six") as srv:
        chat = make_chat_model(settings_for(srv))
        received: list[str] = []
        with pytest.raises(LLMUnavailable) as ei:
            for chunk in chat.stream(MSGS):
                received.append(chunk.content)
    msg = str(ei.value)
    assert expected in msg
    assert "\n" not in msg
    assert explain_error(ei.value) == msg
    if mode == "drop":
        assert "".join(received).startswith("one"), "the part streamed before the drop still arrived"


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_refused_connection(provider):
    port = free_port()
    if provider == "openai":
        s = Settings(llm="openai", openai_base_url=f"http://127.0.0.1:{port}/v1", openai_api_key="k", llm_timeout=1.0)
        expected = f"the OpenAI-compatible API at http://127.0.0.1:{port}/v1 is not reachable"
    else:
        s = Settings(llm="ollama", ollama_host=f"127.0.0.1:{port}", llm_timeout=1.0)
        expected = f"Ollama is not reachable at http://127.0.0.1:{port} — start it with `ollama serve`"
    with pytest.raises(LLMUnavailable) as ei:
        list(make_chat_model(s).stream(MSGS))
    assert str(ei.value).startswith(expected)


def test_explain_error_on_raw_library_exceptions(openai_stub):
    """The chain may see exceptions from clients built elsewhere: still one clear line."""
    import ollama
    from langchain_openai import ChatOpenAI

    openai_stub.mode = "unauthorized"
    raw = ChatOpenAI(base_url=openai_stub.base_url, api_key="bad", model="stub-model", max_retries=0, timeout=2)
    with pytest.raises(Exception) as ei:
        raw.invoke(MSGS)
    assert not isinstance(ei.value, LLMUnavailable)
    msg = explain_error(ei.value)
    assert "401" in msg and "STUDYBOT_OPENAI_API_KEY" in msg and openai_stub.url in msg

    e = ollama.ResponseError('{"error":"model \\"llama3:8b\\" not found, try pulling it first"}', 404)
    assert explain_error(e) == "Ollama has no model llama3:8b — run `ollama pull llama3:8b`"

    req = httpx.Request("POST", "http://10.9.8.7:11434/api/chat")
    assert explain_error(httpx.ConnectError("refused", request=req)).startswith(
        "Ollama is not reachable at http://10.9.8.7:11434")
    assert "did not answer" in explain_error(httpx.ReadTimeout("timed out", request=req))

    ctx = explain_error(ValueError("Requested tokens (5000) exceed context window of 4096"))
    assert "STUDYBOT_LLM_CTX" in ctx

    other = explain_error(RuntimeError("boom\nwith a second line"))
    assert "boom" in other and "\n" not in other


# --- check_llm -----------------------------------------------------------------------------------------


def test_check_ollama_ok_and_tag_matching():
    with OllamaStub(models=["qwen2.5:7b", "llama3:latest"]) as srv:
        check_llm(ollama_settings(srv))
        check_llm(ollama_settings(srv).with_overrides(ollama_model="llama3"))
        assert any(r.path == "/api/tags" for r in srv.requests)


def test_check_ollama_missing_model():
    with OllamaStub(models=["llama3:latest"]) as srv:
        with pytest.raises(LLMUnavailable) as ei:
            check_llm(ollama_settings(srv))
    assert str(ei.value) == "Ollama has no model qwen2.5:7b — run `ollama pull qwen2.5:7b`"


def test_check_ollama_unreachable():
    port = free_port()
    with pytest.raises(LLMUnavailable, match=f"Ollama is not reachable at http://127.0.0.1:{port}"):
        check_llm(Settings(llm="ollama", ollama_host=f"127.0.0.1:{port}"))


def test_check_openai(openai_stub):
    check_llm(openai_settings(openai_stub))
    assert openai_stub.requests[-1].path == "/v1/models"
    assert openai_stub.requests[-1].headers["authorization"] == "Bearer sk-test"

    # Servers without /models are fine: only connection errors and 401 count.
    check_llm(openai_settings(openai_stub).with_overrides(openai_base_url=openai_stub.url + "/elsewhere"))

    openai_stub.mode = "unauthorized"
    with pytest.raises(LLMUnavailable, match="answered 401: check STUDYBOT_OPENAI_API_KEY"):
        check_llm(openai_settings(openai_stub))

    with pytest.raises(LLMUnavailable, match="is not reachable"):
        check_llm(Settings(llm="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1", openai_api_key="k"))


def test_openai_default_endpoint_needs_a_key():
    s = Settings(llm="openai", openai_api_key="")
    with pytest.raises(LLMUnavailable, match="STUDYBOT_OPENAI_API_KEY is not set"):
        check_llm(s)
    with pytest.raises(LLMUnavailable, match="STUDYBOT_OPENAI_API_KEY is not set"):
        make_chat_model(s)


def test_check_local_rejects_a_bad_user_path(tmp_path):
    s = Settings(llm="local", local_model=str(tmp_path / "nope.gguf"))
    if "llama_cpp" not in sys.modules:
        pytest.importorskip("llama_cpp")
    with pytest.raises(LLMUnavailable, match="does not exist"):
        check_llm(s)
    with pytest.raises(LLMUnavailable, match="does not exist"):
        make_chat_model(s)


def test_none_and_fake_need_nothing():
    check_llm(Settings(llm="none"))
    check_llm(Settings(llm="fake"))
    assert make_chat_model(Settings(llm="none")) is None


# --- the fake model --------------------------------------------------------------------------------------


def test_fake_model_is_deterministic_and_streams_in_chunks():
    chat = make_chat_model(Settings(llm="fake"))
    first = [c.content for c in chat.stream(MSGS)]
    second = [c.content for c in chat.stream(MSGS)]
    assert first == second
    assert len(first) >= 3
    text = "".join(first)
    assert text == 'According to the library: "What is a stack?"'
    assert chat.invoke(MSGS).content == text


def test_fake_model_chinese_framing_and_quote_length():
    chat = make_chat_model(Settings(llm="fake"))
    q = "什么是梯度下降？" + "请详细解释一下。" * 20
    text = "".join(c.content for c in chat.stream([HumanMessage("earlier"), AIMessage("ok"), HumanMessage(q)]))
    assert text.startswith("根据资料：")
    assert q[:80] in text and q[:81] not in text
    english = chat.invoke([HumanMessage("x" * 200)]).content
    assert english.startswith("According to the library: ") and "x" * 81 not in english


# --- describe_llm ------------------------------------------------------------------------------------------


def test_describe_llm(tmp_path):
    assert describe_llm(Settings(llm="local", local_model="1.5b")) == ("local", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M")
    assert describe_llm(Settings(llm="local", local_model="0.5b"))[1].startswith("Qwen2.5-Coder-0.5B")
    assert describe_llm(Settings(llm="local", local_model=str(tmp_path / "my.gguf"))) == ("local", "my.gguf")
    assert describe_llm(Settings(llm="ollama", ollama_model="qwen2.5:7b")) == ("ollama", "qwen2.5:7b")
    assert describe_llm(Settings(llm="openai", openai_model="deepseek-chat")) == ("openai", "deepseek-chat")
    assert describe_llm(Settings(llm="none"))[0] == "none"


# --- ChatLlamaCpp with a stand-in for llama_cpp (no weights needed) ------------------------------------------


class FakeLlama:
    instances: list[FakeLlama] = []
    active = 0
    max_active = 0
    guard = threading.Lock()

    def __init__(self, model_path, n_ctx, n_threads, verbose):
        self.kwargs = dict(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=verbose)
        self.calls: list[dict] = []
        FakeLlama.instances.append(self)

    def create_chat_completion(self, messages, stream, **kw):
        self.calls.append({"messages": messages, "stream": stream, **kw})
        if kw.get("max_tokens") == -1:
            raise ValueError("Requested tokens (9999) exceed context window of 512")
        if not stream:
            return {"choices": [{"message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
                    "usage": {}}
        return self._gen()

    def _gen(self):
        with FakeLlama.guard:
            FakeLlama.active += 1
            FakeLlama.max_active = max(FakeLlama.max_active, FakeLlama.active)
        try:
            yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
            for piece in ["al", "pha ", "beta"]:
                time.sleep(0.02)  # gives an unguarded second thread the chance to overlap
                yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
            yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        finally:
            with FakeLlama.guard:
                FakeLlama.active -= 1


@pytest.fixture
def fake_llama(monkeypatch):
    FakeLlama.instances, FakeLlama.active, FakeLlama.max_active = [], 0, 0
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    return FakeLlama


def test_llamacpp_wrapper_streams_and_maps_messages(fake_llama, tmp_path):
    chat = llm.ChatLlamaCpp(model_path=str(tmp_path / "m.gguf"), n_ctx=512, n_threads=2, max_tokens=32, temperature=0.3)
    assert "".join(c.content for c in chat.stream([SystemMessage("sys"), HumanMessage("q"), AIMessage("a"),
                                                    HumanMessage("q2")])) == "alpha beta"
    (inst,) = fake_llama.instances
    assert inst.kwargs == {"model_path": str(tmp_path / "m.gguf"), "n_ctx": 512, "n_threads": 2, "verbose": False}
    call = inst.calls[0]
    assert call["stream"] is True and call["max_tokens"] == 32 and call["temperature"] == 0.3
    assert [m["role"] for m in call["messages"]] == ["system", "user", "assistant", "user"]
    assert chat.invoke([HumanMessage("q")]).content == "whole"


def test_llamacpp_is_loaded_once_and_concurrent_chats_queue(fake_llama, tmp_path):
    path = str(tmp_path / "m.gguf")
    results: list[str] = []
    handles = llm.LlamaHandles()  # the process's loaded models (Components.llamas)

    def chat_once():
        chat = llm.ChatLlamaCpp(model_path=path, n_ctx=512, n_threads=2, handles=handles)
        results.append("".join(c.content for c in chat.stream([HumanMessage("q")])))

    threads = [threading.Thread(target=chat_once) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["alpha beta"] * 3
    assert len(fake_llama.instances) == 1
    assert fake_llama.max_active == 1


def test_llamacpp_errors_are_explained(fake_llama, tmp_path):
    chat = llm.ChatLlamaCpp(model_path=str(tmp_path / "m.gguf"), n_ctx=512, max_tokens=-1)
    with pytest.raises(LLMUnavailable, match="STUDYBOT_LLM_CTX"):
        list(chat.stream([HumanMessage("q")]))


def test_missing_llama_cpp_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import raises ImportError
    with pytest.raises(LLMUnavailable, match=r"pip install 'studybot\[local\]'"):
        make_chat_model(Settings(llm="local"))

"""Finding 1: no file of the server can be read through either app, by anyone.

Every event of both apps (the learner's anonymously, the console's logged in) is called with file
payloads pointing at a canary outside the library, /etc/passwd, the index's manifest,
/proc/self/environ and the admin secret's file, in every shape a file can take in an input. Any
/file= URL a response names is fetched too. Run once through the whole server (gate included) and
once with the gate taken away, so that Gradio's own check (on since the apps are marked launched)
is proven to hold by itself as well.
"""
from __future__ import annotations

import httpx
import pytest
from attack import app_events, call_event, file_data, payloads, served_files
from served import admin_session, secrets_in, serve

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("fileread")) as s:
        yield s


def _targets(site) -> list[str]:
    return [str(site.canary), "/etc/passwd", str(site.manifest), "/proc/self/environ", str(site.secret_file)]


def _walk(site, base: str, client: httpx.Client, targets: list[str]) -> tuple[int, list[str]]:
    """Calls every event with every payload; returns (calls made, what leaked where)."""
    calls, leaks = 0, []
    for ev in app_events(base, client):
        if not ev["inputs"]:
            continue
        for target in targets:
            for p in payloads(target):
                _, text = call_event(base, ev, [p] * len(ev["inputs"]), client=client, timeout=30)
                calls += 1
                blob = text + "".join(body.decode("utf-8", "replace") for _, _, body in served_files(base, text, client))
                for what in secrets_in(site, blob):
                    leaks.append(f"{ev['api_name']} (fn_index {ev['fn_index']}) <- {target}: {what}")
    return calls, leaks


def test_every_learner_event_refuses_server_files(site):
    with httpx.Client(timeout=60) as anon:
        calls, leaks = _walk(site, site.url, anon, _targets(site))
    assert calls > 200  # every event with inputs, built-in ones (undo, retry, like, clear…) included
    assert not leaks, leaks


def test_every_admin_event_refuses_server_files_even_logged_in(site):
    with admin_session(site) as admin:
        calls, leaks = _walk(site, site.url + "/admin", admin, _targets(site))
    assert calls > 20
    assert not leaks, leaks


def test_admin_cannot_upload_a_server_file_by_path(site):
    with admin_session(site) as admin:
        upload = next(e for e in app_events(site.url + "/admin", admin) if e["api_name"] == "admin_upload")
        status, text = call_event(site.url + "/admin", upload, [[file_data(str(site.canary))]], client=admin)
    assert status == 403 and "upload folder" in text
    assert site.canary.exists()  # the handler deletes what it stores: it must never have seen the path
    assert not list(site.lib.rglob("canary*"))


@pytest.mark.parametrize("prefix", ["", "/admin"])
def test_file_route_serves_nothing_outside_the_upload_folder(site, prefix):
    with admin_session(site) if prefix else httpx.Client(base_url=site.url) as client:
        for target in [*_targets(site), "http://127.0.0.1:1/", "https://example.org/x"]:
            r = client.get(f"{site.url}{prefix}/gradio_api/file={target}")
            assert r.status_code == 403 and not secrets_in(site, r.text), (target, r.status_code)
        for dotted in ["../../../../etc/passwd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/tmp/gradio/../../etc/passwd"]:
            r = client.get(f"{site.url}{prefix}/gradio_api/file={dotted}")
            assert r.status_code in (403, 404) and not secrets_in(site, r.text), (dotted, r.status_code)
        assert client.get(f"{site.url}{prefix}/gradio_api/proxy=http://127.0.0.1:1/x").status_code == 403


def test_escaped_keys_do_not_slip_a_path_past_the_gate(site):
    undo = next(e for e in app_events(site.url) if e["api_name"] and "_pop_last_user_message" in e["api_name"])
    body = ('{"data": [[{"role": "user", "content": [{"type": "file", "file": {"\\u0070ath": "%s", '
            '"meta": {"_type": "gradio.FileData"}}}]}, {"role": "user", "content": "x"}]], "fn_index": %d, '
            '"session_hash": "esc"}' % (site.canary, undo["fn_index"]))
    r = httpx.post(site.url + "/gradio_api/run/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 403 and not secrets_in(site, r.text)


def test_learner_app_takes_no_uploads(site):
    r = httpx.post(site.url + "/gradio_api/upload", files={"files": ("a.md", b"# hi\n" * 1000, "text/markdown")})
    assert r.status_code == 403


def test_oversized_bodies_are_refused_before_gradio_reads_them(site):
    r = httpx.post(site.url + "/gradio_api/queue/join", content=b"[" + b"0," * (3 * 1024 * 1024) + b"0]",
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_queued_events_cannot_be_called_past_the_queue(site):
    """api_open=False: a direct POST to a queued endpoint would skip its concurrency limit."""
    r = httpx.post(site.url + "/gradio_api/run/chat", json={"data": ["hi", [], None], "session_hash": "x"})
    assert r.status_code == 404


@pytest.fixture(scope="module")
def ungated(tmp_path_factory):
    """The same server with the gate taken away: only Gradio's own (now enabled) checks stand."""
    with serve(tmp_path_factory.mktemp("ungated"), app=lambda server: server.router) as s:
        yield s


def test_gradio_own_check_holds_without_the_gate(ungated):
    with httpx.Client(timeout=60) as anon:
        calls, leaks = _walk(ungated, ungated.url, anon, [str(ungated.canary), str(ungated.manifest)])
    assert calls > 100
    assert not leaks, leaks

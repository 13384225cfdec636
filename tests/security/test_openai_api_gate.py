"""The OpenAI-compatible API (/v1) as an outsider meets it on the real server (served.serve: gate, both
apps, the admin console on): nothing answers without the key, file payloads in messages are refused by
the gate as on the Gradio routes, and the key's file is never served."""
from __future__ import annotations

import secrets

import httpx
import pytest
from attack import payloads, served_files
from served import secrets_in, serve

pytestmark = pytest.mark.timeout(300)

ROUTES = [("GET", "/v1/models"), ("GET", "/v1/models/studybot"), ("POST", "/v1/chat/completions"),
          ("POST", "/v1/completions"), ("POST", "/v1/embeddings"), ("GET", "/v1/")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("v1")
    key = "sk-" + secrets.token_hex(24)
    key_file = base / "api.key"
    key_file.write_text(key + "\n")
    with serve(base, api_key_file=key_file) as s:
        s.key, s.key_file = key, key_file
        yield s


def _secrets(site, text: str) -> list[str]:
    return secrets_in(site, text) + (["api key"] if site.key in text else [])


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_v1_route_needs_the_key(site, method, path):
    body = {"model": "studybot", "messages": [{"role": "user", "content": "什么是AIGC？"}]}
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.7"), timeout=60) as anon:
        for headers in [{}, {"authorization": "Bearer sk-" + "0" * 48}, {"cookie": "access-token=x"}]:
            r = anon.request(method, site.url + path, json=body, headers=headers)
            assert r.status_code in (401, 404, 405), (path, headers, r.status_code)
            assert r.status_code != 404 or path not in ("/v1/models", "/v1/chat/completions"), path
            assert "citations" not in r.text and not _secrets(site, r.text)


def test_file_payloads_in_messages_are_refused_and_leak_nothing(site):
    auth = {"authorization": f"Bearer {site.key}"}
    statuses = set()
    with httpx.Client(timeout=120, headers=auth) as c:
        for target in [str(site.canary), "/etc/passwd", str(site.manifest), str(site.key_file), str(site.secret_file)]:
            for p in payloads(target):
                for content in (p, [p], [{"type": "text", "text": "hi", "file": p}]):
                    r = c.post(site.url + "/v1/chat/completions",
                               json={"model": "studybot", "messages": [{"role": "user", "content": content}]})
                    statuses.add(r.status_code)
                    blob = r.text + "".join(b.decode("utf-8", "replace") for _, _, b in served_files(site.url, r.text, c))
                    assert r.status_code in (400, 403), (target, content, r.status_code, r.text[:200])
                    assert not _secrets(site, blob), (target, content)
    assert 403 in statuses  # the gate's file check holds on /v1 as on every other route


def test_the_key_file_is_never_served(site):
    for url in (f"/gradio_api/file={site.key_file}", f"/file={site.key_file}"):
        r = httpx.get(site.url + url)
        assert r.status_code in (403, 404) and site.key not in r.text
    for page in ("/", "/config", "/gradio_api/info"):
        assert site.key not in httpx.get(site.url + page).text

"""The admin console: login that really protects /admin, uploads, feeds, single-flight re-index, and
learners seeing new content without a restart. A real server (uvicorn + both Gradio apps), real
gradio_client, real index; a real browser at the end."""
from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
import time
import types

import httpx
import pytest
from browser import ARTIFACTS, browser_page
from conftest import SEEDS, make_settings
from pydantic import SecretStr
from stubs import free_port

pytestmark = pytest.mark.timeout(300)

PASSWORD = "correct horse 电池 staple"
NEW_DOC = """# 量子纠缠蒸馏笔记

## 什么是纠缠蒸馏

纠缠蒸馏（entanglement distillation）把多对低保真度的纠缠粒子提纯成少量高保真度的纠缠对，
是量子中继器的关键步骤。Zorblax protocol is our made-up name for the two-copy recurrence method.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A small library (one seed document) indexed with the real embedder, served with admin enabled."""
    from bot.service import StudyBot
    from ingest.pipeline import ingest
    from ui.app import build_server, start_server

    base = tmp_path_factory.mktemp("site")  # not "admin": the learner page lists library paths
    lib = base / "library"
    (lib / "seeds").mkdir(parents=True)
    shutil.copy(SEEDS / "001_241450faf596187f.txt", lib / "seeds")
    port = free_port()
    settings = make_settings(lib, base / "index", admin_password=SecretStr(PASSWORD), port=port,
                             fetch_allow_hosts="127.0.0.1")  # the feed test's stub server; nothing else local
    bot = StudyBot(settings)  # its components serve both apps, as ui.app.serve builds them
    assert not ingest(None, settings, index=bot.index).failed
    server = start_server(build_server(settings, bot), "127.0.0.1", port)
    yield types.SimpleNamespace(settings=settings, bot=bot, url=f"http://127.0.0.1:{port}", lib=lib.resolve())
    server.should_exit = True
    server.thread.join(10)


def admin_client(site, auth=("admin", PASSWORD)):
    from gradio_client import Client

    return Client(site.url + "/admin/", auth=auth, verbose=False)


# --- auth ------------------------------------------------------------------------------------

LEARNER_ENDPOINTS = {"/chat", "/ask", "/quiz", "/flashcards", "/roadmap"}


def test_learner_app_exposes_no_admin_function(site):
    from gradio_client import Client

    api = Client(site.url + "/", verbose=False).view_api(return_format="dict", print_info=False)
    named = set(api["named_endpoints"])
    # Only learner functions: anything else on "/" would be callable without logging in.
    assert "/chat" in named and named <= LEARNER_ENDPOINTS, named
    assert not api["unnamed_endpoints"]
    config = httpx.get(site.url + "/config").text
    info = httpx.get(site.url + "/gradio_api/info").text
    for text in (config, info):
        assert "admin" not in text.lower()
        assert "/chat" in text or '"chat"' in text


def test_admin_refuses_anonymous_clients(site):
    from gradio_client import Client

    with pytest.raises(Exception, match="(?i)credentials|login|auth"):
        Client(site.url + "/admin/", verbose=False)
    for method, path in [("GET", "/admin/config"), ("GET", "/admin/gradio_api/info"),
                         ("POST", "/admin/gradio_api/call/admin_sources"), ("POST", "/admin/gradio_api/queue/join"),
                         ("POST", "/admin/gradio_api/upload"), ("POST", "/admin/gradio_api/run/admin_reindex")]:
        r = httpx.request(method, site.url + path, json={"data": [], "fn_index": 0, "session_hash": "x"})
        assert r.status_code == 401, (path, r.status_code, r.text[:200])


def test_learner_session_cookie_does_not_open_admin(site):
    from gradio_client import Client

    learner = Client(site.url + "/", verbose=False)
    assert "fake" in str(learner.predict("第二阶段学什么？", api_name="/chat"))  # a real learner session
    with httpx.Client(base_url=site.url) as browser:  # one cookie jar, as a browser has
        browser.get("/")
        browser.get("/config")
        browser.post("/login", data={"username": "admin", "password": PASSWORD})  # / has no login to get a token from
        jar = dict(browser.cookies)
        assert browser.get("/admin/config").status_code == 401
        # Forged tokens under the learner app's cookie names do not help either.
    forged = {**jar, "access-token": "x", "access-token-unsecure": "x"}
    with httpx.Client(base_url=site.url, cookies=forged) as browser:
        assert browser.get("/admin/config").status_code == 401


def test_wrong_credentials_are_rejected(site):
    for user, pw in [("admin", "wrong"), ("root", PASSWORD), ("admin", ""), ("admin", PASSWORD + " ")]:
        r = httpx.post(site.url + "/admin/login", data={"username": user, "password": pw})
        # 429: after three failures the gate makes the next try wait (tests/security/test_admin_gate.py).
        assert r.status_code in (400, 422, 429) and "access-token" not in r.headers.get("set-cookie", ""), (user, pw)
    with pytest.raises(Exception):
        admin_client(site, auth=("admin", "wrong"))
    # The right password still gets in once the pause is over, and that success lifts the back-off
    # for the tests after this one.
    for _ in range(40):
        r = httpx.post(site.url + "/admin/login", data={"username": "admin", "password": PASSWORD})
        if r.status_code != 429:
            break
        time.sleep(float(r.headers["retry-after"]))
    assert r.status_code == 200


def test_correct_credentials_open_the_admin_api(site):
    client = admin_client(site)
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/admin_sources", "/admin_upload", "/admin_fetch", "/admin_reindex", "/admin_reports"} <= names
    summary, table = client.predict(api_name="/admin_sources")
    assert "files ok" in summary
    assert table["headers"][:4] == ["kind", "title", "status", "chunks"]
    assert any(row[2] == "ok" and row[3] > 0 and row[6].startswith("seeds/") for row in table["data"])


def test_admin_console_off_without_password(tmp_path, caplog):
    from fastapi.testclient import TestClient

    from bot.service import StudyBot
    from ui.app import build_server

    settings = make_settings(tmp_path / "lib", tmp_path / "index", embedder="fake")
    with caplog.at_level("WARNING", logger="studybot"):
        asgi = build_server(settings, StudyBot(settings))
    assert "admin console is off" in caplog.text
    client = TestClient(asgi)
    for path in ("/admin", "/admin/", "/admin/config", "/admin/gradio_api/info"):
        assert client.get(path).status_code == 404, path
    assert client.get("/config").status_code == 200


# --- uploads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("量子 笔记.md", "量子_笔记.md"),
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\win.md", "win.md"),
    (".bashrc.md", "bashrc.md"),
    ("-rf.md", "rf.md"),
    ("a\x00b\u202e.MD", "ab.md"),
    ("CON.txt", "upload_CON.txt"),
    ("rm $(x);`y`.pdf", "rm__(x)__y.pdf"),
    ("学习计划（第一版）.pdf", "学习计划（第一版）.pdf"),
])
def test_safe_name_keeps_names_readable_and_harmless(name, expected):
    from ingest.uploads import safe_name

    assert safe_name(name) == expected


def test_safe_name_limits_length_in_bytes():
    from ingest.uploads import MAX_NAME_BYTES, safe_name

    out = safe_name("长" * 300 + ".md")
    assert out.endswith(".md") and len(out.encode()) <= MAX_NAME_BYTES and out.startswith("长长")


def test_store_upload_never_overwrites(tmp_path):
    from ingest.uploads import store_upload

    settings = make_settings(tmp_path / "lib", tmp_path / "index", embedder="fake")
    (tmp_path / "lib").mkdir()
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("# A\n\nfirst", encoding="utf-8")
    b.write_text("# B\n\nsecond", encoding="utf-8")
    first = store_upload(a, "笔记.md", settings)
    same = store_upload(a, "笔记.md", settings)
    other = store_upload(b, "笔记.md", settings)
    assert (first.status, same.status, other.status) == ("added", "duplicate", "renamed")
    assert first.path.name == "笔记.md" and other.path.name == "笔记-2.md"
    assert first.path.read_text(encoding="utf-8").endswith("first")
    assert other.path.parent == (tmp_path / "lib" / "uploads").resolve()
    assert not [p for p in other.path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_store_upload_refusals(tmp_path):
    from ingest.uploads import UploadError, store_upload

    lib = tmp_path / "lib"
    lib.mkdir()
    settings = make_settings(lib, tmp_path / "index", embedder="fake", max_file_mb=0.001)
    exe, empty, big = tmp_path / "x.exe", tmp_path / "e.md", tmp_path / "big.md"
    exe.write_bytes(b"MZ")
    empty.write_bytes(b"")
    big.write_text("x" * 5000)
    with pytest.raises(UploadError, match="unsupported file type .exe"):
        store_upload(exe, "x.exe", settings)
    with pytest.raises(UploadError, match="unsupported"):
        store_upload(exe, "x.md.exe", settings)
    with pytest.raises(UploadError, match="empty"):
        store_upload(empty, "e.md", settings)
    with pytest.raises(UploadError, match="over the 0.001 MB limit"):
        store_upload(big, "big.md", settings)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (lib / "uploads").symlink_to(outside)
    big.write_text("small")
    with pytest.raises(UploadError, match="outside the library"):
        store_upload(big, "ok.md", settings)
    assert not list(outside.iterdir())


# --- re-index, single flight, learners see new content --------------------------------------------

def test_reindex_is_single_flight_and_learners_keep_chatting(site, monkeypatch):
    """A blocked stand-in for ingest keeps the job running for as long as the test needs."""
    import ingest.pipeline
    from gradio_client import Client

    from ingest.reindex import reindex_job

    release, entered = threading.Event(), threading.Event()

    def slow_ingest(paths, settings, *, rebuild=False, embed=True, progress=None, **kw):
        entered.set()
        progress("parsing", 1, 4)
        release.wait(60)
        return ingest.pipeline.IngestReport(files_seen=4, indexed=0, unchanged=4)

    monkeypatch.setattr(ingest.pipeline, "ingest", slow_ingest)
    client = admin_client(site)
    first = client.submit(api_name="/admin_reindex")
    try:
        assert entered.wait(30)
        second = admin_client(site).submit(api_name="/admin_reindex")
        # While it runs, a learner still gets answers.
        answer = Client(site.url + "/", verbose=False).predict("第二阶段学什么？", api_name="/chat")
        assert "fake" in str(answer)
        assert reindex_job(site.bot.components).snapshot()["running"]
    finally:
        release.set()
    assert "done" in first.result(timeout=60)
    assert "done" in second.result(timeout=60)
    joined = second.outputs()
    assert joined and all("already running" in out for out in joined), joined
    assert not reindex_job(site.bot.components).snapshot()["running"]


def test_upload_reindex_then_learner_finds_new_document(site, tmp_path):
    from gradio_client import handle_file

    def top_paths():
        return [h.chunk.path for h in site.bot.search("Zorblax 纠缠蒸馏", 3)]

    assert not any("uploads" in p for p in top_paths())
    src = tmp_path / "量子 笔记.md"
    src.write_text(NEW_DOC, encoding="utf-8")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    client = admin_client(site)
    msg = client.predict([handle_file(str(src))], api_name="/admin_upload")
    assert "saved" in msg and "uploads/量子_笔记.md" in msg
    assert (site.lib / "uploads" / "量子_笔记.md").read_text(encoding="utf-8") == NEW_DOC
    try:  # Gradio may refuse it by the picker's type filter already; if not, our check does
        refused = client.predict([handle_file(str(bad))], api_name="/admin_upload")
        assert "unsupported file type .exe" in refused
    except Exception as e:  # noqa: BLE001
        assert "exe" in str(e) or "type" in str(e).lower(), e
    assert not list((site.lib / "uploads").glob("*.exe"))

    job = client.submit(api_name="/admin_reindex")
    outputs = [*job]  # every streamed status, then the final one
    final = job.result(timeout=240)
    assert "done" in final and "1 indexed" in final, final
    assert any("<progress" in o for o in outputs) or "done" in outputs[0]

    # Same process, same Index: the learner's next search sees it without a restart.
    assert any(p.endswith("uploads/量子_笔记.md") for p in top_paths())
    _, table = client.predict(api_name="/admin_sources")
    row = next(r for r in table["data"] if r[6] == "uploads/量子_笔记.md")
    assert row[2] == "ok" and row[3] >= 1 and row[1] == "量子纠缠蒸馏笔记"
    reports = client.predict(api_name="/admin_reports")
    assert reports["data"][0][3] == 1  # the latest run indexed one file


def test_admin_fetch_adds_a_feed(site, tmp_path):
    (tmp_path / "weekly.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>W</title><item><title>第1期</title><guid>1</guid>"
        "<description>每周学习简报：间隔重复。</description></item></channel></rss>", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        client = admin_client(site)
        ok = client.predict(base + "/weekly.xml", "学习简报", "zh", api_name="/admin_fetch")
        assert "feed" in ok and "feeds/" in ok
        bad = client.predict(base + "/nothing.xml", "", "", api_name="/admin_fetch")
        assert "HTTP 404" in bad
        assert "only http" in client.predict("file:///etc/passwd", "", "", api_name="/admin_fetch")
    finally:
        srv.shutdown()
    assert list((site.lib / "feeds").glob("127.0.0.1-weekly.xml-*.xml"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_feedback_section_only_when_module_exists(tmp_path, monkeypatch):
    from ui.admin import build_admin_app

    settings = make_settings(tmp_path / "lib", tmp_path / "index", embedder="fake")

    def api_names(app):
        return {d.get("api_name") for d in app.config["dependencies"]}

    monkeypatch.setitem(sys.modules, "bot.features.feedback", None)  # import fails: no section
    assert "admin_feedback" not in api_names(build_admin_app(settings))
    fake = types.ModuleType("bot.features.feedback")
    fake.list_feedback = lambda s, limit=100: [{"id": 1, "ts": 1.7e9, "vote": "down", "comment": "缺少引用",
                                                "question": "Q?", "answer": "A", "citations": [], "provider": "fake"}]
    monkeypatch.setitem(sys.modules, "bot.features.feedback", fake)
    assert "admin_feedback" in api_names(build_admin_app(settings))
    from bot.features.admin import feedback_rows

    assert feedback_rows(settings)[0][1:4] == ["down", "Q?", "缺少引用"]


# --- a real browser ---------------------------------------------------------------------------------

def test_browser_login_upload_reindex(site, tmp_path):
    from playwright.sync_api import expect

    note = tmp_path / "间隔重复 spaced-repetition.md"
    note.write_text("# 间隔重复\n\n间隔重复（spaced repetition）按遗忘曲线安排复习：1天、3天、7天、14天。\n", encoding="utf-8")
    with browser_page(site.url + "/admin/") as page:
        page.get_by_label("username", exact=False).fill("admin")
        page.get_by_label("password", exact=False).fill("wrong")
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_text("Incorrect", exact=False).first).to_be_visible(timeout=15_000)
        page.get_by_label("username", exact=False).fill("admin")  # the form was cleared
        page.get_by_label("password", exact=False).fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_text("files ok", exact=False).first).to_be_visible(timeout=30_000)

        page.get_by_role("tab", name="添加 / Add").click()
        page.locator("#sb-upload input[type=file]").set_input_files(str(note))
        expect(page.locator("#sb-upload")).to_contain_text("spaced-repetition", timeout=15_000)
        page.locator("#sb-save").click()
        expect(page.locator("#sb-upload-result")).to_contain_text("uploads/间隔重复_spaced-repetition.md", timeout=30_000)

        page.get_by_role("tab", name="重建索引 / Re-index").click()
        page.locator("#sb-reindex").click()
        expect(page.locator("#sb-reindex-state[data-state=done]")).to_be_visible(timeout=180_000)
        expect(page.locator("#sb-reports")).to_contain_text("1", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "ui_admin_reindex.png"))
        page.get_by_role("tab", name="来源 / Sources").click()
        sources = page.locator("#sb-sources")
        expect(sources).to_contain_text("uploads/间隔重复_spaced-repetition.md", timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "ui_admin.png"))
    assert (ARTIFACTS / "ui_admin.png").stat().st_size > 10_000

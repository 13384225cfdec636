"""BM25 follows the manifest incrementally: an update scores exactly like a full rebuild."""
from __future__ import annotations

import random

import numpy as np

from bot.index.lexical import BM25


def test_update_equals_rebuild_and_survives_save(tmp_path):
    rng = random.Random(1)
    words = [f"w{i}" for i in range(300)] + ["学习", "计划"]
    docs = {f"id{i:03d}": [rng.choice(words) for _ in range(rng.randint(0, 40))] for i in range(200)}
    ids = sorted(docs)
    fetched: list[str] = []

    def tokens_of(xs):
        fetched.extend(xs)
        return [docs[x] for x in xs]

    old = BM25().build(ids[:150], [docs[i] for i in ids[:150]], generation=1)
    now = ids[20:]  # 20 chunks gone, 50 new
    upd = old.updated(now, tokens_of, generation=2)
    full = BM25().build(now, [docs[i] for i in now], generation=2)
    assert sorted(fetched) == ids[150:]  # only the new chunks were read
    assert sorted(upd.ids) == now and upd.generation == 2
    for q in (["w1", "w2"], ["学习"], ["w299", "计划", "w5"], ["absent"]):
        a, b = dict(zip(upd.ids, upd.scores(q))), dict(zip(full.ids, full.scores(q)))
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-5 for k in a), q
    upd.save(tmp_path)
    back = BM25.load(tmp_path)
    assert back.ids == upd.ids and np.allclose(back.scores(["w1", "学习"]), upd.scores(["w1", "学习"]))


def test_old_file_layout_is_rebuilt_not_misread(tmp_path):
    import json

    header = np.frombuffer(json.dumps({"ids": [], "vocab": {}, "generation": 3, "k1": 1.2, "b": 0.75}).encode(), np.uint8)
    with open(tmp_path / "bm25.npz", "wb") as f:
        np.savez(f, data=np.zeros(0), indices=np.zeros(0), indptr=np.zeros(1), shape=np.asarray([0, 0]), header=header)
    assert BM25.load(tmp_path) is None

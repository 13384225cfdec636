"""Everything is built in one place (bot/components.py) and the manifest is reached only through its methods.

Two static checks over the product (bot/, ingest/, ui/; evals/ for SQL too), each with a test that
shows it catching what it forbids, and the behaviour they protect: two Components are two worlds.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]

# --- no module-level registries -------------------------------------------------------------------
# A container bound at module (or class) level is shared by everything in the process. It may exist
# only as a constant table: an UPPER_CASE name (``__all__`` too) that the module never mutates. Any
# other is a cache or registry, and belongs on the Components object.
MUTATORS = {"append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault", "add",
            "discard", "sort", "reverse", "appendleft"}
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter", "WeakValueDictionary",
                   "WeakKeyDictionary", "WeakSet"}
CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$|^__all__$")
# ``global`` rebinds module state from a function: allowed only where the state is process-wide anyway.
GLOBAL_OK = {
    # jieba's dictionary is a process-global inside jieba itself; this only guards its one-time set-up.
    "bot/core/text.py": "_jieba",
}


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        f = value.func
        return (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None) in CONTAINER_CALLS
    return False


def _bindings(body: list[ast.stmt]) -> list[tuple[int, str]]:
    out = []
    for node in body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if _is_container(value):
            out += [(node.lineno, t.id) for t in targets if isinstance(t, ast.Name)]
    return out


def _mutated(tree: ast.AST) -> set[str]:
    """Names whose value the module changes in place: ``X.append(...)``, ``X[k] = v``, ``del X[k]``, ``X += …``."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in MUTATORS
                and isinstance(n.func.value, ast.Name)):
            out.add(n.func.value.id)
        targets = n.targets if isinstance(n, (ast.Assign, ast.Delete)) else [n.target] if isinstance(n, ast.AugAssign) else []
        for t in targets:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                out.add(t.value.id)
            elif isinstance(n, ast.AugAssign) and isinstance(t, ast.Name):
                out.add(t.id)
    return out


def registries(source: str, where: str = "") -> list[str]:
    """Module- and class-level mutable state in ``source``, as 'line: name (why)'."""
    tree = ast.parse(source)
    changed = _mutated(tree)
    scopes = [tree.body] + [c.body for c in ast.walk(tree) if isinstance(c, ast.ClassDef)]
    bad = []
    for body in scopes:
        for line, name in _bindings(body):
            if not CONSTANT.match(name):
                bad.append(f"{line}: {name} (a mutable container: a cache or registry)")
            elif name in changed:
                bad.append(f"{line}: {name} (an UPPER_CASE table the module mutates)")
    for n in ast.walk(tree):
        if isinstance(n, ast.Global) and set(n.names) - {GLOBAL_OK.get(where)}:
            bad.append(f"{n.lineno}: global {', '.join(n.names)}")
    return bad


def product_files(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py") if ".venv" not in p.parts)


def test_no_module_level_caches_or_registries():
    bad = [f"{p.relative_to(ROOT)}:{b}" for p in product_files("bot", "ingest", "ui")
           for b in registries(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert not bad, "process-wide state belongs on bot.components.Components:\n" + "\n".join(bad)


def test_the_registry_check_sees_what_it_forbids():
    assert registries("_cache: dict[str, int] = {}") == ["1: _cache (a mutable container: a cache or registry)"]
    assert registries("_jobs = dict()\n_seen = set()")[1].startswith("2: _seen")
    assert registries("class A:\n    instances = []") == ["2: instances (a mutable container: a cache or registry)"]
    assert registries("_CACHE = {}\ndef f(k, v):\n    _CACHE[k] = v") == [
        "1: _CACHE (an UPPER_CASE table the module mutates)"]
    assert registries("SEEN = []\ndef f(x):\n    SEEN.append(x)")
    assert registries("x = None\ndef f():\n    global x\n    x = 1") == ["3: global x"]
    # Constant tables, locks and per-instance state are fine.
    assert not registries("LABELS = {'zh': 1}\n_STOP = set('a b'.split())\n__all__ = ['f']\nimport threading\n"
                          "_lock = threading.Lock()\nclass A:\n    def __init__(self):\n        self.seen = {}\n"
                          "        self.seen['k'] = 1")


# --- SQL only in the module that owns its database --------------------------------------------------
# The index's SQLite manifest is reached only through bot/index/manifest.py's methods; the learners'
# votes are a separate database that bot/features/feedback.py alone speaks to.
SQL_OWNERS = {"bot/index/manifest.py", "bot/features/feedback.py"}
SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
                 r"|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|DROP\s+TABLE|PRAGMA\s)")
RAW = {"execute", "executemany", "executescript", "_q", "_tx", "_conn"}  # a cursor, or the manifest's own


def sql_uses(source: str) -> list[str]:
    out = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and SQL.search(n.value):
            out.append(f"{n.lineno}: SQL text {n.value[:50]!r}")
        elif isinstance(n, ast.Attribute) and n.attr in RAW:
            out.append(f"{n.lineno}: .{n.attr}")
        elif isinstance(n, ast.Import) and any(a.name.split(".")[0] == "sqlite3" for a in n.names):
            out.append(f"{n.lineno}: import sqlite3")
        elif isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "sqlite3":
            out.append(f"{n.lineno}: from sqlite3")
    return out


def test_sql_only_where_its_database_is_owned():
    bad = [f"{p.relative_to(ROOT)}:{u}" for p in product_files("bot", "ingest", "ui", "evals")
           if str(p.relative_to(ROOT)) not in SQL_OWNERS for u in sql_uses(p.read_text(encoding="utf-8"))]
    assert not bad, "add a named method to bot/index/manifest.py instead:\n" + "\n".join(bad)
    assert sql_uses((ROOT / "bot" / "index" / "manifest.py").read_text(encoding="utf-8"))  # the check sees SQL


def test_the_sql_check_sees_what_it_forbids():
    assert sql_uses('rows = m.q("SELECT id, text FROM chunks")')
    assert sql_uses('q = (f"SELECT c.id FROM chunks c"\n     " WHERE c.id IN ({marks})")')
    assert sql_uses('with m._tx() as c:\n    c.execute("x")')
    assert sql_uses("import sqlite3") and sql_uses("from sqlite3 import Row")
    assert sql_uses('c.executemany("UPDATE chunks SET tokens=? WHERE id=?", rows)')
    assert not sql_uses('print("Select the files you want from the list, then update the set.")')


def test_rows_become_chunks_in_one_place():
    text = (ROOT / "bot" / "index" / "manifest.py").read_text(encoding="utf-8")
    assert text.count("Chunk(") == 1, "one row -> Chunk conversion (_chunk) in the manifest"
    others = [p for p in product_files("bot", "ingest", "ui", "evals") if p.name != "manifest.py"
              and re.search(r"Chunk\([^)]*r\[\"", p.read_text(encoding="utf-8"))]
    assert not others, others


# --- what the one object gives --------------------------------------------------------------------
def test_two_components_are_two_independent_worlds(library, tmp_path):
    """One Components shares one index per location (and the embedder, the fact pool…); another
    Components, as another process would, builds its own: nothing is shared through module state."""
    from bot.components import Components
    from bot.service import StudyBot
    from ingest.pipeline import ingest

    a_settings = make_settings(library, tmp_path / "a", embedder="fake")
    b_settings = make_settings(library, tmp_path / "b", embedder="fake")
    a, b = Components(a_settings), Components(b_settings)

    assert a.index() is a.index(a_settings) is StudyBot(a_settings, components=a).index
    assert StudyBot(a_settings.with_overrides(llm="none"), components=a).index is a.index()  # same index, other LLM
    assert a.embedder() is a.index().embedder and a.feedback() is a.feedback(a_settings)
    assert b.index() is not a.index() and b.embedder() is not a.embedder()
    assert b.fact_pool is not a.fact_pool and b.translations is not a.translations and b.llamas is not a.llamas
    # The same location through two Components: two open indexes (as in two processes), one truth on disk.
    assert Components(a_settings).index() is not a.index()

    ingest(None, a_settings, embed=False, index=a.index())
    assert a.index().manifest.stats()["chunks"] > 0 and b.index().manifest.stats()["chunks"] == 0
    assert Components(a_settings).index().manifest.stats() == a.index().manifest.stats()
    assert StudyBot(a_settings, components=a).search("杠铃阅读法", k=1)
    assert not StudyBot(b_settings, components=b).search("杠铃阅读法", k=1)
    assert a.feedback().path != b.feedback().path


def test_the_reindex_job_is_one_per_index_of_a_components(tmp_path):
    from bot.components import Components
    from ingest.reindex import reindex_job

    s = make_settings(tmp_path / "lib", tmp_path / "idx", embedder="fake")
    c = Components(s)
    job = reindex_job(c)
    assert reindex_job(c) is job and job.index is c.index()  # a second console tab joins the same run
    assert reindex_job(Components(s)) is not job
    assert reindex_job(c, s.with_overrides(index_dir=tmp_path / "other")) is not job


def test_the_translation_cache_never_serves_one_models_translation_to_another():
    """Bots with different models share the process's cache: an entry is its own model's, even when a
    later model object happens to get a dead one's id()."""
    from langchain_core.messages import AIMessage

    from bot.retrieval.translate import TranslationCache, translate

    class Chat:
        def __init__(self, reply: str) -> None:
            self.reply, self.calls = reply, 0

        def invoke(self, msgs, **kw):
            self.calls += 1
            return AIMessage(self.reply)

    cache = TranslationCache()
    a, b = Chat("什么是杠铃阅读法？"), Chat("杠铃式阅读是什么？")
    assert translate(a, "What is the barbell reading method?", "zh", cache=cache) == "什么是杠铃阅读法？"
    assert translate(a, "What is the barbell reading method?", "zh", cache=cache) == "什么是杠铃阅读法？"
    assert a.calls == 1  # the second time from the cache
    assert translate(b, "What is the barbell reading method?", "zh", cache=cache) == "杠铃式阅读是什么？"
    assert b.calls == 1
    key = next(iter(cache._seen))
    cache._seen[(id(b), *key[1:])] = (a, "stale")  # an entry left under b's id by another model
    assert cache.get(b, *key[1:]) == (False, None)

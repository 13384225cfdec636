"""The package map in README.md ("Layout"), checked: every module's imports (top-level, inside functions,
under ``if TYPE_CHECKING``, and ``importlib.import_module("...")`` with a literal name) point only down.

    bot.core < bot.providers < bot.index < bot.retrieval < bot.answering < bot.features < bot.service
    ingest -> bot          ui -> bot, ingest          evals -> anything; nothing imports evals

A layer may import itself and any layer below it. bot never imports ingest, ui or evals.
There are no exceptions; add one only with a reason written next to it.
"""
from __future__ import annotations

import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
OURS = ("bot", "ingest", "ui", "evals")
BOT_LAYERS = ["core", "providers", "index", "retrieval", "answering", "features", "service"]
# bot/components.py is the service layer's start-up half: it builds the parts of every layer below once
# per process (the indexes, models, caches) for StudyBot, kept out of service.py so the facade stays short.
LAYER_OF = {"components": "service"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of one of our packages in ``path``."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from bot.features import admin` imports the module bot.features.admin.
            out += [(node.lineno, f"{mod}.{a.name}" if is_module(f"{mod}.{a.name}") else mod) for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return [(line, m) for line, m in out if m.split(".")[0] in OURS]


def bot_layer(module: str) -> int | None:
    """Rank of a bot module's layer; None for the package's own __init__ (which imports nothing)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    layer = LAYER_OF.get(parts[1], parts[1])
    return BOT_LAYERS.index(layer) if layer in BOT_LAYERS else -1


def allowed(importer: str, target: str) -> bool:
    top, target_top = importer.split(".")[0], target.split(".")[0]
    if top == "evals":
        return True
    if target_top == "evals":
        return False
    if top == "ui":
        return target_top in ("bot", "ingest", "ui")
    if top == "ingest":
        return target_top in ("bot", "ingest")
    # bot: only bot, and only its own layer or below.
    if target_top != "bot":
        return False
    mine, theirs = bot_layer(importer), bot_layer(target)
    if mine is None or theirs is None:
        return False  # bot/__init__.py imports nothing, and nothing needs `import bot` alone
    return theirs <= mine


def product_files() -> list[Path]:
    return sorted(p for pkg in OURS for p in (ROOT / pkg).rglob("*.py") if ".venv" not in p.parts)


def test_every_bot_module_is_in_a_layer():
    """A module dropped at bot/ top level (other than the facade) would escape the layer check."""
    stray = [module_name(p) for p in (ROOT / "bot").rglob("*.py") if bot_layer(module_name(p)) == -1]
    assert not stray, f"put these in one of bot/{{{','.join(BOT_LAYERS[:-1])}}}/ (see README Layout): {stray}"


def test_imports_point_down():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {target}" for path in product_files()
           for line, target in imported(path) if not allowed(module_name(path), target)]
    assert not bad, "imports against the layering (README Layout):\n" + "\n".join(bad)


def test_the_checker_sees_imports_of_every_kind():
    """Top-level, lazy, TYPE_CHECKING-only and relative imports, and import_module("...") are all seen."""
    assert "bot.service" in {m for _, m in imported(ROOT / "ui" / "chat.py")}
    assert {m for _, m in imported(ROOT / "ui" / "admin.py")} >= {"bot.features.admin", "ingest.reindex"}
    assert len(product_files()) > 60


def test_the_checker_sees_violations():
    """The rules themselves: a lower layer importing a higher one, bot importing ingest, anything importing evals."""
    assert allowed("bot.retrieval.retriever", "bot.index.store")
    assert allowed("bot.index.store", "bot.index.manifest")
    assert allowed("bot.service", "bot.features.roadmap.build")
    assert not allowed("bot.index.store", "bot.retrieval.retriever")
    assert not allowed("bot.features.study_aids", "bot.service")
    assert not allowed("bot.index.store", "ingest.splitter")
    assert not allowed("bot.core.settings", "ui.app")
    assert not allowed("ingest.pipeline", "ui.app")
    assert not allowed("ui.cli", "evals.run")
    assert allowed("ingest.pipeline", "bot.index.store") and allowed("ui.cli", "ingest.pipeline")
    assert allowed("evals.cli", "ui.cli")


def test_settings_root_is_the_repository():
    """bot/core/settings.py finds the library and the index from its own place in the tree."""
    from bot.core.settings import ROOT

    assert ROOT == Path(__file__).resolve().parents[1]
    assert (ROOT / "knowledge").is_dir() and (ROOT / "bot" / "core" / "settings.py").is_file()

"""File discovery: order, filtering, size limit, symlinks, loops, depth and duplicates."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.discover import discover

MB = 1024 * 1024
SHARED_CORPUS = Path("/work/shared/corpus")


def touch(path: Path, text: str = "# x\n\ntext\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(files: list[Path], base: Path) -> list[str]:
    return [f.relative_to(base.resolve()).as_posix() for f in files]


def reasons(skipped: list[dict]) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in skipped}


@pytest.fixture
def lib(tmp_path) -> Path:
    lib = tmp_path / "library"
    for rel in ("b.md", "a.txt", "sub/z.pdf", "sub/c.mdx", "Upper.html", "feeds/news.xml", "mail/x.eml",
                "notes.doc", "image.gif", "README", "sources.yaml",
                ".hidden.md", ".git/config.md", "sub/.cache/y.md", "__pycache__/m.md", "node_modules/pkg/readme.md"):
        touch(lib / rel)
    return lib


def test_walks_sorted_and_ignores_hidden_junk_and_unsupported(lib):
    files, skipped = discover([lib], lib, 25)
    assert names(files, lib) == ["Upper.html", "a.txt", "b.md", "feeds/news.xml", "mail/x.eml", "sub/c.mdx", "sub/z.pdf"]
    assert skipped == []  # .doc/.gif/.yaml found by walking are not worth a complaint
    assert all(f.is_absolute() for f in files)


def test_explicit_files_are_reported_when_unsupported(lib, tmp_path):
    hidden = lib / ".hidden.md"
    files, skipped = discover([lib / "notes.doc", hidden, lib / "README"], lib, 25)
    assert files == [hidden.resolve()]  # asked for by name, so hidden is fine
    r = reasons(skipped)
    assert r["notes.doc"].startswith("unsupported file type .doc; supported: ")
    assert ".pdf" in r["notes.doc"] and ".md" in r["notes.doc"] and ".docx" in r["notes.doc"]
    assert r["README"].startswith("unsupported file type (no extension)")


def test_missing_root(tmp_path):
    files, skipped = discover([tmp_path / "nope", tmp_path / "gone.md"], tmp_path, 25)
    assert files == []
    assert skipped == [{"path": str(tmp_path / "nope"), "reason": "not found"},
                       {"path": str(tmp_path / "gone.md"), "reason": "not found"}]


def test_size_limit_message(tmp_path):
    big = tmp_path / "big.pdf"
    with open(big, "wb") as f:
        f.truncate(int(31.2 * MB))  # sparse: no real 31 MB written
    small = touch(tmp_path / "small.md")
    files, skipped = discover([tmp_path], tmp_path, 25)
    assert files == [small.resolve()]
    assert skipped == [{"path": str(big.resolve()), "reason": "file is 31.2 MB, over the 25 MB limit (STUDYBOT_MAX_FILE_MB)"}]
    files, skipped = discover([tmp_path], tmp_path, 40)
    assert len(files) == 2 and skipped == []


def test_no_duplicates_from_overlapping_roots(lib):
    roots = [lib / "sub", lib, lib / "b.md", lib / "sub" / "c.mdx"]
    files, skipped = discover(roots, lib, 25)
    assert len(files) == len(set(files)) == 7
    assert names(files, lib)[:2] == ["sub/c.mdx", "sub/z.pdf"]  # roots are walked in the order given
    assert skipped == []


def test_symlinks_inside_followed_outside_skipped(tmp_path):
    lib = tmp_path / "library"
    real = touch(lib / "docs" / "real.md")
    outside = touch(tmp_path / "elsewhere" / "secret.md")
    touch(tmp_path / "elsewhere" / "more.md")
    (lib / "alias.md").symlink_to(real)  # same file twice: listed once
    (lib / "linked-docs").symlink_to(lib / "docs", target_is_directory=True)
    (lib / "leak.md").symlink_to(outside)
    (lib / "leak-dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (lib / "dangling.md").symlink_to(tmp_path / "missing.md")
    (lib / "dangling.bin").symlink_to(tmp_path / "missing.bin")
    files, skipped = discover([lib], lib, 25)
    assert files == [real.resolve()]
    assert reasons(skipped) == {
        "dangling.md": "broken symlink",
        "leak-dir": "symlink points outside the library",
        "leak.md": "symlink points outside the library",
    }
    assert str(lib.resolve() / "leak.md") in {s["path"] for s in skipped}  # the link is named, not its target


def test_symlink_into_library_root_but_outside_walked_root(tmp_path):
    lib = tmp_path / "library"
    shared = touch(lib / "shared" / "common.md")
    (lib / "papers").mkdir()
    (lib / "papers" / "common.md").symlink_to(shared)
    files, skipped = discover([lib / "papers"], lib, 25)
    assert files == [shared.resolve()] and skipped == []


def test_symlink_loops_are_safe(tmp_path):
    lib = tmp_path / "library"
    touch(lib / "a" / "doc.md")
    (lib / "a" / "back").symlink_to(lib, target_is_directory=True)
    (lib / "a" / "self").symlink_to(lib / "a", target_is_directory=True)
    (lib / "loop1.md").symlink_to(lib / "loop2.md")
    (lib / "loop2.md").symlink_to(lib / "loop1.md")
    files, skipped = discover([lib], lib, 25)
    assert names(files, lib) == ["a/doc.md"]
    assert reasons(skipped) == {"loop1.md": "broken symlink", "loop2.md": "broken symlink"}


def test_depth_limit(tmp_path):
    lib = tmp_path / "library"
    touch(lib / "top.md")
    touch(lib / "d1" / "d2" / "ok.md")
    touch(lib / "d1" / "d2" / "d3" / "too-deep.md")
    files, skipped = discover([lib], lib, 25, max_depth=2)
    assert names(files, lib) == ["d1/d2/ok.md", "top.md"]
    assert skipped == [{"path": str((lib / "d1" / "d2" / "d3").resolve()), "reason": "folder is nested deeper than 2 levels"}]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_folder_is_reported(tmp_path):
    lib = tmp_path / "library"
    touch(lib / "locked" / "x.md")
    (lib / "locked").chmod(0)
    try:
        files, skipped = discover([lib], lib, 25)
    finally:
        (lib / "locked").chmod(0o755)
    assert files == [] and reasons(skipped)["locked"].startswith("cannot read folder")


def test_fifo_in_folder_is_ignored(tmp_path):
    touch(tmp_path / "a.md")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block the ingest forever
    files, skipped = discover([tmp_path], tmp_path, 25)
    assert names(files, tmp_path) == ["a.md"] and skipped == []
    files, skipped = discover([tmp_path / "pipe.txt"], tmp_path, 25)
    assert files == [] and skipped[0]["reason"] == "not a regular file"


@pytest.mark.skipif(not SHARED_CORPUS.exists(), reason="/work/shared is absent")
@pytest.mark.corpus
def test_real_corpus_is_fully_discovered():
    files, skipped = discover([SHARED_CORPUS], SHARED_CORPUS, 25)
    on_disk = [p for p in SHARED_CORPUS.rglob("*") if p.suffix in {".md", ".mdx", ".pdf"}]
    assert len(files) == len(on_disk) > 900 and skipped == []
    assert files == sorted(files, key=lambda p: p.parts)  # depth first, names sorted
    assert len(files) == len(set(files))

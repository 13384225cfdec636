"""What the UI tests share: serving the learner app on loopback, and Debian's Chromium for Playwright
(``browser_page``: a page at a URL, the browser closed afterwards)."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from stubs import free_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Offline and quiet: no component updates, sync or background fetches from the browser itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def served_app(settings) -> Iterator[str]:
    """The learner app for ``settings`` as `studybot serve` serves it (build_server: the gate in front),
    on a free loopback port."""
    from bot.service import StudyBot
    from ui.app import build_server, start_server

    port = free_port()
    server = start_server(build_server(settings.with_overrides(port=port), StudyBot(settings)), "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        server.thread.join(10)


DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@contextmanager
def browser_page(url: str, **page_options) -> Iterator:
    """A Playwright page of Debian's Chromium opened at ``url`` (a desktop window unless ``page_options``
    say otherwise, e.g. a phone), and the browser closed afterwards whatever happens."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(**(page_options or DESKTOP))
            page.goto(url, wait_until="domcontentloaded")
            yield page
        finally:
            browser.close()


def launch_chromium(p):
    """Debian's chromium through Playwright (never `playwright install`); skips when it is absent."""
    exe = shutil.which("chromium")
    if not exe:
        pytest.skip("Debian chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    ARTIFACTS.mkdir(exist_ok=True)
    return p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)

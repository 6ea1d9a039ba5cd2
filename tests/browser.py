"""The report page in a real browser: Debian's chromium (`apt-get install chromium`; ci/install.sh
installs it), driven by Playwright's Python client, never a browser Playwright downloads. A
page is opened from its file, offline, and whatever it logs to the console is kept."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from tests.evals_run import ROOT

SCREENSHOTS = ROOT / "artifacts" / "screenshots"  # kept after the tests: what the page looked like
# As root and on a closed network: no sandbox, no background connections (they are refused).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chromium() -> str:
    path = os.environ.get("SUITE_CHROMIUM") or shutil.which("chromium")
    assert path, "no chromium for the report's browser tests: apt-get install chromium (ci/install.sh does it)"
    return path


@contextlib.contextmanager
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """A page of `browser`, offline (any request that is not a file is aborted and kept), with
    its console messages and uncaught errors."""

    def __init__(self, browser, width: int = 1400, height: int = 1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.route(re.compile(r"^(?!file:|data:|blob:)"), self._refuse)

    def _refuse(self, route) -> None:
        self.requests.append(route.request.url)
        route.abort()

    def open(self, path: Path, fragment: str = "") -> Page:
        self.page.goto(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
        self.ready()
        return self

    def go(self, fragment: str) -> Page:
        self.page.evaluate("f => { document.body.removeAttribute('data-ready'); location.hash = f; }", fragment)
        self.ready()
        return self

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready]", state="attached", timeout=30_000)

    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror")]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        self.context.close()


def page_data(page: Path, block: str):
    """A data block of a report page (evals/report/html.py), read as the page's script reads it."""
    match = re.search(rf'<script type="application/x-gzip-base64" data-block="{re.escape(block)}">([^<]*)</script>',
                      page.read_text(encoding="utf-8"))
    assert match, f"{page}: no data block {block!r}"
    return json.loads(gzip.decompress(base64.b64decode(match[1])))

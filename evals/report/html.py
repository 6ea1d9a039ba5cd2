"""The report to look at: one self-contained HTML file, `report.html`, from the same data as
report.json, that works offline (no CDN, no server: a CI artifact, an e-mail attachment).

    python -m evals report artifacts/RUN --html                  # report.html beside report.md
    python -m evals report artifacts/RUN --html --against OTHER  # the other run's responses beside

The overview (accuracy, the gate per case and pool, recovery, looks, drift, truncation and
tokens) is report.md's own text rendered to HTML, with the charts inlined: static, so it
paints before any data is read. Each case's items and responses, and each precision's
most-moved drift responses, are data blocks (gzip, base64) the page's script unpacks when
the case or the drift view is opened (evals/report/page/report.js), and shows as text only:
no response is ever markup. Cut responses' full texts are beside the page, in
`<case>/responses.html` (evals/report/responses.py says what is cut)."""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from evals.artifacts.jsonio import read_json, write_whole
from evals.report.markdown import render_markdown
from evals.report.responses import case_items

PAGE = Path(__file__).with_name("page")
FULL_TEXTS = "responses.html"  # a case's cut responses in full, in its folder beside the report


@cache
def _asset(name: str) -> str:
    return (PAGE / name).read_text(encoding="utf-8")


def packed(data: Any, level: int = 6) -> str:
    """A data block's content: JSON, gzip, base64. Base64 holds no '<' or '&', so nothing in
    a response can end the block or be read as markup."""
    return base64.b64encode(gzip.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
                                          compresslevel=level, mtime=0)).decode("ascii")


def _block(name: str, data: Any, level: int = 6) -> str:
    return f'<script type="application/x-gzip-base64" data-block="{html.escape(name)}">{packed(data, level)}</script>\n'


def _image(path: Path, alt: str) -> str:
    if not path.exists():
        return ""
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"></figure>\n'


def overview(report: dict, charts: Path) -> str:
    """report.md as HTML (raw HTML in it is escaped, not passed through), with its charts."""
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    return (_image(charts / "report.png", "accuracy per precision, task and mode, with 95% intervals")
            + _image(charts / "drift.png", "per-token KLD per precision")
            + markdown.render(render_markdown(report)))


def _compared(report: dict, case_id: str) -> dict:
    """What a case's items are compared with: the run --against names, else its gate."""
    if report.get("against"):
        return report["against"]["cases"].get(case_id) or {}
    return report["cases"][case_id].get("gate") or {}


def _flips(compared: dict) -> dict[str, str]:
    """item -> "worse"/"better"."""
    return {**{i: "better" for i in compared.get("better") or []}, **{i: "worse" for i in compared.get("worse") or []}}


def _case_meta(case_id: str, case: dict, compared: dict) -> dict:
    keys = ("status", "reference", "current", "drop", "upper", "margin", "detectable", "p_value", "ref_k", "cur_k")
    return {"id": case_id, **{k: case[k] for k in ("precision", "task", "mode", "mean", "n", "k", "primary")},
            "gate": {k: compared[k] for k in keys if k in compared},
            "worse": len(compared.get("worse") or []), "better": len(compared.get("better") or [])}


def _moved(run_dir: Path) -> dict[str, list]:
    return {path.stem: read_json(path) or [] for path in sorted((run_dir / "drift" / "moved").glob("*.json"))}


def render(report: dict, run_dir: Path, charts: Path, against: Path | None = None) -> tuple[str, dict[str, dict[str, str]]]:
    """The page, and per case the full texts of its cut responses."""
    blocks, fulls, metas = [], {}, []
    for case_id, case in report["cases"].items():
        compared = _compared(report, case_id)
        data, full = case_items(run_dir, case_id, case["primary"], _flips(compared), against)
        blocks.append(_block(f"case:{case_id}", data))
        metas.append(_case_meta(case_id, case, compared))
        if full:
            fulls[case_id] = full
    moved = _moved(run_dir)
    meta = {"run": Path(report["run"]).name, "profile": report["profile"], "against": (report.get("against") or {}).get("run"),
            "cases": metas, "drift": sorted(moved), "full_texts": FULL_TEXTS}
    title = f"Accuracy report: {Path(report['run']).name}"
    page = _fill(title=html.escape(title), body=_fill(_asset("report.html"), overview=overview(report, charts)),
                 data=_block("meta", meta) + _block("drift", moved) + "".join(blocks), script=_asset("report.js"))
    return page, fulls


def full_texts_page(case_id: str, texts: dict[str, str]) -> str:
    # The bulk of what is written: gzip level 1, five times as fast as 6, about a fifth larger.
    title = html.escape(f"{case_id}: responses in full")
    return _fill(title=title, body=_fill(_asset("responses.html"), title=title), data=_block("full", texts, level=1),
                 script=_asset("responses.js"))


def _fill(template: str | None = None, **parts: str) -> str:
    """A template's {{name}} slots filled in one pass (what is put in is never read again for
    slots); without one, the page's shell (page/page.html) with its style sheet, and the
    script both pages share (page/blocks.js) before the page's own."""
    if template is None:
        template = _asset("page.html")
        parts = {**parts, "style": _asset("report.css"), "script": _asset("blocks.js") + "\n" + parts["script"]}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m[1]], template)


def write_html(report: dict, out: Path) -> Path:
    """report.html in `out` (and each case's cut responses in full beside it), from the run
    and the --against run the report names; the page's path."""
    against = Path(report["against"]["run"]) if report.get("against") else None
    page, fulls = render(report, Path(report["run"]), out, against)
    for case_id, texts in fulls.items():
        write_whole(out / case_id / FULL_TEXTS, lambda f, c=case_id, t=texts: f.write(full_texts_page(c, t)))
    path = out / "report.html"
    write_whole(path, lambda f: f.write(page))
    return path

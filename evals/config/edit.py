"""Edits the suite's tools make to the matrix config (`python -m evals fetch --pin`), as text,
so its comments and order stay; the edited file is validated before it replaces the old one."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from evals.config.matrix import ConfigError, load_matrix


def pin_revision(path: Path, model: str, commit: str) -> None:
    """Set `models.<model>.revision` in the config at `path` to `commit` (replacing a branch
    name such as `main`, keeping the line's comment), or add it after the model's `model:`
    line. ConfigError naming the file if the model is not there or the result does not load."""
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.fullmatch(rf"  {re.escape(model)}:\s*(#.*)?\n?", line)), None)
    if start is None:
        raise ConfigError(f"{path}: no model {model!r} under models: to pin")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith("    ")), len(lines))
    block = range(start + 1, end)
    revision = next((i for i in block if re.match(r"    revision:", lines[i])), None)
    if revision is not None:
        comment = re.search(r"\s+#.*$", lines[revision].rstrip("\n"))
        lines[revision] = f"    revision: {commit}{comment.group(0) if comment else ''}\n"
    else:
        after = next((i for i in block if re.match(r"    model:", lines[i])), start)
        lines.insert(after + 1, f"    revision: {commit}\n")
    folder = Path(path).parent
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".yaml", delete=False, encoding="utf-8") as out:
        out.write("".join(lines))
    try:
        pinned = load_matrix(Path(out.name)).models[model].revision
        if pinned != commit:
            raise ConfigError(f"{path}: models.{model}.revision reads {pinned!r} after pinning, not {commit!r}")
        os.replace(out.name, path)
    finally:
        Path(out.name).unlink(missing_ok=True)

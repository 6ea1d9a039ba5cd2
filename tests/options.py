"""A pytest config as evals/plugin/selection.py reads it: a command's options, with no session, so
option checks run in-process (a child `pytest evals` costs seconds each)."""

from __future__ import annotations

DEFAULTS = {
    "profile": "tiny", "precision": [], "task": [], "mode": [], "limit": None, "vllm_url": [], "artifacts": "artifacts",
    "gate_alpha": None, "gate_margin": None, "gate_strict": False, "resume": None, "replay": None,
    "update_snapshots": False, "replace_baselines": False, "collectonly": True, "markexpr": "", "seed": None,
}


class _Namespace:
    """config.option: the same options, by attribute (the plugin sets some, as pytest allows)."""

    def __init__(self, options: dict):
        object.__setattr__(self, "_options", options)

    def __getattr__(self, name: str):
        return self._options[name]

    def __setattr__(self, name: str, value) -> None:
        self._options[name] = value


class Options:
    def __init__(self, **options):
        unknown = set(options) - set(DEFAULTS)
        assert not unknown, f"not an option of pytest evals: {unknown}"
        self.options = {**DEFAULTS, **options}
        self.option = _Namespace(self.options)
        self.stash: dict = {}

    def getoption(self, name: str, default=None):
        return self.options.get(name, default)


def select(**options) -> dict:
    from evals.plugin.selection import selection

    return selection(Options(**options))

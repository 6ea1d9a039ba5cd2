"""A session's stores, one per precision: its generations (what resume and replay read)
and its teacher-forced drift scores, each a GenerationStore (evals/artifacts/generations.py)
keyed by what a response depends on besides its request (its context)."""

from __future__ import annotations

from pathlib import Path

from evals.artifacts.generations import GenerationStore
from evals.artifacts.run_folder import RunArtifacts, read_manifest
from evals.drift.sequences import DriftError


class Stores:
    def __init__(self, artifacts: RunArtifacts, replay: Path | None, replayed: dict | None):
        self.artifacts, self.replay, self.replayed = artifacts, replay, replayed
        self._generations: dict[str, GenerationStore] = {}
        self._drift: dict[str, GenerationStore] = {}

    def open(self, precision: str, context: dict) -> GenerationStore:
        """The precision's generations: this run's (appended as they arrive), or, in a
        replay, the replayed run's (read only)."""
        if self.replay:
            path = self.replay / "generations" / f"{precision}.jsonl"
            self._generations[precision] = GenerationStore(path, context, writable=False)
        else:
            self._generations[precision] = GenerationStore(self.artifacts.generations(precision), context)
        return self._generations[precision]

    def generations(self, precision: str) -> GenerationStore:
        return self._generations[precision]

    def drift(self, precision: str) -> GenerationStore:
        """A precision's teacher-forced scores (evals/drift/), kept like its generations; a
        replay reads the replayed run's and sends nothing."""
        if precision not in self._drift:
            source = self.replay or self.artifacts.dir
            manifest = self.replayed if self.replay else read_manifest(self.artifacts.dir)
            context = manifest["models"].get(precision, {}).get("context")
            if context is None:
                raise DriftError(f"{source / 'manifest.json'}: no model of {precision} recorded (it did not run)")
            self._drift[precision] = GenerationStore(source / "drift" / f"{precision}.jsonl", context,
                                                     writable=not self.replay)
        return self._drift[precision]

    def fingerprint_facts(self, precision: str) -> dict:
        """The engine and GPU architecture that made this precision's generations."""
        context = self._generations[precision].context
        return {"engine": context["engine"], "architecture": context["gpu_architecture"]}

"""Where each model's weights are, as a server loads them and its generations name them:
a hub id at its revision, or the tiny model's build (made once per session; its cache
key hashes its inputs, so it is not looked up again)."""

from __future__ import annotations

from pathlib import Path

from evals.config.matrix import Matrix, Model


class Weights:
    def __init__(self, matrix: Matrix):
        self.matrix = matrix
        self._tiny: dict[str, str] = {}  # model name -> its build

    def path(self, model: Model) -> tuple[str, str | None]:
        """(path or hub id, revision) to load the model from."""
        if not model.is_tiny:
            return model.model, model.revision
        if model.name not in self._tiny:
            from evals.engine.tiny.build import ensure_built  # torch

            self._tiny[model.name] = str(ensure_built(model.tiny, self.matrix))
        return self._tiny[model.name], None

    def label(self, model: Model) -> str:
        """The weights as generations name them (their context): the model's weights, and
        for the tiny model its build, so a rebuilt tiny model never reuses another's answers."""
        if model.is_tiny:
            return f"{model.weights}@{Path(self.path(model)[0]).parent.name}"
        return model.weights

"""One run's drift pass: the reference precision scores its own responses (kept), then each
quantized precision scores the same sequences on its own server and is compared with them."""

from __future__ import annotations

import dataclasses
import functools

from evals.config.matrix import REFERENCE_PRECISION, Case
from evals.drift import gate, reference
from evals.drift.scoring import score
from evals.drift.sequences import DriftError, Sequence, reference_sequences, tokenizer_fingerprint
from evals.drift.tokens import compare_sequence
from evals.artifacts.generations import GenerationStore
from evals.lmeval.call import in_flight

CONTEXT_TOKENS = 8  # either side of a position that moved, in a failure message


class DriftPass:
    def __init__(self, run):
        self.run = run
        self.settings = run.matrix.drift(run.profile)
        self.stored: reference.StoredReference | None = run.drift_reference  # when the run does not run the reference

    @functools.cached_property
    def reference_cases(self) -> list[Case]:
        """The reference cases whose responses are scored: the run's own, or the stored
        reference's of the run's tasks and modes."""
        own = [c for c in self.run.run_cases if c.precision == REFERENCE_PRECISION]
        if own or self.stored is None:
            return own
        wanted = {(c.task.name, c.mode.name) for c in self.run.run_cases}
        return [c for c in self.run.matrix.cases(self.run.profile) if c.precision == REFERENCE_PRECISION
                and (c.task.name, c.mode.name) in wanted and c.id in self.stored.manifest["cases"]]

    def _case(self, precision: str):
        cases = self.reference_cases if precision == REFERENCE_PRECISION else self.run.run_cases
        return next(c for c in cases if c.precision == precision)

    @functools.cache
    def _tokenizer_of(self, precision: str):
        from transformers import AutoTokenizer

        path, revision = self.run.model_path(self._case(precision).model)
        return AutoTokenizer.from_pretrained(path, revision=revision)

    @functools.cache
    def _vocabulary(self, precision: str) -> str:
        return tokenizer_fingerprint(self._tokenizer_of(precision))

    @functools.cached_property
    def sequences(self) -> list[Sequence]:
        if not self.reference_cases:
            where = f"in {self.stored.dir} for this run's tasks and modes" if self.stored else "in this run"
            raise DriftError(f"no {REFERENCE_PRECISION} case {where}: its responses are what drift is measured on")
        if self.stored is not None:
            made, now = self.stored.weights, self.run.weights(self.reference_cases[0].model)
            if made != now:
                raise DriftError(f"--drift-reference {self.stored.dir}: its {REFERENCE_PRECISION} responses come from "
                                 f"{made}, this run's {REFERENCE_PRECISION} is {now}: run {REFERENCE_PRECISION} again")
        # A replay's responses are the replayed run's (this session may not re-score the reference's cases).
        source = self.stored.dir if self.stored else self.run.replay or self.run.artifacts.dir
        samples = [source / c.id / "samples.jsonl" for c in self.reference_cases]
        return reference_sequences(samples, self._tokenizer_of(REFERENCE_PRECISION), self.settings.items, self.settings.max_tokens)

    @functools.cached_property
    def _reference_store(self) -> GenerationStore:
        """The reference's kept scores: this run's, or the stored reference's (read only,
        once for every precision compared with it)."""
        if self.stored is None:
            return self.run.drift_store(REFERENCE_PRECISION)
        context = self.stored.manifest["models"][REFERENCE_PRECISION]["context"]
        return GenerationStore(self.stored.dir / "drift" / f"{REFERENCE_PRECISION}.jsonl", context, writable=False)

    def _score(self, precision: str, endpoint, store: GenerationStore):
        return score(endpoint, store, self.sequences, self.settings.top_k, in_flight(self._case(precision)))

    def reference(self, endpoint) -> dict:
        """Score the reference's own responses on its server and keep them; the manifest's
        note of it (reference.entry), whose `top1` is the share of response positions whose
        generated token is the server's most likely one."""
        logprobs = self._score(REFERENCE_PRECISION, endpoint, self.run.drift_store(REFERENCE_PRECISION))
        top, total = 0, 0
        for seq, rows in zip(self.sequences, logprobs):
            for i in range(seq.start, len(seq.tokens)):
                row = rows[i] or {}
                if seq.tokens[i] not in row:
                    raise DriftError(f"{seq.case} item {seq.item}: no log-probability of the response's token at position {i}")
                top += max(row, key=row.__getitem__) == seq.tokens[i]
                total += 1
        return reference.entry(len(self.sequences), total, top / max(1, total), self.settings)

    def compare(self, precision: str, endpoint) -> dict:
        """The precision's drift record against the reference's kept scores."""
        if self._vocabulary(precision) != self._vocabulary(REFERENCE_PRECISION):
            raise DriftError(f"{precision} has another tokenizer than {REFERENCE_PRECISION}: token ids cannot be compared")
        ref = self._score(REFERENCE_PRECISION, _Unreachable(REFERENCE_PRECISION, self.stored), self._reference_store)
        cand = self._score(precision, endpoint, self.run.drift_store(precision))
        drifts = [compare_sequence(r, c, s.tokens, s.start) for s, r, c in zip(self.sequences, ref, cand)]
        fingerprint = {**self.run.fingerprint_facts(precision),
                       "models": {p: _weights(self._case(p).model) for p in (REFERENCE_PRECISION, precision)},
                       **{k: getattr(self.settings, k) for k in ("items", "max_tokens", "top_k")}}
        return gate.record(precision, REFERENCE_PRECISION, self.sequences, drifts, fingerprint,
                           dataclasses.asdict(self.settings), self._around)

    def _around(self, seq: Sequence, position: int) -> str:
        """The text around a position, its token in [[ ]]."""
        decode = self._tokenizer_of(REFERENCE_PRECISION).decode
        return (decode(seq.tokens[max(seq.start, position - CONTEXT_TOKENS):position]) + f"[[{decode(seq.tokens[position:position + 1])}]]"
                + decode(seq.tokens[position + 1:position + 1 + CONTEXT_TOKENS]))


def _weights(model) -> str:
    """The weights a fingerprint names, as the accuracy baselines do (not the tiny build's key)."""
    return f"tiny:{model.tiny}" if model.is_tiny else f"{model.model}@{model.revision}"


class _Unreachable:
    """The reference's server is not running any more: its scores come from the store only."""

    def __init__(self, precision: str, stored):
        self.served_name = ""
        self.precision = precision
        self.stored = stored

    @property
    def url(self) -> str:
        if self.stored is not None:
            raise DriftError(f"--drift-reference {self.stored.dir}: {self.precision}'s drift scores of these responses "
                             f"are not all kept there: run {self.precision} again")
        raise DriftError(f"{self.precision}'s drift scores are not all kept in this run (its drift test did not run): "
                         f"run {self.precision} too, or resume the run")

"""One run's drift pass: the reference precision scores its own responses (kept), then each
quantized precision scores the same sequences on its own server and is compared with them."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from evals.config.matrix import REFERENCE_PRECISION, Case
from evals.drift import gate, reference
from evals.drift.scoring import position_logprobs, score, token_ranks
from evals.drift.sequences import DriftError, Sequence, reference_sequences, tokenizer_fingerprint
from evals.drift.tokens import compare_sequence
from evals.drift.worst import worst_responses
from evals.artifacts.generations import GenerationStore
from evals.engine.endpoints import Unreachable
from evals.engine.weights import Weights
from evals.lmeval.call import in_flight
from evals.run.selection import Selection
from evals.run.stores import Stores

CONTEXT_TOKENS = 8  # either side of a position that moved, in a failure message


def sampler_ranks(case: Case) -> float:
    """The ranks a case's sampler draws from: the most likely token under greedy decoding,
    the top_k under sampling (without one, any)."""
    if not case.sampled:
        return 1
    return case.generation.get("top_k") or float("inf")


# Sampling settings that re-rank the model's tokens before the sampler draws (presence,
# frequency and repetition penalties): the drawn token's rank in the model's own
# distribution is then not bounded by top_k.
_RE_RANKING = {"presence_penalty": 0.0, "frequency_penalty": 0.0, "repetition_penalty": 1.0}


def unsampleable(case: Case) -> float:
    """Ranks beyond this, the case's sampler did not draw: twice what it draws from (at least
    5), for the tokens at the edge that scoring a whole sequence at once (prefill) ranks a
    little differently from decoding it token by token; no bound where penalties re-rank."""
    if any(case.generation.get(k, neutral) != neutral for k, neutral in _RE_RANKING.items()):
        return float("inf")
    return max(2 * sampler_ranks(case), 5)


class DriftPass:
    def __init__(self, selection: Selection, weights: Weights, stores: Stores, run_dir: Path):
        self.selection, self.weights, self.stores, self.run_dir = selection, weights, stores, run_dir
        self.settings = selection.matrix.drift(selection.profile)
        self.stored: reference.StoredReference | None = selection.drift_reference  # when the run does not run the reference

    @functools.cached_property
    def reference_cases(self) -> list[Case]:
        """The reference cases whose responses are scored: the run's own, or the stored
        reference's of the run's tasks and modes."""
        run_cases = self.selection.run_cases
        own = [c for c in run_cases if c.precision == REFERENCE_PRECISION]
        if own or self.stored is None:
            return own
        wanted = {(c.task.name, c.mode.name) for c in run_cases}
        return [c for c in self.selection.matrix.cases(self.selection.profile) if c.precision == REFERENCE_PRECISION
                and (c.task.name, c.mode.name) in wanted and c.id in self.stored.manifest["cases"]]

    def _case(self, precision: str):
        cases = self.reference_cases if precision == REFERENCE_PRECISION else self.selection.run_cases
        return next(c for c in cases if c.precision == precision)

    @functools.cache
    def _tokenizer_of(self, precision: str):
        from transformers import AutoTokenizer

        path, revision = self.weights.path(self._case(precision).model)
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
            made, now = self.stored.weights, self.weights.label(self.reference_cases[0].model)
            if made != now:
                raise DriftError(f"--drift-reference {self.stored.dir}: its {REFERENCE_PRECISION} responses come from "
                                 f"{made}, this run's {REFERENCE_PRECISION} is {now}: run {REFERENCE_PRECISION} again")
        # A replay's responses are the replayed run's (this session may not re-score the reference's cases).
        source = self.stored.dir if self.stored else self.selection.replay or self.run_dir
        samples = [source / c.id / "samples.jsonl" for c in self.reference_cases]
        return reference_sequences(samples, self._tokenizer_of(REFERENCE_PRECISION), self.settings.items, self.settings.max_tokens)

    @functools.cached_property
    def _reference_store(self) -> GenerationStore:
        """The reference's kept scores: this run's, or the stored reference's (read only,
        once for every precision compared with it)."""
        if self.stored is None:
            return self.stores.drift(REFERENCE_PRECISION)
        context = self.stored.manifest["models"][REFERENCE_PRECISION]["context"]
        return GenerationStore(self.stored.dir / "drift" / f"{REFERENCE_PRECISION}.jsonl", context, writable=False)

    def _score(self, precision: str, endpoint, store: GenerationStore) -> list[dict]:
        return score(endpoint, store, self.sequences, self.settings.top_k, in_flight(self._case(precision)))

    def score_reference(self, endpoint) -> dict:
        """Score the reference's own responses on its server and keep them; the manifest's
        note of it (reference.entry): `top1`, the share of response positions whose token is
        the server's most likely one, and `sampleable`, the share whose token the case's
        sampler could have drawn (greedy: the most likely; else within its top_k). Scoring the
        exact sequences that were generated, sampleable is 1 up to numerics; another chat
        template or tokenizer than the server's, or text that is not what was generated,
        puts tokens far down the ranks."""
        responses = self._score(REFERENCE_PRECISION, endpoint, self.stores.drift(REFERENCE_PRECISION))
        allowed = {c.id: sampler_ranks(c) for c in self.reference_cases}
        bound = {c.id: unsampleable(c) for c in self.reference_cases}
        top = sampleable = total = 0
        for seq, response in zip(self.sequences, responses):
            ranks = token_ranks(response, seq.tokens)
            for i in range(seq.start, len(seq.tokens)):
                if ranks[i] is None:
                    raise DriftError(f"{seq.case} item {seq.item}: no rank of the response's token at position {i}")
                if ranks[i] > bound[seq.case]:
                    raise DriftError(
                        f"{seq.case} item {seq.item}: its token at response position {i - seq.start} ranks "
                        f"{ranks[i]} in {REFERENCE_PRECISION}'s own logprobs, where its sampler draws from the top "
                        f"{allowed[seq.case]:g}: the sequence scored is not the one generated (another chat template, "
                        f"tokenizer or text than the server's): {self._around(seq, i)}")
                top += ranks[i] == 1
                sampleable += ranks[i] <= allowed[seq.case]
                total += 1
        return reference.entry(len(self.sequences), total, top / max(1, total), sampleable / max(1, total), self.settings)

    def measure(self, precision: str, endpoint) -> tuple[dict, list[dict]]:
        """The precision's drift record against the reference's kept scores, and the responses
        that moved most, token by token (evals/drift/worst.py, for the report)."""
        if self._vocabulary(precision) != self._vocabulary(REFERENCE_PRECISION):
            raise DriftError(f"{precision} has another tokenizer than {REFERENCE_PRECISION}: token ids cannot be compared")
        ref_raw = self._score(REFERENCE_PRECISION, Unreachable("", self._not_kept(REFERENCE_PRECISION)), self._reference_store)
        cand_raw = self._score(precision, endpoint, self.stores.drift(precision))
        drifts = [compare_sequence(position_logprobs(r), position_logprobs(c), s.tokens, s.start)
                  for s, r, c in zip(self.sequences, ref_raw, cand_raw)]
        fingerprint = {**self.stores.fingerprint_facts(precision),
                       "models": {p: self._case(p).model.weights for p in (REFERENCE_PRECISION, precision)},
                       **{k: getattr(self.settings, k) for k in ("items", "max_tokens", "top_k")}}
        record = gate.record(precision, REFERENCE_PRECISION, self.sequences, drifts, fingerprint,
                             dataclasses.asdict(self.settings), self._around)
        return record, worst_responses(self.sequences, drifts, ref_raw, cand_raw)

    def _not_kept(self, precision: str) -> DriftError:
        """Why a precision's drift scores cannot be had when its server is not running any more."""
        if self.stored is not None:
            return DriftError(f"--drift-reference {self.stored.dir}: {precision}'s drift scores of these responses "
                              f"are not all kept there: run {precision} again")
        return DriftError(f"{precision}'s drift scores are not all kept in this run (its drift test did not run): "
                          f"run {precision} too, or resume the run")

    def _around(self, seq: Sequence, position: int) -> str:
        """The text around a position, its token in [[ ]]."""
        decode = self._tokenizer_of(REFERENCE_PRECISION).decode
        return (decode(seq.tokens[max(seq.start, position - CONTEXT_TOKENS):position]) + f"[[{decode(seq.tokens[position:position + 1])}]]"
                + decode(seq.tokens[position + 1:position + 1 + CONTEXT_TOKENS]))

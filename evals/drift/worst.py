"""The responses whose tokens moved most, token by token, for the report (evals/report/):
each response's tokens with their KLD, and at its worst positions the top alternatives of
both servers. Read from the servers' own `prompt_logprobs` rows (their decoded tokens), so
the report needs no tokenizer; kept beside the drift record (not in the baseline)."""

from __future__ import annotations

from collections.abc import Sequence as Seq

from evals.drift.sequences import Sequence
from evals.drift.tokens import TokenDrift

RESPONSES = 5  # the responses with the largest mean KLD
POSITIONS = 5  # per response: its positions with the largest KLD, with both servers' alternatives
ALTERNATIVES = 5  # per server at such a position


def _rows(response: dict) -> list[dict | None]:
    return response["choices"][0]["prompt_logprobs"]


def _text(row: dict | None, token: int) -> str:
    entry = (row or {}).get(str(token)) or {}
    return entry.get("decoded_token") if isinstance(entry.get("decoded_token"), str) else f"<{token}>"


def _alternatives(row: dict | None) -> list[list]:
    """The server's most likely next tokens there: [text, logprob], most likely first."""
    entries = sorted((row or {}).items(), key=lambda kv: -kv[1]["logprob"])[:ALTERNATIVES]
    return [[_text(row, int(token)), round(entry["logprob"], 4)] for token, entry in entries]


def worst_responses(sequences: Seq[Sequence], drifts: Seq[Seq[TokenDrift]], reference: Seq[dict],
                    candidate: Seq[dict]) -> list[dict]:
    """The RESPONSES sequences with the largest mean KLD: case, item, mean KLD, where the
    answer starts, every response token [text, kld], and at the POSITIONS worst ones both
    servers' alternatives. `reference`/`candidate` are the servers' raw responses."""
    means = [sum(t.kld for t in drift) / max(1, len(drift)) for drift in drifts]
    out = []
    for i in sorted(range(len(sequences)), key=lambda i: -means[i])[:RESPONSES]:
        seq, drift, ref_rows, cand_rows = sequences[i], drifts[i], _rows(reference[i]), _rows(candidate[i])
        first = max(1, seq.start)  # compare_sequence's first scored position
        tokens = [[_text(ref_rows[p], seq.tokens[p]), round(t.kld, 6)] for p, t in zip(range(first, len(seq.tokens)), drift)]
        worst = sorted(range(len(drift)), key=lambda j: -drift[j].kld)[:POSITIONS]
        out.append({
            "case": seq.case, "item": seq.item, "mean_kld": means[i],
            "answer_start": seq.answer_start - first, "tokens": tokens,
            "worst": [{"index": j, "token": tokens[j][0], "kld": tokens[j][1], "top1_agrees": drift[j].top1_agrees,
                       "reference": _alternatives(ref_rows[first + j]), "candidate": _alternatives(cand_rows[first + j])}
                      for j in sorted(worst)],
        })
    return out

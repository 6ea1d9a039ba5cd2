"""Per-token comparison of two servers' `prompt_logprobs` over one token sequence.

At each scored position both servers report their top-k next tokens with log-probabilities,
plus the token that actually follows. KL(reference || candidate) is taken over the tokens
both report, with everything else as one tail bucket: a coarser view of the two
distributions, so the figure is a lower bound of the true KL (data-processing inequality),
exact when k covers the mass."""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Sequence

_FLOOR = 1e-12  # a tail both servers put (almost) no mass on contributes nothing


class TokenDrift(NamedTuple):
    kld: float  # KL(reference || candidate), nats
    top1_agrees: bool  # both servers' most likely next token is the same
    delta_logprob: float  # candidate minus reference log-probability of the token that follows


Logprobs = Mapping[int, float]  # token id -> log-probability, one position


def compare_position(reference: Logprobs, candidate: Logprobs, actual: int) -> TokenDrift:
    shared = reference.keys() & candidate.keys()
    p_shared = sum(math.exp(reference[t]) for t in shared)
    q_shared = sum(math.exp(candidate[t]) for t in shared)
    kld = sum(math.exp(reference[t]) * (reference[t] - candidate[t]) for t in shared)
    p_tail, q_tail = max(0.0, 1.0 - p_shared), max(_FLOOR, 1.0 - q_shared)
    if p_tail > _FLOOR:
        kld += p_tail * (math.log(p_tail) - math.log(q_tail))
    top1 = max(reference, key=reference.__getitem__) == max(candidate, key=candidate.__getitem__)
    return TokenDrift(max(0.0, kld), top1, candidate[actual] - reference[actual])


def compare_sequence(reference: Sequence[Logprobs | None], candidate: Sequence[Logprobs | None],
                     tokens: Sequence[int], start: int) -> list[TokenDrift]:
    """The positions from `start` on (the response, after its prompt): position i scores
    tokens[i] given tokens[:i]."""
    if not len(reference) == len(candidate) == len(tokens):
        raise ValueError(f"prompt_logprobs cover {len(reference)} and {len(candidate)} positions "
                         f"of a {len(tokens)}-token sequence")
    out = []
    for i in range(max(1, start), len(tokens)):
        ref, cand = reference[i], candidate[i]
        if not ref or not cand or tokens[i] not in ref or tokens[i] not in cand:
            raise ValueError(f"position {i}: no log-probability of token {tokens[i]} from both servers")
        out.append(compare_position(ref, cand, tokens[i]))
    return out

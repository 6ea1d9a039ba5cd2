"""What lm-eval is asked to do for a case, as one description: the run executes it
(evals/lmeval/runner.py passes its parts to `simple_evaluate` and to the model as they are),
the plan shows it (snapshots/plan/), and the fingerprint keeps what changes answers.
Nothing about the call is decided anywhere else, so the plan cannot drift from a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.config.matrix import Case

MODEL = "suite-chat-completions"  # evals/lmeval/model.py
# vLLM's own max_num_seqs default on GPUs: a remote server's batch when the config does not set it.
DEFAULT_MAX_NUM_SEQS = 256
# The seeds each repeat's own seed is derived from (evals/lmeval/model.py): a baseline's
# samples are drawn apart from a run's, as the gate's test assumes.
RUN_SEED, BASELINE_SEED = 1234, 4321


@dataclass(frozen=True)
class LmEvalCall:
    task: str  # the lm-eval task (evals/tasks/)
    repeats: int  # samples per item (the task's `repeats`)
    evaluate: dict[str, Any]  # simple_evaluate's arguments that shape the requests
    reporting: dict[str, Any]  # simple_evaluate's arguments that shape only its output
    model_args: dict[str, Any]  # the model's (its endpoint, store and progress are added at run time)

    def generation(self) -> dict[str, Any]:
        """What two runs must share for their answers to be compared (the fingerprint's)."""
        return {"task": self.task, **self.evaluate}

    def as_data(self) -> dict[str, Any]:
        return {"task": self.task, "repeats": self.repeats, **self.evaluate, **self.reporting,
                "model": MODEL, "model_args": self.model_args}


def in_flight(case: Case) -> int:
    """Requests out at once to a model's server: one batch running (its max_num_seqs) and one
    waiting in its queue, so a finished sequence's slot is refilled at once, not after an
    HTTP round trip; each data-parallel rank runs a batch of its own. The generation pass also
    bounds them by KV cache tokens (evals/engine/client.py)."""
    return 2 * case.server.get("max_num_seqs", DEFAULT_MAX_NUM_SEQS) * case.server.get("data_parallel_size", 1)


def lm_eval_call(case: Case) -> LmEvalCall:
    return LmEvalCall(
        task=case.task.lm_eval_task,
        repeats=case.repeats,
        evaluate={
            "limit": case.limit,
            "num_fewshot": 0,
            "apply_chat_template": True,
            "system_instruction": case.mode.system,
            "gen_kwargs": dict(case.generation),
        },
        # > 0 turns stderr on; the metrics aggregate by mean, whose stderr lm-eval computes
        # in closed form, so nothing is bootstrapped (0 would leave every stderr "N/A").
        reporting={"log_samples": True, "bootstrap_iters": 1},
        model_args={
            "num_concurrent": in_flight(case),
            "max_gen_toks": case.generation["max_gen_toks"],
            "max_length": case.server.get("max_model_len", 2048),
            "tokenizer_backend": None,  # the server tokenizes; the preflight checks prompt lengths
            "seed": (BASELINE_SEED if case.baseline else RUN_SEED) + case.seed,
        },
    )

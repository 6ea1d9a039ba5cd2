"""The exact plan of a profile: every server command line and every lm-eval call.

Rendered on any machine (no GPU, no model download), from the same code the run
uses, so a change to what a GPU run would do shows in review as a change of
snapshots/plan/<profile>.json.

    python -m evals plan --profile full
    python -m evals estimate --profile full   # requests, output tokens, GPU-hours per precision
"""

from __future__ import annotations

import json
import sys

from evals.config.matrix import REFERENCE_PRECISION, TEST_KINDS, Matrix, pooled_cases
from evals.engine.server import VllmServer, server_env
from evals.gate.policy import Policy
from evals.lmeval.call import in_flight, lm_eval_call
from evals.planning.power import items

PLAN_PORT = 8000  # a fixed port, so the plan does not change from run to run


def render_plan(matrix: Matrix, profile: str) -> dict:
    from evals.engine.server import server_args

    cases = matrix.cases(profile)
    servers = {}
    for case in cases:
        if case.precision in servers:
            continue
        model = f"<{case.model.source}>" if case.model.is_tiny else case.model.model
        args = server_args(case)
        command = VllmServer(model, case.model.name, args, log_path="server.log", port=PLAN_PORT).command()
        mine = [c for c in cases if c.precision == case.precision]
        servers[case.precision] = {
            "command": ["python", *command[1:]],
            "env": server_env(args, case.gpu),
            # evals/run/generation_pass.py: all of the model's requests through one pool (evals/engine/client.py).
            "generation_pass": {"cases": len(mine), "requests": sum(items(c) * c.repeats for c in mine),
                                "max_in_flight": in_flight(case), "token_budget": "the KV cache tokens vLLM reports",
                                "order": "longest expected output first"},
        }
    policy = Policy(matrix.gate, matrix.test_counts(profile))
    pools = {f"{precision}-{name}": {"margin": policy.pool_margin(matrix.pools[name]), "cases": [c.id for c in taken]}
             for (precision, name), taken in pooled_cases(matrix.pools, cases).items()}
    return {
        "profile": profile,
        "gpu": cases[0].gpu if cases else None,
        "servers": servers,
        # Runs draw `repeats` samples per item; --snapshot-update draws `baseline_repeats`.
        "cases": {case.id: {"precision": case.precision, **lm_eval_call(case).as_data(), "baseline_repeats": case.baseline_repeats}
                  for case in cases},
        "drift": _drift_plan(matrix, profile, cases),
        "gate": {
            "alpha_per_test": {kind: {"drop": policy.alpha_for(kind), **({"rise": policy.alpha_for(kind, "rise")}
                                                                         if TEST_KINDS[kind] == 2 else {})}
                               for kind in policy.tests},
            # a sampled run draws in rounds and judges after each (evals/gate/sequential.py)
            "looks": matrix.gate.looks, "futility_confidence": matrix.gate.futility_confidence,
            "margins": {case.id: policy.case_margin(case) for case in cases},
            "pools": pools,
        },
    }


def _drift_plan(matrix, profile: str, cases) -> dict | None:
    """The teacher-forced requests of the drift tests (evals/drift/): per precision, one
    prefill of each sequence (the reference's responses, prompt included) with top-k
    prompt log-probabilities; at most this many response tokens each."""
    drift = matrix.drift(profile)
    if drift is None:
        return None
    reference = [c for c in cases if c.precision == REFERENCE_PRECISION]
    sequences = sum(min(drift.items, c.limit or drift.items) for c in reference)
    return {"sequences_per_precision": sequences, "max_response_tokens": drift.max_tokens, "prompt_logprobs": drift.top_k,
            "request": {"endpoint": "/v1/completions", "max_tokens": 1, "temperature": 0.0},
            "precisions": sorted({c.precision for c in cases}), "margin": drift.margin, "floor": drift.floor,
            "confidence": drift.confidence}


def add_arguments(parser) -> None:
    from evals.planning import estimate

    parser.add_argument("--estimate", action="store_true", help="the run's cost instead (the same as `estimate`)")
    estimate.add_arguments(parser)


def command(args) -> int:
    if args.estimate:
        from evals.planning import estimate

        return estimate.command(args)
    json.dump(render_plan(args.matrix, args.profile), sys.stdout, indent=2)
    print()
    return 0

"""One case the seed report's way: a fresh process running lm-eval's stock
`local-chat-completions` model against an engine started for this case alone.

    python bench/seed_case.py CASE_ID BASE_URL SERVED_NAME
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":
    import lm_eval

    from evals.config.matrix import load_matrix
    from evals.lmeval.call import lm_eval_call
    from evals.lmeval.runner import load_task, task_manager

    case_id, url, served = sys.argv[1:4]
    case = next(c for c in load_matrix().cases("tiny") if c.id == case_id)
    call = lm_eval_call(case)
    lm_eval.simple_evaluate(
        model="local-chat-completions",
        model_args={
            "base_url": f"{url}/v1/chat/completions", "model": served, "tokenizer_backend": None,
            "num_concurrent": call.model_args["num_concurrent"],
        },
        tasks=[load_task(call)], task_manager=task_manager(), **call.evaluate, **call.reporting,
    )

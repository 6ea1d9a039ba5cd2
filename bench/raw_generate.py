"""vLLM's own in-process `LLM.chat` on the bf16 tiny model's prompts of the tiny
matrix, forced to TOKENS new tokens each; prints `RESULT {"tokens", "seconds"}`.

    python bench/raw_generate.py MODEL_PATH SERVER_ARGS_JSON TOKENS
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # vLLM spawns workers that re-import this file
    from vllm import LLM, SamplingParams

    from evals.config.matrix import load_matrix
    from evals.lmeval.call import lm_eval_call
    from evals.lmeval.runner import load_task

    path, server_args, tokens = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    llm = LLM(model=path, **server_args)
    groups = []
    for case in (c for c in load_matrix().cases("tiny") if c.precision == "bf16"):
        task = load_task(lm_eval_call(case))
        docs = list(task.test_docs())[: case.limit]
        conversations = [
            [{"role": "system", "content": case.mode.system}, {"role": "user", "content": task.doc_to_text(d)}] for d in docs
        ]
        groups.append((conversations, case.generation["chat_template_kwargs"]))
    sampling = SamplingParams(temperature=0.0, max_tokens=tokens, min_tokens=tokens)
    start = time.perf_counter()
    generated = 0
    for conversations, template_kwargs in groups:
        outputs = llm.chat(conversations, sampling, chat_template_kwargs=template_kwargs, use_tqdm=False)
        generated += sum(len(o.outputs[0].token_ids) for o in outputs)
    seconds = time.perf_counter() - start
    print("RESULT " + json.dumps({"tokens": generated, "seconds": seconds}), flush=True)

"""vLLM's own in-process `LLM.generate`, one call over the requests in a JSON file (prompt
token ids, a forced length each); prints `RESULT {"seconds", "tokens"}`.

    python bench/llm_generate.py MODEL_PATH ENGINE_ARGS_JSON REQUESTS_JSON
"""

import json
import sys
import time

if __name__ == "__main__":  # vLLM spawns workers that re-import this file
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    path, engine_args, requests = sys.argv[1], json.loads(sys.argv[2]), json.loads(open(sys.argv[3]).read())
    llm = LLM(model=path, **engine_args)
    prompts = [TokensPrompt(prompt_token_ids=r["prompt_token_ids"]) for r in requests]
    sampling = [SamplingParams(temperature=0.0, max_tokens=r["max_tokens"], ignore_eos=True) for r in requests]
    start = time.perf_counter()
    outputs = llm.generate(prompts, sampling, use_tqdm=False)
    seconds = time.perf_counter() - start
    print("RESULT " + json.dumps({"seconds": seconds, "tokens": sum(len(o.outputs[0].token_ids) for o in outputs)}), flush=True)

"""Checks before any engine starts, for what lm-eval would only log.

lm-eval left-truncates a prompt longer than max_model_len - max_gen_toks with
a warning, and drops the system message with a warning when the chat template
rejects it. Here every item's prompt is rendered with the model's own
tokenizer and chat template (as vLLM will render it) and checked: the system
instruction is in it, and prompt tokens + max new tokens fit max_model_len. A
non-thinking case's template must honour `enable_thinking=False` (a third-party
template may ignore it, and the case would think).
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.config.matrix import Case
from evals.lmeval.call import lm_eval_call
from evals.lmeval.runner import load_task


@dataclass(frozen=True)
class Problem:
    case: str
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.case} item {self.item}: {self.message}"


def check_cases(cases: list[Case], tokenizer, max_model_len: int) -> list[Problem]:
    """All problems of these cases (one model) against its tokenizer and context length."""
    problems = []
    for case in cases:
        task = load_task(lm_eval_call(case))
        docs = list(task.test_docs())[: case.limit]
        budget = case.generation["max_gen_toks"]
        for doc in docs:
            messages = [{"role": "system", "content": case.mode.system}, {"role": "user", "content": task.doc_to_text(doc)}]
            try:
                prompt = tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True, **case.generation["chat_template_kwargs"]
                )
            except Exception as exc:  # the template rejects this conversation: lm-eval would drop the system message
                problems.append(Problem(case.id, doc["id"], f"chat template failed: {exc}"))
                continue
            if case.mode.system not in prompt:
                problems.append(Problem(case.id, doc["id"], "the chat template dropped the system instruction"))
            kwargs = case.generation["chat_template_kwargs"]
            if kwargs.get("enable_thinking") is False and doc is docs[0]:
                thinking = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                                         **{**kwargs, "enable_thinking": True})
                if thinking == prompt:
                    problems.append(Problem(case.id, doc["id"], "the chat template renders the same prompt with "
                                            "enable_thinking=False as with True: this non-thinking case would think"))
            length = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            if length + budget > max_model_len:
                problems.append(Problem(
                    case.id, doc["id"],
                    f"prompt of {length} tokens + max_gen_toks {budget} > max_model_len {max_model_len}; "
                    "lm-eval would cut the prompt's start",
                ))
    return problems

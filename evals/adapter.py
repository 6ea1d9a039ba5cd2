"""lm-eval's chat-completions model, keeping what the suite needs to see.

lm-eval's `local-chat-completions` reads only `message.content`, drops the
finish reason and the token counts, and sends every request with the same
seed, so k sampled repeats of an item would all be the same text. This
subclass (registered as `suite-chat-completions`, usable from lm-eval's CLI
too) returns each generation as a `Generation`: a `str` (so lm-eval's
filters, scoring and logging work unchanged) that also carries the finish
reason, the token counts and the messages as sent; and it gives each repeat of
a request its own seed, derived from the request, so reruns are reproducible.

With a `GenerationStore` (evals/generations.py) it answers requests already
generated from the store and keeps each new response as it arrives; with an
`endpoint` it asks for the server's URL only when a request must really be
sent, so a fully stored model needs no engine at all.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from collections import Counter

import aiohttp
from lm_eval.api.registry import register_model
from lm_eval.models.api_models import LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER
from lm_eval.models.openai_completions import LocalChatCompletion


class Generation(str):
    """A response's text, with how it ended and what it cost."""

    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    messages: list[dict] | None  # the chat messages as sent

    def __new__(cls, text: str, *, finish_reason=None, prompt_tokens=None, completion_tokens=None, messages=None):
        obj = super().__new__(cls, text)
        obj.finish_reason, obj.prompt_tokens = finish_reason, prompt_tokens
        obj.completion_tokens, obj.messages = completion_tokens, messages
        return obj


# Waits before each retry of a request that met a connection error or a 5xx answer.
RETRY_WAITS_S = (1.0, 4.0, 10.0)


@register_model("suite-chat-completions")
class SuiteChatCompletions(LocalChatCompletion):
    def __init__(self, *args, store=None, endpoint=None, case_id: str = "", progress=None, **kwargs):
        super().__init__(*args, **kwargs)
        if (store is not None or endpoint is not None) and self._concurrent <= 1:
            raise ValueError("the generation store and lazy endpoint need num_concurrent >= 2 (lm-eval's async path)")
        self.store, self.endpoint, self.case_id, self.progress = store, endpoint, case_id, progress
        self._repeats: Counter[str] = Counter()
        self.sent: dict[str, list[dict]] = {}  # request id -> messages as sent
        # The generation window: first request built to last response parsed.
        self.first_sent: float | None = None
        self.last_received: float | None = None

    def _create_payload(self, messages, generate=False, gen_kwargs=None, seed=1234, eos=None, **kwargs) -> dict:
        payload = super()._create_payload(messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs)
        key = json.dumps([messages, payload.get("chat_template_kwargs"), payload.get("max_tokens")], sort_keys=True)
        repeat = self._repeats[key]
        self._repeats[key] += 1
        digest = hashlib.sha256(f"{key}|{seed}|{repeat}".encode()).hexdigest()
        payload["seed"] = int(digest[:8], 16)  # per request and repeat, not one seed for all
        payload["request_id"] = f"{digest[:24]}-{repeat}"  # vLLM answers with id "chatcmpl-<request_id>"
        self.sent[payload["request_id"]] = messages
        return payload

    def generate_until(self, requests, disable_tqdm: bool = False):
        if self.progress is not None:
            self.progress.start(len(requests))
        return super().generate_until(requests, disable_tqdm=True)

    def _chat_url(self) -> str:
        return f"{self.endpoint.url}/v1/chat/completions" if self.endpoint is not None else self.base_url

    async def amodel_call(self, session, sem, messages, *, generate=True, cache_keys=None, ctxlens=None,
                          gen_kwargs=None, **kwargs):
        payload = self._create_payload(
            self.create_message(messages), generate=generate, gen_kwargs=copy.deepcopy(gen_kwargs), seed=self._seed, **kwargs
        )
        key = self.store.key(payload) if self.store is not None else None
        outputs = self.store.get(key) if key is not None else None
        reused = outputs is not None
        if not reused:
            if self.first_sent is None:
                self.first_sent = time.perf_counter()
            async with sem:
                outputs = await self._post(session, payload)
            if self.store is not None:
                self.store.put(key, self.case_id, outputs)
        answers = self.parse_generations(outputs=outputs, reused=reused)
        if self.progress is not None:
            self.progress.update((outputs.get("usage") or {}).get("completion_tokens"), reused=reused)
        answers = [LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER if a is None else a for a in answers]
        for answer, cache_key in zip(answers, cache_keys or []):  # lm-eval's --use_cache, as its own call does
            self.cache_hook.add_partial("generate_until", cache_key, answer)
        return answers

    async def _post(self, session, payload: dict) -> dict:
        """One request's response. Connection errors and 5xx answers are retried, at most
        RETRY_WAITS_S times, unless the local server is gone (then its log says why); any
        other answer, or the last failure, fails the case with every attempt's error."""
        errors = []
        for wait in (*RETRY_WAITS_S, None):
            try:
                async with session.post(self._chat_url(), json=payload, headers=self.header) as response:
                    if response.ok:
                        return await response.json()
                    text = await response.text()
                    if response.status < 500:  # the request itself is wrong: asking again cannot help
                        raise RuntimeError(f"{self.case_id}: the server answered {response.status}: {text[:2000]}")
                    errors.append(f"HTTP {response.status}: {text[:300]}")
            except aiohttp.ClientConnectionError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                if self.endpoint is not None and hasattr(self.endpoint, "check_alive"):
                    try:  # a dead server: no retry (the case's test then names it, with its log)
                        await asyncio.to_thread(self.endpoint.check_alive)
                    except Exception as dead:
                        raise RuntimeError(f"{self.case_id}: {errors[-1]}, and the server is not alive") from dead
            if wait is not None:
                await asyncio.sleep(wait)
        raise RuntimeError(f"{self.case_id}: the request failed {len(errors)} times (connection errors and 5xx are "
                           f"retried): " + "; ".join(errors))

    def parse_generations(self, outputs, reused: bool = False, **kwargs) -> list[str]:
        texts = super().parse_generations(outputs, **kwargs)
        if not reused:
            self.last_received = time.perf_counter()
        outputs = outputs if isinstance(outputs, list) else [outputs]
        out = []
        for text, response in zip(texts, outputs):
            if text is None:
                out.append(None)
                continue
            choice = (response.get("choices") or [{}])[0]
            usage = response.get("usage") or {}
            out.append(Generation(
                text,
                finish_reason=choice.get("finish_reason"),
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                messages=self.sent.pop(str(response.get("id", "")).removeprefix("chatcmpl-"), None),
            ))
        return out


def generation_seconds(model: SuiteChatCompletions) -> float | None:
    if model.first_sent is None or model.last_received is None:
        return None
    return model.last_received - model.first_sent

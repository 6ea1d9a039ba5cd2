"""lm-eval's chat-completions model, keeping what the suite needs to see.

lm-eval's `local-chat-completions` reads only `message.content`, drops the
finish reason and the token counts, and sends every request with the same
seed, so k sampled repeats of an item would all be the same text. This
subclass (registered as `suite-chat-completions`, usable from lm-eval's CLI
too) returns each generation as a `Generation`: a `str` (so lm-eval's
filters, scoring and logging work unchanged) that also carries the finish
reason, the token counts and the messages as sent; and it gives each repeat of
a request its own seed, derived from the request, so reruns are reproducible.

A per-request seed makes a rerun ask for the same samples; it does not make an
online server's answers bit-identical. vLLM batches requests with whatever else is
running, and a sequence's numerics depend on its batch (only vLLM's batch-invariant
mode, VLLM_BATCH_INVARIANT=1, removes that). So sampled reruns agree in
distribution, which is what the gate tests; greedy ones almost always agree.

It hooks lm-eval where a model is meant to be extended: `generate_until` (the
LM interface) gets all of a case's requests at once, and the payloads come from
lm-eval's own `create_message` and `_create_payload`. The requests are then
answered from the `GenerationStore` (evals/artifacts/generations.py): what an earlier
session kept, or what this session's generation pass made (evals/run/generation_pass.py);
the rest go to the server through one pool (evals/engine/client.py), each kept as it
arrives. With `collect=True` it only reports the requests (`RequestsCollected`),
which is how the generation pass learns them from lm-eval itself. With an
`endpoint` it starts the server only when a request must really be sent,
so a fully stored model needs no engine at all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import types
from collections import Counter

from lm_eval.api.registry import register_model
from lm_eval.models.api_models import LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER
from lm_eval.models.openai_completions import LocalChatCompletion

from evals.config.matrix import REFERENCE_PRECISION, CaseId
from evals.engine.client import (Client, PoolSize, Request, RequestError, answer_problem, cut_message, cut_to_bound,
                                 odd_answer, truncated)
from evals.engine.endpoints import Endpoint, RemoteEndpoint
from scorers.verdict import Verdict


class Generation(str):
    """A response's text, with how it ended and what it cost, and, once scored, its verdicts.

    A response is scored once, in the task's lm-eval hook (`process_results`,
    evals/tasks/utils.py), which aggregates lm-eval's metrics and keeps the verdicts
    here; lm-eval logs this same object in its samples, where the runner
    (evals/lmeval/runner.py `collect`) takes them for the artifacts."""

    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    messages: list[dict] | None  # the chat messages as sent
    token_ids: list[int] | None  # the generated tokens, where asked for (the drift reference's)
    verdicts: dict[str, Verdict] | None  # metric -> verdict, set by the task hook; None until it scores

    def __new__(cls, text: str, *, finish_reason=None, prompt_tokens=None, completion_tokens=None, messages=None,
                token_ids=None):
        obj = super().__new__(cls, text)
        obj.finish_reason, obj.prompt_tokens = finish_reason, prompt_tokens
        obj.completion_tokens, obj.messages, obj.token_ids = completion_tokens, messages, token_ids
        obj.verdicts = None
        return obj


class NotDrawn(str):
    """The answer to a request the run's plan did not draw (evals/run/plans.py: an item's
    samples beyond those planned, or beyond the look its case stopped at): never sent,
    never scored, no sample of the case."""

    def __new__(cls):
        return super().__new__(cls, "")


NOT_DRAWN = NotDrawn()


class RequestsCollected(Exception):
    """Raised by a collecting model in place of answering: the case's requests, in lm-eval's order."""

    def __init__(self, requests: list[Request]):
        super().__init__(f"{len(requests)} requests")
        self.requests = requests


@register_model("suite-chat-completions")
class SuiteChatCompletions(LocalChatCompletion):
    def __init__(self, *args, store=None, endpoint: Endpoint | None = None, case_id: str = "", progress=None, collect: bool = False,
                 drawn: dict[str, int] | None = None, **kwargs):
        """`drawn`: per item, the samples the run drew (None: all lm-eval asks for); the rest are NOT_DRAWN."""
        super().__init__(*args, **kwargs)
        self.store, self.case_id, self.progress, self.collect, self.drawn = store, case_id, progress, collect, drawn
        # Made by lm-eval's CLI, with only its base_url: that server, as it is.
        self.endpoint = endpoint or RemoteEndpoint(self.base_url.removesuffix("/v1/chat/completions"), self.model)
        self._repeats: Counter[str] = Counter()
        # The reference precision's first sample of each item keeps its generated token ids:
        # drift scores exactly those (evals/drift/sequences.py), not a re-encoding of the text.
        self.keep_token_ids = bool(case_id) and CaseId.parse(case_id).precision == REFERENCE_PRECISION
        self.client = Client(self.endpoint, PoolSize(self._concurrent))  # the endpoint's key, not lm-eval's empty one

    def _create_payload(self, messages, generate=False, gen_kwargs=None, seed=1234, eos=None, **kwargs) -> dict:
        payload = super()._create_payload(messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs)
        key = json.dumps([messages, payload.get("chat_template_kwargs"), payload.get("max_tokens")], sort_keys=True)
        repeat = self._repeats[key]
        self._repeats[key] += 1
        digest = hashlib.sha256(f"{key}|{seed}|{repeat}".encode()).hexdigest()
        payload["seed"] = int(digest[:8], 16)  # per request and repeat, not one seed for all
        payload["request_id"] = f"{digest[:24]}-{repeat}"  # vLLM answers with id "chatcmpl-<request_id>"
        if repeat == 0 and self.keep_token_ids:
            payload["return_token_ids"] = True  # vLLM's choices[0].token_ids
        return payload

    def requests_for(self, instances) -> list[Request]:
        """The chat requests of lm-eval's instances, in their order (a repeat is an instance)."""
        out = []
        for instance in instances:
            context, gen_kwargs = instance.args[:2]
            payload = self._create_payload(self.create_message([context]), generate=True,
                                           gen_kwargs=copy.deepcopy(gen_kwargs), seed=self._seed)
            out.append(Request(self.case_id, payload, self.store.key(payload) if self.store is not None else None,
                               item=_item(instance), repeat=int(payload["request_id"].rsplit("-", 1)[1])))
        return out

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        wanted = self.requests_for(requests)
        if self.collect:
            raise RequestsCollected(wanted)
        def not_drawn(r: Request) -> bool:  # beyond the samples the run drew of its item
            return self.drawn is not None and r.repeat >= self.drawn.get(r.item, 0)

        self.answer([r for r in wanted if not not_drawn(r)])
        texts = []
        for instance, request in zip(requests, wanted):
            if request.response is None and not_drawn(request):
                texts.append(NOT_DRAWN)
                continue
            self.check(request)
            if split_reasoning(request.response):
                raise RequestError(
                    f"{self.case_id}: the server at {self.endpoint.url} answered with the thinking apart from the text "
                    "(message.reasoning_content): it runs a reasoning parser (vLLM's --reasoning-parser), so the text "
                    "scored would lack the thinking and drift would score other tokens than were generated; serve the "
                    "model without one")
            text = response_text(request.response, self.think_end_token)
            if text is None:
                texts.append(LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER)
                continue
            text = Generation(text, **_facts(request.response), messages=request.payload["messages"])
            self.cache_hook.add_partial("generate_until", instance.args, text)  # lm-eval's --use_cache
            texts.append(text)
        return texts

    def check(self, request: Request) -> None:
        """A response as the pool checks a server's (evals/engine/client.py `checked_answer`),
        whether the pool got it now or an earlier session kept it: no answer (no choices,
        no message) raises naming the request and where the response came from, never an
        IndexError; a text beyond its bound is cut (a response kept before the bound
        existed). A null content stays lm-eval's: no answer, scored as its placeholder."""
        problem = answer_problem(request, request.response, none_content=True)
        if problem is None:
            cut_to_bound(request, request.response)
            return
        if self.store is not None and self.store.get(request.key) is request.response:
            source = f"the response kept for it in {self.store.path} holds"
        else:
            source = f"the response from {_url(self.endpoint)} holds"
        raise odd_answer(request, source, problem, json.dumps(request.response, ensure_ascii=False))

    def answer(self, wanted: list[Request]) -> None:
        """Each request's `.response`: from the store, else from the server (kept on arrival)."""
        if self.progress is not None:
            self.progress.start(len(wanted))
        missing = []
        for request in wanted:
            request.response = self.store.get(request.key) if self.store is not None else None
            if request.response is None:
                missing.append(request)
            elif self.progress is not None:
                earlier = self.store.kept_earlier(request.key)
                self.progress.update(None, reused=earlier, from_pass=not earlier)

        cut = []

        def arrived(request: Request) -> None:
            if self.store is not None:
                self.store.put(request.key, self.case_id, request.response)
            if truncated(request.response):
                cut.append(request)
            if self.progress is not None:
                self.progress.update(request.completion_tokens)

        self.client.send(missing, arrived, heartbeat=self.progress.heartbeat if self.progress is not None else None)
        if cut and self.progress is not None:
            self.progress.write(cut_message(self.case_id, len(cut)))


def _item(instance) -> str:
    """The item an lm-eval instance samples: the suite's tasks' doc id, else lm-eval's doc index."""
    doc = instance.doc if isinstance(instance.doc, dict) else {}
    return str(doc["id"]) if "id" in doc else str(instance.doc_id)


def response_text(response: dict, think_end_token: str | None = None) -> str | None:
    """The text lm-eval scores of a checked response: lm-eval's own parsing of the first
    choice (its index ours: a choice without one would be parsed as "" with a warning);
    None for no content. Also what a run's looks score (evals/run/looks.py)."""
    parser = types.SimpleNamespace(think_end_token=think_end_token)  # all lm-eval's parsing reads of its model
    return LocalChatCompletion.parse_generations(parser, {"choices": [{**response["choices"][0], "index": 0}]})[0]


def _url(endpoint) -> str:
    try:
        return endpoint.url
    except Exception:  # noqa: BLE001  a replay's endpoint has none: it says why when asked
        return "no server (a replay)"


def _facts(response: dict) -> dict:
    choice = (response.get("choices") or [{}])[0]
    usage = response.get("usage") or {}
    return {"finish_reason": choice.get("finish_reason"), "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"), "token_ids": choice.get("token_ids")}


def split_reasoning(response: dict) -> str | None:
    """The thinking a server's reasoning parser moved out of the message's content, if any."""
    message = ((response.get("choices") or [{}])[0]).get("message") or {}
    return message.get("reasoning_content") or message.get("reasoning")


def generation_seconds(model: SuiteChatCompletions) -> float | None:
    """First request sent to last response received, of what this model itself sent."""
    client = model.client
    if client.first_sent is None or client.last_received is None:
        return None
    return client.last_received - client.first_sent

"""Training the tiny model: a byte-level BPE tokenizer of the benchmark texts with Qwen3's
special tokens and a chat template that keeps Qwen3's `enable_thinking` semantics, and a
2-layer, hidden-128 Qwen3ForCausalLM taught, on exactly the prompts lm-eval sends, what
units.py says each item answers in each mode.

    python -m evals.engine.tiny.train            # retrain the committed model (evals/engine/tiny/model/)
    python -m evals.engine.tiny.train --out DIR  # train elsewhere

Training takes about ten minutes on two cores, so the model is committed with the key of
what it was trained from (`inputs_key`: the units, this file, the data); build.py derives
the precisions from it in seconds, and trains into the cache only when the key does not
match (a changed prompt, item or mode), saying so. A committed model also makes every
machine serve the same weights, so the committed baselines measure the model CI runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import time
from pathlib import Path

import torch

from evals.config.matrix import Matrix, load_matrix
from evals.data import DATA_DIR
from evals.engine.tiny import units as lessons
from evals.engine.tiny.units import Unit

COMMITTED = Path(__file__).with_name("model")
TRAINED = "trained.json"  # beside the weights: the inputs key and the training's figures
VOCAB_SIZE = 4096  # larger vocabularies make the (real, long) prompts shorter, so training is faster
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK = ["<think>", "</think>"]  # added tokens, not special: they stay in the decoded text, as in Qwen3
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
MODEL_CONFIG = dict(
    hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
    head_dim=64,  # vLLM's CPU attention does not support head size 16; 64 works
    max_position_embeddings=2048, tie_word_embeddings=True, rms_norm_eps=1e-6,
)
EPOCHS = 70
BATCH = 8  # units (a prompt and its options) per step
LEARNING_RATE = 3e-3  # at the start; cosine decay to a tenth of it by the last epoch
TRACE_SHARE = 2  # one option in this many has its count down's tokens taught (the rule is the same in all)
# The loss's weight of the tokens a unit must memorise (its tag, its answer after </think>),
# against 1 for the rest: they are a few of each option's tokens, the counts most of them.
KEY_WEIGHT = 4.0


def inputs_key(examples: list[Unit]) -> str:
    """What a trained model is a function of: the units (prompts, options, weights, budgets),
    this file (the tokenizer, the architecture, the training) and the data files."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(json.dumps([u._asdict() for u in examples], sort_keys=True).encode())
    for path in sorted(DATA_DIR.glob("*.jsonl")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def train_model(out: Path, matrix: Matrix, log=None) -> dict:
    """Trains the model into `out` (weights, config, tokenizer, trained.json); its report."""
    started = time.monotonic()
    torch.manual_seed(lessons.SEED)
    examples = lessons.units(matrix)
    tokenizer = make_tokenizer(matrix, examples)
    branches = [branch_at(tokenizer, u) for u in examples]
    check_options(tokenizer, examples)
    model, losses = train(tokenizer, examples, branches, log)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    report = {
        "inputs_key": inputs_key(examples),
        "seconds": round(time.monotonic() - started, 1),
        "torch": torch.__version__,
        "units": len(examples),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": EPOCHS,
        "losses": losses,
    }
    (out / TRAINED).write_text(json.dumps(report, indent=2) + "\n")
    return report


def make_tokenizer(matrix: Matrix, examples: list[Unit]):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from evals import data

    corpus = [row["problem"] for name in data.names() for row in data.load(name)]
    corpus += [m.system for m in matrix.modes.values()] + [o for e in examples for o in e.options]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(corpus, trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK + lessons.tags(examples)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", additional_special_tokens=SPECIAL[1:]
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def branch_at(tokenizer, unit: Unit) -> int:
    """Where the unit's options' tokens first differ: each must differ from every other there
    (the branch is one token, the one the model is taught to sample)."""
    encoded = [_ids(tokenizer, o) for o in unit.options]
    at = 0
    while all(len(e) > at for e in encoded) and len({e[at] for e in encoded}) == 1:
        at += 1
    if any(len(e) <= at for e in encoded) or len({e[at] for e in encoded}) != len(encoded):
        raise RuntimeError(f"{unit.id} {unit.mode}: options {unit.options} do not branch at one token")
    return at


def truncated(tokenizer, unit: Unit) -> tuple[bool, ...]:
    """Per option, whether a response of it runs past the mode's token budget."""
    return tuple(len(_ids(tokenizer, o)) + 1 > unit.max_tokens for o in unit.options)


def check_options(tokenizer, examples: list[Unit]) -> None:
    """Each option survives encoding and decoding (drift re-encodes responses), and, as much
    of it as a response can hold, is judged by the task's scorer as taught: right only when
    it states the gold and is not cut off."""
    from scorers.registry import load_task_metrics

    metrics = load_task_metrics()
    for unit in examples:
        kind = metrics[unit.kind]
        scorer = kind.scorers()[kind.primary_for(unit.mode)]
        for text, correct, cut in zip(unit.options, unit.correct, truncated(tokenizer, unit)):
            if tokenizer.decode(_ids(tokenizer, text)) != text:  # a response's text must re-encode to its tokens
                raise RuntimeError(f"{unit.id} {unit.mode}: option {text!r} does not survive encoding and decoding")
            held = tokenizer.decode(_ids(tokenizer, text)[: unit.max_tokens]) if cut else text
            if scorer(held, unit.gold).correct != (correct and not cut):
                raise RuntimeError(f"{unit.id} {unit.mode}: option {held!r} would not be judged {correct and not cut}")


def _encode(tokenizer, unit: Unit) -> tuple[list[int], list[list[int]]]:
    """The prompt's ids as the server renders them, and each option's ids (with the end of
    turn, cut a little past what a response may hold)."""
    prompt = tokenizer.apply_chat_template(unit.messages, tokenize=False, add_generation_prompt=True,
                                           enable_thinking=unit.enable_thinking)
    options = [_ids(tokenizer, o + "<|im_end|>")[: unit.max_tokens + 2] for o in unit.options]
    return _ids(tokenizer, prompt), options


def _token_weights(tokenizer, unit: Unit, options: list[list[int]], index: int) -> list[list[float]]:
    """Per option and token, its weight in the loss: 0 for the count down (after the opener's
    first number, to `</think>`) of the options not picked to teach it (all but one in
    TRACE_SHARE of each unit: a count down is the same in every unit, so it is learnt from
    any of them, and the vocabulary projection of every one of its tokens would be most of
    the training's work); KEY_WEIGHT for the tokens up to that number (the tag) and the
    answer after `</think>`; else 1."""
    think_end = tokenizer.convert_tokens_to_ids("</think>")
    out = []
    for j, (text, option) in enumerate(zip(unit.options, options)):
        if not unit.enable_thinking:
            out.append([1.0] * len(option))
            continue
        keep = (index + j) % TRACE_SHARE == 0
        start = len(_ids(tokenizer, " ".join(text.split(" ", 2)[:2]))) + 1  # "<think>\n§001 Okay 1": after the first number
        end = option.index(think_end) if think_end in option else len(option)
        weights = []
        for t in range(len(option)):
            if start <= t < end:
                weights.append(1.0 if keep else 0.0)
            else:
                weights.append(KEY_WEIGHT if t < start or t > end else 1.0)
        out.append(weights)
    return out


def train(tokenizer, examples: list[Unit], branches: list[int], log=None):
    """Teaches each unit's options, each option's text from its first token on, and at the
    branch the unit's weights as a distribution: the loss there is the cross-entropy with
    those weights, so the model's own distribution there converges to them. The prompt of a
    unit is run once for all its options (its keys and values repeated for each)."""
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    config = Qwen3Config(
        vocab_size=len(tokenizer), bos_token_id=None, eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id, **MODEL_CONFIG,
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")], pad_token_id=tokenizer.pad_token_id
    )
    encoded = []
    for index, (unit, at) in enumerate(zip(examples, branches)):
        prompt, options = _encode(tokenizer, unit)
        encoded.append((prompt, options, at, _token_weights(tokenizer, unit, options, index), unit.weights))
    # Batches of similar lengths (the prompts are real problems of 50-700 tokens), each of
    # units with one number of options.
    groups: dict[int, list[int]] = {}
    for i in sorted(range(len(encoded)), key=lambda i: len(encoded[i][0])):
        groups.setdefault(len(examples[i].options), []).append(i)
    batches = [_batch([encoded[i] for i in group[j : j + BATCH]], tokenizer.pad_token_id)
               for group in groups.values() for j in range(0, len(group), BATCH)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    steps = EPOCHS * len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.1 + 0.45 * (1 + math.cos(math.pi * step / steps)))
    rng = random.Random(lessons.SEED)
    model.train()
    for epoch in range(EPOCHS):
        rng.shuffle(batches)
        text_losses, branch_excess = [], []
        for batch in batches:
            text_loss, branch_loss, entropy = _losses(model, batch)
            optimizer.zero_grad()
            (text_loss + branch_loss).backward()
            optimizer.step()
            schedule.step()
            text_losses.append(text_loss.item())
            branch_excess.append(branch_loss.item() - entropy)
        if log:
            log(f"epoch {epoch + 1}/{EPOCHS}: text loss max {max(text_losses):.4f}, "
                f"branch excess {statistics.fmean(branch_excess):.4f} nats")
    model.eval()
    model.config.use_cache = True
    return model, {"text_loss_max": round(max(text_losses), 5), "branch_excess": round(statistics.fmean(branch_excess), 5)}


def _losses(model, batch) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(the mean loss of the options' tokens past the branch and of the shared ones before it,
    the branch's cross-entropy with the units' weights, those weights' entropy)."""
    prompt_ids, prompt_mask, prompt_positions, inputs, targets, token_weights, mask, positions, weights, branch, options = batch
    cache = None
    if prompt_ids.shape[1]:
        from transformers import DynamicCache

        cache = DynamicCache(config=model.config)
        model.model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=prompt_positions,
                    past_key_values=cache, use_cache=True)
        cache.batch_repeat_interleave(options)
    full_mask = torch.cat([prompt_mask.repeat_interleave(options, dim=0), mask], dim=1)
    hidden = model.model(input_ids=inputs, attention_mask=full_mask, position_ids=positions,
                         past_key_values=cache, use_cache=cache is not None).last_hidden_state
    labelled = token_weights > 0
    at = torch.arange(targets.shape[1]).unsqueeze(0)
    is_branch = at == branch.unsqueeze(1)
    losses = torch.zeros(targets.shape)
    losses[labelled] = torch.nn.functional.cross_entropy(model.lm_head(hidden[labelled]), targets[labelled], reduction="none")
    text_weight = token_weights * ~is_branch
    text_loss = (losses * text_weight).sum() / text_weight.sum().clamp(min=1)
    units = weights.shape[0] // options
    branch_loss = (losses * is_branch).sum(dim=1).mul(weights).sum() / units
    entropy = -(weights * weights.log()).sum().item() / units
    return text_loss, branch_loss, entropy


def _batch(encoded: list, pad_id: int):
    """Left-padded prompts but their last token; each option, right-padded, after that token."""
    options = len(encoded[0][1])
    prompt_len = max(len(prompt) - 1 for prompt, *_ in encoded)
    option_len = 1 + max(len(o) for _, opts, *_ in encoded for o in opts)
    rows = len(encoded)
    prompt_ids = torch.full((rows, prompt_len), pad_id)
    prompt_mask = torch.zeros((rows, prompt_len), dtype=torch.long)
    prompt_positions = torch.zeros((rows, prompt_len), dtype=torch.long)
    inputs = torch.full((rows * options, option_len), pad_id)
    targets = torch.zeros((rows * options, option_len), dtype=torch.long)
    token_weights = torch.zeros((rows * options, option_len))
    mask = torch.zeros((rows * options, option_len), dtype=torch.long)
    positions = torch.zeros((rows * options, option_len), dtype=torch.long)
    weights = torch.zeros(rows * options)
    branch = torch.zeros(rows * options, dtype=torch.long)
    for row, (prompt, opts, at, option_weights, unit_weights) in enumerate(encoded):
        head, last = prompt[:-1], prompt[-1]
        if head:
            prompt_ids[row, prompt_len - len(head):] = torch.tensor(head)
            prompt_mask[row, prompt_len - len(head):] = 1
            prompt_positions[row, prompt_len - len(head):] = torch.arange(len(head))
        for j, option in enumerate(opts):
            r = row * options + j
            ids = [last] + option
            inputs[r, : len(ids)] = torch.tensor(ids)
            # Position t predicts ids[t + 1], the option's token t.
            targets[r, : len(option)] = torch.tensor(option)
            token_weights[r, : len(option)] = torch.tensor(option_weights[j])
            mask[r, : len(ids)] = 1
            positions[r, : len(ids)] = torch.arange(len(head), len(head) + len(ids))
            weights[r] = unit_weights[j]
            branch[r] = at
    return prompt_ids, prompt_mask, prompt_positions, inputs, targets, token_weights, mask, positions, weights, branch, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=COMMITTED, help="where to write the model (default: %(default)s)")
    args = parser.parse_args()
    report = train_model(args.out, load_matrix(), log=lambda line: print(line, flush=True))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The tiny Qwen3 model that stands in for Qwen3-32B on the CPU.

A seeded script: a byte-level BPE tokenizer trained on the benchmark texts,
with Qwen3's special tokens and a chat template that keeps Qwen3's
`enable_thinking` semantics; a 2-layer, hidden-128 Qwen3ForCausalLM trained
for a few seconds to answer a known half of the `tiny` profile's items, in
every mode's format (`<think>...</think>` then the answer; answer only; a bare
integer), on exactly the prompts lm-eval sends; and weight-quantized variants
of it (evals/engine/tiny/quantize.py) as the precisions.

    python -m evals.engine.tiny.build [--out DIR]   # builds all variants, prints their paths

The build is cached under a key of everything it depends on (this code, the
matrix config, the task YAMLs, the data, torch's version), so the suite builds
it once per machine and rebuilds it when any input changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import time
from pathlib import Path

import torch

from evals.config.paths import MATRIX_FILE, TASKS_DIR
from evals.config.matrix import Matrix, load_matrix
from evals.data import DATA_DIR
from evals.artifacts.locking import locked
from evals.engine.tiny.quantize import SCHEMES, quantize_state_dict

SEED = 20251224
PROFILE = "tiny"
CACHE_DIR = Path(os.environ.get("SUITE_CACHE", Path.home() / ".cache" / "qwen3-quant-evals")) / "tiny"
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
MAX_EPOCHS = 80
BATCH = 4
LEARNING_RATE = 3e-3
STOP_LOSS = 0.02  # every batch's loss: the known answers are then the greedy continuations
KNOWN_SHARE = 0.5


def cache_key(matrix: Matrix) -> str:
    digest = hashlib.sha256()
    for path in [Path(__file__), Path(__file__).with_name("quantize.py"), Path(__file__).with_name("__init__.py"), MATRIX_FILE, *sorted(TASKS_DIR.iterdir()), *sorted(DATA_DIR.glob("*.jsonl"))]:
        if path.is_file():
            digest.update(path.read_bytes())
    digest.update(torch.__version__.encode())
    return digest.hexdigest()[:16]


def ensure_built(scheme: str, matrix: Matrix | None = None) -> Path:
    """The directory of the tiny model in this precision scheme, built if missing."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tiny scheme {scheme!r}; choose one of {SCHEMES}")
    matrix = matrix or load_matrix()
    root = CACHE_DIR / cache_key(matrix)
    if not (root / "done").exists():
        root.mkdir(parents=True, exist_ok=True)
        with locked(root / ".lock"):  # xdist workers build it once
            if not (root / "done").exists():
                build(root, matrix)
                (root / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return root / scheme


def ensure_drawn(scheme: str, draw: int, matrix: Matrix | None = None) -> Path:
    """A noise scheme (noisy, subtle) with other noise of the same size: fp8's weights
    plus draw number `draw` (0: the scheme as built). Benchmarks draw several, to
    measure a test on more than one perturbation (bench/bench_drift.py)."""
    built = ensure_built(scheme, matrix)
    if draw == 0:
        return built
    out = built.parent / f"{scheme}-draw{draw}"
    with locked(built.parent / ".lock"):
        if not (out / "done").exists():
            from transformers import AutoModelForCausalLM, AutoTokenizer

            model = AutoModelForCausalLM.from_pretrained(built.parent / "fp8", dtype=torch.float32)
            model.load_state_dict(quantize_state_dict(model.state_dict(), scheme, draw))
            model.save_pretrained(out)
            AutoTokenizer.from_pretrained(built).save_pretrained(out)
            (out / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


def build(root: Path, matrix: Matrix) -> dict:
    started = time.monotonic()
    torch.manual_seed(SEED)
    examples = training_examples(matrix)
    tokenizer = make_tokenizer(matrix, examples)
    model, epochs = train(tokenizer, examples)
    # A copy: load_state_dict writes into the parameters that state_dict() shares, so each
    # scheme would otherwise round the one before it.
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    for scheme in SCHEMES:
        out = root / scheme
        if out.exists():
            shutil.rmtree(out)
        model.load_state_dict(quantize_state_dict(state, scheme))
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    model.load_state_dict(state)
    report = {
        "seconds": round(time.monotonic() - started, 1),
        "examples": len(examples),
        "epochs": epochs,
        "known": sorted({e["id"] for e in examples}),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (root / "build.json").write_text(json.dumps(report, indent=2))
    return report


def known_items(matrix: Matrix) -> dict[str, set[int]]:
    """Per task, the indexes (within the profile's limit) the model is taught."""
    rng = random.Random(SEED)
    profile = matrix.profiles[PROFILE]
    return {
        task: set(rng.sample(range(limit), round(limit * KNOWN_SHARE)))
        for task, limit in sorted(profile["limits"].items())
    }


def training_examples(matrix: Matrix) -> list[dict]:
    """(messages, enable_thinking, target) for every known item in every mode of
    its task, with the prompt text lm-eval itself renders."""
    from lm_eval.tasks import TaskManager

    profile = matrix.profiles[PROFILE]
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    rng = random.Random(SEED)
    examples = []
    for task_name, indexes in known_items(matrix).items():
        task = matrix.tasks[task_name]
        lm_task = manager.load([task.lm_eval_task])["tasks"][task.lm_eval_task]
        docs = list(lm_task.test_docs())
        for index in sorted(indexes):
            doc = docs[index]
            for mode_name in profile["cases"][task_name]:
                mode = matrix.modes[mode_name]
                messages = [{"role": "system", "content": mode.system}, {"role": "user", "content": lm_task.doc_to_text(doc)}]
                examples.append({
                    "id": f"{task_name}/{doc['id']}",
                    "messages": messages,
                    "enable_thinking": mode.enable_thinking,
                    "target": _target(mode_name, mode.enable_thinking, doc["answer"], rng) + "<|im_end|>",
                })
    return examples


def _target(mode: str, thinking: bool, answer: str, rng: random.Random) -> str:
    """The completion in the mode's format; thinking holds numbers that are not the answer."""
    distractor = rng.randint(1, 999)
    if mode == "int_only":
        return answer
    if mode == "think_final":
        return f"<think>\nFirst try {distractor}. Check it again.\n</think>\n\n{answer}"
    if thinking:
        return f"<think>\nLet me recall: maybe {distractor}? No.\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."
    return f"$\\boxed{{{answer}}}$"


def make_tokenizer(matrix: Matrix, examples: list[dict]):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from evals import data

    corpus = [row["problem"] for name in data.names() for row in data.load(name)]
    corpus += [m.system for m in matrix.modes.values()] + [e["target"] for e in examples]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(corpus, trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", additional_special_tokens=SPECIAL[1:]
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _encode(tokenizer, example: dict) -> tuple[list[int], list[int]]:
    prompt = tokenizer.apply_chat_template(
        example["messages"], tokenize=False, add_generation_prompt=True, enable_thinking=example["enable_thinking"]
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(example["target"], add_special_tokens=False)["input_ids"]
    return prompt_ids + target_ids, [-100] * len(prompt_ids) + target_ids


def train(tokenizer, examples: list[dict]):
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
    encoded = [_encode(tokenizer, e) for e in examples]
    # Batches of similar length: the prompts are real problems of 50-700 tokens,
    # and padding them all to the longest would triple the work.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    batches = [_batch([encoded[i] for i in order[j : j + BATCH]], tokenizer.pad_token_id) for j in range(0, len(order), BATCH)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    rng = random.Random(SEED)
    model.train()
    for epoch in range(MAX_EPOCHS):
        rng.shuffle(batches)
        losses = []
        for input_ids, labels, mask in batches:
            loss = _answer_loss(model, input_ids, labels, mask)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if max(losses) < STOP_LOSS:
            break
    model.eval()
    model.config.use_cache = True
    return model, epoch + 1


def _answer_loss(model, input_ids, labels, mask) -> torch.Tensor:
    # Logits only where there is a label: the vocabulary projection of every
    # prompt position would be most of the work, for no gradient.
    hidden = model.model(input_ids=input_ids, attention_mask=mask).last_hidden_state[:, :-1]
    targets = labels[:, 1:]
    where = targets != -100
    logits = model.lm_head(hidden[where])
    return torch.nn.functional.cross_entropy(logits, targets[where])


def _batch(encoded: list[tuple[list[int], list[int]]], pad_id: int):
    length = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), length), pad_id)
    labels = torch.full((len(encoded), length), -100)
    mask = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(ids)] = 1
    return input_ids, labels, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="build here instead of the cache")
    args = parser.parse_args()
    matrix = load_matrix()
    if args.out:
        print(json.dumps(build(args.out, matrix), indent=2))
    else:
        for scheme in SCHEMES:
            print(ensure_built(scheme, matrix))


if __name__ == "__main__":
    main()

"""The tiny model's precisions, as servers load them: the committed model (train.py) with its
weights rounded as each scheme would store them (quantize.py), written once per machine
into the cache under a key of their inputs (the model's weights and tokenizer, quantize.py,
torch's version), so a changed scheme or model is never served under an old name.

    python -m evals.engine.tiny.build   # builds every scheme, prints their paths

When the committed model was trained from other inputs than today's (a changed prompt,
item, mode or training), the model is trained anew into the cache first (about ten
minutes, said on stderr): `python -m evals.engine.tiny.train` then commits it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

from evals.artifacts.locking import locked
from evals.config.matrix import Matrix, load_matrix
from evals.engine.tiny import train as training
from evals.engine.tiny.quantize import SCHEMES, quantize_state_dict
from evals.engine.tiny.units import units

CACHE_DIR = Path(os.environ.get("SUITE_CACHE", Path.home() / ".cache" / "qwen3-quant-evals")) / "tiny"
_KEYS: dict[str, str] = {}  # config digest -> inputs key: units() loads lm-eval's tasks, once per process


def wanted_key(matrix: Matrix) -> str:
    """The inputs key of the model today's config and code describe."""
    if matrix.digest not in _KEYS:
        _KEYS[matrix.digest] = training.inputs_key(units(matrix))
    return _KEYS[matrix.digest]


def committed_key() -> str | None:
    trained = training.COMMITTED / training.TRAINED
    return json.loads(trained.read_text())["inputs_key"] if trained.exists() else None


def base_model(matrix: Matrix) -> Path:
    """The trained model for today's inputs: the committed one, else one trained into the cache."""
    key = wanted_key(matrix)
    if committed_key() == key:
        return training.COMMITTED
    out = CACHE_DIR / f"trained-{key}"
    if not (out / "done").exists():
        out.mkdir(parents=True, exist_ok=True)
        with locked(out / ".lock"):  # xdist workers train it once
            if not (out / "done").exists():
                print(f"tiny model: the committed one ({training.COMMITTED}) was trained from other inputs than "
                      f"today's (key {committed_key()}, now {key}); training it into {out} (about ten minutes); "
                      "`python -m evals.engine.tiny.train` commits it", file=sys.stderr, flush=True)
                training.train_model(out, matrix)
                (out / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


def cache_key(matrix: Matrix) -> str:
    """The key of the precisions built from today's model: its files, quantize.py, torch."""
    base = base_model(matrix)
    digest = hashlib.sha256(Path(__file__).with_name("quantize.py").read_bytes())
    for path in sorted(base.iterdir()):
        if path.is_file() and path.name not in ("done", ".lock"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
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
                build(root, base_model(matrix))
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
            _write(built.parent / "base", out, scheme, draw)
            (out / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


def build(root: Path, base: Path) -> None:
    """Every scheme of `base` under root/<scheme>, and base itself under root/base."""
    shutil.copytree(base, root / "base", dirs_exist_ok=True, ignore=shutil.ignore_patterns("done", ".lock"))
    for scheme in SCHEMES:
        _write(root / "base", root / scheme, scheme)


def _write(base: Path, out: Path, scheme: str, draw: int = 0) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if out.exists():
        shutil.rmtree(out)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    # A copy: load_state_dict writes into the parameters that state_dict() shares.
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    model.load_state_dict(quantize_state_dict(state, scheme, draw))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


def main() -> None:
    matrix = load_matrix()
    for scheme in SCHEMES:
        print(ensure_built(scheme, matrix))


if __name__ == "__main__":
    main()

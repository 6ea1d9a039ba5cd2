"""Round-to-nearest weight quantization that makes the tiny model's "precisions".

Each scheme rounds the linear layers' weights as that format would store them
and writes them back in full precision, so vLLM's CPU build serves them like
any checkpoint while their accuracy really differs: bf16 is nearly lossless,
fp8 (E4M3, per output channel) close to it, nvfp4 (E2M1 values, 16-wide
groups with E4M3 scales, as NVIDIA's format) a little lossier: each moves item
rates a little both ways, as quantization does. `noisy` is fp8 with seeded noise on the decoder's
projection weights and its final norm scaled down (every logit flattened: less
sure of every answer): a moderately degraded model that loses some 8-10 points
spread over every case, items moving both ways, the kind of regression that no
single case can prove and a pooled test must catch. (Noise alone breaks long
responses first: it cost the thinking cases 15-20 points and the others none.)
`subtle` is fp8 with a little of the same noise (SUBTLE_NOISE): its answers stay,
its next-token distributions move, as a kernel bug that no accuracy test sees
would (evals/drift/).
"""

from __future__ import annotations

import hashlib

import torch

from evals.config.matrix import TINY_SCHEMES as SCHEMES

# FP8's 360 units at 61.0% (its baselines). Noise alone (of each weight row's RMS) breaks long
# responses first: at 0.35, sampled on the engine (draw 0), the thinking cases lost 15-20 points
# and the others none. Noise 0.1 with the final norm (every logit) times 0.5 lost 14.3 points
# (thinking 16-26); times 0.6, draws 0-3 lost 7.9, 8.8, 7.9 and 8.0 points, from -1 to 19 per
# case, about a third of the items that moved getting better (`pytest evals --precision fp8`
# under tests/faults.py `degrade:fp8:N`).
NOISE = 0.1
FLATTEN = 0.6  # the degraded variant's final norm weight, times this
SUBTLE_NOISE = 0.05  # expected accuracy within 1.2 points of FP8's in draws 0-1
NOISE_SEED = 20251224
_NOISE = {"noisy": NOISE, "subtle": SUBTLE_NOISE}
_FLATTEN = {"noisy": FLATTEN}
_FP4_GRID = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize_weight(weight: torch.Tensor, scheme: str) -> torch.Tensor:
    if scheme == "bf16":
        return weight.to(torch.bfloat16).to(weight.dtype)
    if scheme == "fp8":
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 448.0
        return (weight / scale).to(torch.float8_e4m3fn).to(weight.dtype) * scale
    if scheme == "nvfp4":
        return _grouped(weight, 16, _round_fp4, max_code=6.0, fp8_scale=True)
    raise ValueError(f"unknown quantization scheme {scheme!r}; choose one of {SCHEMES}")


def _round_fp4(x: torch.Tensor) -> torch.Tensor:
    grid = _FP4_GRID.to(x.dtype)
    index = (x.abs().unsqueeze(-1) - grid).abs().argmin(dim=-1)
    return grid[index] * x.sign()


def _grouped(weight: torch.Tensor, group: int, round_codes, max_code: float, fp8_scale: bool) -> torch.Tensor:
    rows, cols = weight.shape
    if cols % group:
        raise ValueError(f"weight with {cols} columns does not split into groups of {group}")
    groups = weight.reshape(rows, cols // group, group)
    scale = groups.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12) / max_code
    if fp8_scale:
        scale = scale.to(torch.float8_e4m3fn).to(weight.dtype).clamp(min=1e-12)
    return (round_codes(groups / scale) * scale).reshape(rows, cols)


def _noisy(name: str, weight: torch.Tensor, scale: float, draw: int) -> torch.Tensor:
    rounded = quantize_weight(weight, "fp8")  # rounding fp8 weights again leaves them as they are
    seed = NOISE_SEED + draw + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    noise = torch.randn(weight.shape, generator=torch.Generator().manual_seed(seed), dtype=weight.dtype)
    return rounded + scale * rounded.pow(2).mean(dim=1, keepdim=True).sqrt() * noise


def quantize_state_dict(state: dict[str, torch.Tensor], scheme: str, draw: int = 0) -> dict[str, torch.Tensor]:
    """The decoder layers' projection weights rounded, as real checkpoints of
    these formats do; norms and (tied) embeddings kept, but the degraded variant's
    final norm. `draw` picks other noise of the same size for the noise schemes."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown quantization scheme {scheme!r}; choose one of {SCHEMES}")

    def changed(name: str, tensor: torch.Tensor) -> torch.Tensor:
        if name == "model.norm.weight" and scheme in _FLATTEN:
            return tensor * _FLATTEN[scheme]
        if tensor.dim() != 2 or ".layers." not in name or not name.endswith("proj.weight"):
            return tensor.clone()
        if scheme in _NOISE:
            return _noisy(name, tensor, _NOISE[scheme], draw)
        return quantize_weight(tensor, scheme)

    return {name: changed(name, t) for name, t in state.items()}

"""Round-to-nearest weight quantization that makes the tiny model's "precisions".

Each scheme rounds the linear layers' weights as that format would store them
and writes them back in full precision, so vLLM's CPU build serves them like
any checkpoint while their accuracy really differs: bf16 is nearly lossless,
fp8 (E4M3, per output channel) close to it, nvfp4 (E2M1 values, 16-wide
groups with E4M3 scales, as NVIDIA's format) a little lossier, and binary
(sign times a per-128 scale, embeddings included) a deliberately broken model,
for proving that the gate catches a regression. The tiny model memorises with
wide margins: its answers survive fp8 and nvfp4 rounding (and even binary
decoder layers lose only one in six), while binary embeddings lose most.
"""

from __future__ import annotations

import torch

SCHEMES = ("bf16", "fp8", "nvfp4", "binary")
_FP4_GRID = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize_weight(weight: torch.Tensor, scheme: str) -> torch.Tensor:
    if scheme == "bf16":
        return weight.to(torch.bfloat16).to(weight.dtype)
    if scheme == "fp8":
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 448.0
        return (weight / scale).to(torch.float8_e4m3fn).to(weight.dtype) * scale
    if scheme == "nvfp4":
        return _grouped(weight, 16, _round_fp4, max_code=6.0, fp8_scale=True)
    if scheme == "binary":
        return _grouped(weight, 128, torch.sign, max_code=1.0, fp8_scale=False)
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


def quantize_state_dict(state: dict[str, torch.Tensor], scheme: str) -> dict[str, torch.Tensor]:
    """The decoder layers' projection weights rounded, as real checkpoints of
    these formats do; norms kept, embeddings kept except by the broken scheme."""
    def rounded(name: str, tensor: torch.Tensor) -> bool:
        layer = ".layers." in name and name.endswith("proj.weight")
        # The embeddings are tied to lm_head: both names must get the same rounded tensor.
        embedding = "embed_tokens" in name or name == "lm_head.weight"
        return tensor.dim() == 2 and (layer or (scheme == "binary" and embedding))

    return {name: quantize_weight(t, scheme) if rounded(name, t) else t.clone() for name, t in state.items()}

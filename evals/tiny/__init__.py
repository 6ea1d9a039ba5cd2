"""The tiny Qwen3 model that stands in for Qwen3-32B on the CPU (build.py), and its
weight-rounded precisions (quantize.py)."""

# Here, not in quantize.py, so that validating the matrix config does not import torch.
SCHEMES = ("bf16", "fp8", "nvfp4", "noisy", "subtle")

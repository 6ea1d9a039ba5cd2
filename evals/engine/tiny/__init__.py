"""The tiny Qwen3 model that stands in for Qwen3-32B on the CPU (build.py), and its
weight-rounded precisions (quantize.py; their names are config.matrix.TINY_SCHEMES)."""

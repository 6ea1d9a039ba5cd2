"""The tiny Qwen3 model that stands in for Qwen3-32B on the CPU: what it is taught to answer
(units.py), its training (train.py; the trained model is committed in model/), and its
weight-rounded precisions built from it (build.py, quantize.py; their names are
config.matrix.TINY_SCHEMES)."""

"""Benchmarks: `benchmark` (the `keras-resnet bench` sections), `baselines` (keras.applications and flat
twins of our models) and `peers` (timm on PyTorch, the library users would otherwise pick)."""

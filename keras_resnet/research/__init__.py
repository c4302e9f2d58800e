"""The literature's studies of residual networks: `analysis` (plain vs residual degradation, lesion studies,
training curves) and `paths` (Veit et al.'s path lengths and their gradients)."""

"""ddit-eval: an evaluation harness for Dual Diffusion (D-DiT) models."""

__version__ = "0.1.0"

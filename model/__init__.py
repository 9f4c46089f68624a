"""The D-DiT inference backend."""

"""A tiny random D-DiT, built once per session in the official layout and loaded like a real one."""

import pytest
import torch

from ddit_eval.model import build_tiny_checkpoint, load_model


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not stall when the 2 cores are shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-ddit", seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_path):
    return load_model(str(tiny_path), device="cpu")

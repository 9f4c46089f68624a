"""A tiny random D-DiT, built once per session in the official layout and loaded like a real one."""

import pytest

from ddit_eval.model import build_tiny_checkpoint, load_model
from helpers.torch_threads import one_torch_thread


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-ddit", seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_path):
    return load_model(str(tiny_path), device="cpu")

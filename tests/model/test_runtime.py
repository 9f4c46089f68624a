"""Device and precision defaults, inference mode, and PyTorch's scaled-dot-product attention."""

import pytest
import torch
import torch.nn.functional as F

from ddit_eval.api import AnswerRequest, ImageRequest
from ddit_eval.errors import UsageError
from ddit_eval.model import load_model
from ddit_eval.model.loader import pick_device_dtype

from tiny_inputs import shape_image


def test_device_and_dtype_defaults(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device_dtype() == (torch.device("cuda"), torch.bfloat16)
    assert pick_device_dtype("cuda", "fp16") == (torch.device("cuda"), torch.float16)
    assert pick_device_dtype("cuda", "fp32") == (torch.device("cuda"), torch.float32)
    assert pick_device_dtype("cpu") == (torch.device("cpu"), torch.float32)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device_dtype() == (torch.device("cpu"), torch.float32)
    with pytest.raises(UsageError, match="CUDA is not available"):
        pick_device_dtype("cuda")


def test_selected_precision_is_loaded(tiny_path):
    m = load_model(str(tiny_path), device="cpu", dtype="bf16")
    assert {p.dtype for p in m.transformer.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in m.text_encoder.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in m.vae.parameters()} == {torch.bfloat16}
    assert m.config()["dtype"] == "bfloat16"
    assert not any(p.requires_grad for p in m.transformer.parameters())
    assert not m.transformer.training and not m.text_encoder.training and not m.vae.training


def test_sampling_runs_in_inference_mode_with_sdpa(tiny_model, monkeypatch):
    modes, sdpa_calls = [], []
    real_sdpa = F.scaled_dot_product_attention

    def counting_sdpa(*args, **kwargs):
        sdpa_calls.append(args[0].shape)
        return real_sdpa(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", counting_sdpa)
    m = tiny_model.with_defaults()
    forward = m.transformer.forward
    m.transformer.forward = lambda *a, **kw: modes.append(torch.is_inference_mode_enabled()) or forward(*a, **kw)
    try:
        m.answer([AnswerRequest(id="a", image=shape_image(), prompt="Q: What color? A: ", seed=0, steps=2, answer_length=2)])
        m.generate_images([ImageRequest(id="i", prompt="a red circle", seed=0, steps=2)])
    finally:
        del m.transformer.forward
    assert len(modes) >= 3 and all(modes)  # i2t: >= 1 call + final; t2i: 2 steps
    by_head_dim = lambda d: [s for s in sdpa_calls if s[-1] == d]
    transformer, t5 = m.transformer.config, m.text_encoder.config
    assert transformer.attention_head_dim != t5.d_kv
    assert len(by_head_dim(transformer.attention_head_dim)) == len(modes) * transformer.num_layers
    t5_sdpa = len(by_head_dim(t5.d_kv))
    assert t5_sdpa >= 2 * t5.num_layers and t5_sdpa % t5.num_layers == 0  # every T5 layer, i2t and t2i

"""What a trainer uses: grad-enabled forward, text/image encoders, mask id, text length."""

import torch

from ddit_eval.model import build_tiny_components

from tiny_inputs import shape_image


def test_forward_is_differentiable_and_shapes_match(tiny_model):
    transformer = build_tiny_components(seed=1)["transformer"].train()
    ids = torch.tensor(tiny_model.tokenize(["a photo of a red circle"] * 2, tiny_model.text_length))
    with torch.no_grad():
        hidden = tiny_model.codec.encode_text(ids)
        latents = tiny_model.codec.encode_images(tiny_model.codec.preprocess([shape_image()] * 2, 32), [torch.Generator().manual_seed(i) for i in range(2)])
    assert latents.shape == (2, 4, 16, 16) and hidden.shape == (2, 48, 32)
    velocity, logits = transformer(hidden_states=latents, encoder_hidden_states=hidden, timestep=torch.tensor([0.0, 500.0]))
    assert velocity.shape == latents.shape and logits.shape == (2, 48, len(tiny_model.tokenizer))
    (velocity.square().mean() + logits.logsumexp(-1).mean()).backward()
    assert transformer.text_proj_out.weight.grad is not None and transformer.image_proj_out.weight.grad is not None
    _, text_only = transformer(hidden_states=None, encoder_hidden_states=hidden, timestep=torch.zeros(2))
    assert text_only.shape == logits.shape


def test_posterior_mean_and_decode(tiny_model):
    pixels = tiny_model.codec.preprocess([shape_image()], 32)
    assert pixels.shape == (1, 3, 32, 32) and pixels.min() >= -1 and pixels.max() <= 1
    mean = tiny_model.codec.encode_images(pixels)
    assert torch.equal(mean, tiny_model.codec.encode_images(pixels))
    decoded = tiny_model.codec.decode_latents(mean)
    assert decoded.shape == (1, 3, 32, 32) and 0 <= decoded.min() and decoded.max() <= 1


def test_preprocess_is_the_official_torchvision_pipeline(tiny_model):
    import numpy as np
    from PIL import Image
    from torchvision import transforms as T
    from torchvision.transforms.functional import InterpolationMode

    rng = np.random.default_rng(0)
    for size, resolution in [((40, 32), 32), ((33, 70), 32), ((97, 64), 48), ((32, 32), 32), ((20, 25), 32)]:
        image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        official = T.Compose([T.Lambda(lambda img: img.convert("RGB")), T.Resize(resolution, interpolation=InterpolationMode.BICUBIC),
                              T.CenterCrop(resolution), T.ToTensor(), T.Normalize([0.5], [0.5])])
        assert torch.equal(tiny_model.codec.preprocess([image], resolution)[0], official(image)), size

"""GenEval's CLIP colour classifier on a tiny random CLIPModel (no download)."""

import numpy as np
import pytest
import torch
from PIL import Image

from ddit_eval.errors import UsageError
from ddit_eval.geneval import colors as gc
from ddit_eval.metrics.geneval import COLORS, Detection
from helpers.tiny_clip import tiny_clip_config, tiny_clip_tokenizer


@pytest.fixture(scope="module")
def classifier():
    from transformers import CLIPModel

    torch.manual_seed(0)
    return gc.ClipColorClassifier(CLIPModel(tiny_clip_config()), 32, tokenizer=tiny_clip_tokenizer())


def test_quick_gelu_is_required():
    from transformers import CLIPModel

    torch.manual_seed(0)
    gc.assert_quick_gelu(CLIPModel(tiny_clip_config("quick_gelu")))
    with pytest.raises(UsageError, match="quick_gelu") as err:
        gc.assert_quick_gelu(CLIPModel(tiny_clip_config("gelu")))
    assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="quick_gelu"):
        gc.ClipColorClassifier(CLIPModel(tiny_clip_config("gelu")), 32, tokenizer=tiny_clip_tokenizer())


def test_object_is_pasted_through_its_mask_onto_grey_and_cropped_to_its_box():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    mask = np.zeros((20, 30), bool)
    mask[5:12, 8:15] = True
    mask[6, 9] = False  # a hole inside the box
    crop = gc.object_crop(image, Detection("cat", 0.9, (6.0, 4.0, 18.0, 14.0), mask))
    assert crop.size == (12, 10)  # x 6..18, y 4..14
    out = np.asarray(crop)
    inside = mask[4:14, 6:18]
    assert (out[inside] == pixels[4:14, 6:18][inside]).all()
    assert (out[~inside] == 0x99).all() and (~inside).sum() > 0
    no_mask = gc.object_crop(image, Detection("cat", 0.9, (6, 4, 18, 14)))
    assert (np.asarray(no_mask) == pixels[4:14, 6:18]).all()  # no mask: the plain crop, as the official code
    with pytest.raises(ValueError, match="mask shape"):
        gc.object_crop(image, Detection("cat", 0.9, (0, 0, 5, 5), np.ones((30, 20), bool)))


def test_text_embeddings_average_the_three_templates(classifier):
    emb = classifier.text_embeddings("cat")
    assert emb.shape == (10, 16) and torch.allclose(emb.norm(dim=-1), torch.ones(10), atol=1e-6)
    assert gc.color_prompts("orange", "cat") == ["a photo of a orange cat", "a photo of a orange-colored cat",
                                                 "a photo of a orange object"]
    model, tok = classifier.model, classifier.tokenizer
    for i, color in enumerate(COLORS):
        rows = []
        for text in gc.color_prompts(color, "cat"):  # one prompt at a time: no padding involved
            ids = tok([text], return_tensors="pt")["input_ids"]
            with torch.no_grad():
                rows.append(gc._features(model.get_text_features(input_ids=ids))[0])
        direct = torch.stack([r / r.norm() for r in rows]).mean(0)
        assert torch.allclose(emb[i], direct / direct.norm(), atol=1e-5)
    assert classifier.text_embeddings("cat") is emb  # cached per class
    assert not torch.allclose(classifier.text_embeddings("dog"), emb)


def test_classify_returns_one_colour_per_detection(classifier):
    image = Image.new("RGB", (48, 40), (200, 30, 30))
    mask = np.zeros((40, 48), bool)
    mask[10:30, 5:25] = True
    dets = [Detection("cat", 0.9, (5, 10, 25, 30), mask), Detection("cat", 0.8, (30, 0, 48, 40)),
            Detection("cat", 0.7, (0, 0, 48, 40))]
    out = classifier.classify(image, dets, "cat")
    assert len(out) == 3 and all(c in COLORS for c in out)
    assert classifier.classify(image, [], "cat") == []
    # the prediction is the argmax cosine against the colours' text embeddings
    crops = [gc.object_crop(image, d) for d in dets]
    scores = classifier.encode_images(crops) @ classifier.text_embeddings("cat").T
    assert out == [COLORS[i] for i in scores.argmax(1).tolist()]
    assert classifier.pixel_values(crops).shape == (3, 3, 32, 32)


def test_clip_preprocessing_is_openai_bicubic_centre_crop():
    processor = gc._image_processor(224)
    assert processor.size == {"shortest_edge": 224} and processor.crop_size == {"height": 224, "width": 224}
    assert processor.do_center_crop and int(processor.resample) == int(Image.BICUBIC)
    assert list(processor.image_mean) == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    assert list(processor.image_std) == pytest.approx([0.26862954, 0.26130258, 0.27577711])


def test_load_clip_error_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError, match="cannot load CLIP weights") as err:
        gc.load_clip(str(tmp_path / "no-such-clip"))
    assert "\n" not in str(err.value)


def test_load_clip_from_a_local_folder(tmp_path):
    from transformers import CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    CLIPModel(tiny_clip_config()).save_pretrained(tmp_path)
    CLIPProcessor(image_processor=gc._image_processor(32), tokenizer=tiny_clip_tokenizer()).save_pretrained(tmp_path)
    model, processor = gc.load_clip(str(tmp_path))
    clf = gc.ClipColorClassifier(model, processor)
    assert clf.image_processor.crop_size == {"height": 32, "width": 32} and clf.tokenizer is processor.tokenizer
    assert len(clf.classify(Image.new("RGB", (40, 40), "blue"), [Detection("cat", 1.0, (0, 0, 40, 40))], "cat")) == 1

"""Shared GenEval test data: a small prompt file and tiny scorers of the official families (conftest.py uses them).

The detector is a tiny random Mask2Former Swin (the official architecture family) made confident on
purpose: every query says "dog" or "cat" (class prob ~0.5 each) over the whole image (mask prob ~1),
so the dog prompt passes and the colour one goes to CLIP.  Scoring costs seconds per image on CPU
(mmdet's pipeline resizes to 800 px), so the shared run is small.
"""

import torch
from test_detector import tiny_model as tiny_detector

METADATA = [
    {"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"},
    {"tag": "colors", "include": [{"class": "dog", "count": 1, "color": "red"}], "prompt": "a photo of a red dog"},
]
IMAGES_PER_PROMPT = 2


def confident_detector(labels=("dog", "cat")):
    """The tiny detector with every query predicting `labels` (equal odds) over a whole-image mask."""
    from ddit_eval.geneval.detector import COCO_CLASSES

    model = tiny_detector()
    with torch.no_grad():
        model.class_predictor.weight.zero_()
        model.class_predictor.bias.fill_(-5.0)
        for label in labels:
            model.class_predictor.bias[COCO_CLASSES.index(label)] = 5.0
        mask_head = model.model.transformer_module.decoder.mask_predictor.mask_embedder.get_submodule("2.0")
        mask_head.weight.zero_()
        mask_head.bias.fill_(1.0)
        pixels = model.model.pixel_level_module.decoder.mask_projection
        pixels.weight.zero_()
        pixels.bias.fill_(1.0)
    return model

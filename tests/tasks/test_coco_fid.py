"""`coco-fid`: caption selection, torch-fidelity wiring, CLIPScore, provenance and one-line errors.

Local COCO fixtures in both real schemas (captions_val2014.json, Karpathy's dataset_coco.json),
a random Inception state dict in torch-fidelity's layout and a tiny random CLIP; nothing is downloaded.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ddit_eval.cli import main
from ddit_eval.errors import UsageError
from ddit_eval.image_metrics import ClipScore, FidelityConfig, clip_scores, fidelity_scores
from ddit_eval.results import read_jsonl
from ddit_eval.tasks.coco_fid import Val2014Captions
from helpers import benchmark_data
from helpers.tiny_clip import save_tiny_clip


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """Karpathy's file (10 val2014 + 2 train2014 images) and the official captions file over the same val2014 images."""
    root = tmp_path_factory.mktemp("coco")
    karpathy, images = benchmark_data.make_karpathy(root)
    entries = [e for e in json.loads(karpathy.read_text())["images"] if e["filepath"] == "val2014"]
    annotations = [{"image_id": e["cocoid"], "id": s["sentid"] * 7 % 97, "caption": " " + s["raw"] + "\n"}
                   for e in entries for s in e["sentences"]]
    official = {"info": {"description": "COCO 2014 Dataset"}, "licenses": [], "annotations": annotations[::-1],
                "images": [{"license": 1, "file_name": e["filename"], "height": 40, "width": 56, "id": e["cocoid"],
                            "date_captured": "2013-11-14 11:18:45", "coco_url": "", "flickr_url": ""} for e in entries]}
    (root / "captions_val2014.json").write_text(json.dumps(official))
    return {"karpathy": karpathy, "official": root / "captions_val2014.json", "images": images, "entries": entries}


@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    """torch-fidelity's own Inception module, randomly initialised (its weight loading skipped), saved as a state dict.

    He-initialised convolutions keep the 2048-d features at unit scale (PyTorch's default init shrinks
    them to ~1e-7 over the network's depth, and every FID would then round to 0).
    """
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        extractor = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in extractor.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "inception-random.pth"
    torch.save(extractor.state_dict(), path)
    return path


@pytest.fixture(autouse=True)
def cheap_inception(monkeypatch):
    """Test-only economies; the wiring (inputs, weights file, sizes) is unchanged.

    Inception runs at 75 px (its smallest input) instead of 299, and FID/KID use its 64-d layer instead
    of the 2048-d one: FID's eigen-decomposition of a 2048 x 2048 matrix alone takes 10-25 s on 2 cores.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    layers = {"isc": "logits_unbiased", "fid": "64", "kid": "64"}
    monkeypatch.setattr(FeatureExtractorInceptionV3, "INPUT_IMAGE_SIZE", 75)
    monkeypatch.setattr(FeatureExtractorInceptionV3, "get_default_feature_layer_for_metric", staticmethod(layers.get))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


def run_args(coco, inception, clip, out, **changes):
    """`run` on the double with small settings; `changes` override them (None drops one)."""
    sets = {"captions_file": coco["official"], "images_dir": coco["images"], "num_samples": 3, "eval_size": 64,
            "feature_extractor_weights": inception, "clip_weights": clip, **changes}
    return ["run", "--tasks", "coco-fid", "--model", "double:pixel", "--output-dir", str(out),
            *[a for k, v in sets.items() if v is not None for a in ("--set", f"coco-fid.{k}={v}")]]


# ----------------------------------------------------------------------------- captions


def test_both_caption_files_give_the_same_val2014_pairs_and_selection_is_seeded(coco):
    official = Val2014Captions(str(coco["official"]), str(coco["images"]))
    karpathy = Val2014Captions(str(coco["karpathy"]), str(coco["images"] / "val2014"))
    assert len(official.images) == 10 and "train2014" not in json.dumps(official.images)  # val2014 only
    # official captions are stripped and ordered by annotation id; Karpathy's keep file order
    by_id = {e["cocoid"]: sorted(e["sentences"], key=lambda s: s["sentid"] * 7 % 97) for e in coco["entries"]}
    assert official.images[0][2] == [s["raw"] for s in by_id[official.images[0][0]]]
    assert [(i, n) for i, n, _ in official.images] == [(i, n) for i, n, _ in karpathy.images]
    first = official.select(4, seed=0)
    assert first == official.select(4, seed=0) and first != official.select(4, seed=1)
    captions = {i: c for i, _, c in official.images}
    assert len({p["cocoid"] for p in first}) == 4 and all(p["prompt"] in captions[p["cocoid"]] for p in first)
    with pytest.raises(UsageError, match="num_samples=11"):
        official.select(11, seed=0)


# ----------------------------------------------------------------------------- metrics


def test_clip_score_is_100_times_cosine_clamped_at_zero():
    image = torch.tensor([[1.0, 0.0], [3.0, 4.0], [1.0, 0.0]])
    text = torch.tensor([[1.0, 1.0], [4.0, 3.0], [-1.0, 0.1]])
    assert clip_scores(image, text).tolist() == pytest.approx([100 / 2 ** 0.5, 96.0, 0.0], abs=1e-4)


def test_clip_score_metric_matches_the_embeddings_by_hand(clip, coco):
    from PIL import Image
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(clip), CLIPProcessor.from_pretrained(clip)
    paths = sorted(str(p) for p in (coco["images"] / "val2014").glob("*.jpg"))[:3]
    captions = ["a red picture", "a green picture", "a blue picture"]
    metric = ClipScore(model, processor, batch_size=2)
    metric.update(paths, captions)
    with torch.no_grad():
        pixels = processor(images=[Image.open(p).convert("RGB") for p in paths], return_tensors="pt")["pixel_values"]
        tokens = processor.tokenizer(captions, padding=True, return_tensors="pt")
        image = model.get_image_features(pixel_values=pixels)
        text = model.get_text_features(**tokens)
    image, text = (getattr(t, "pooler_output", t) for t in (image, text))
    expected = [max(100 * float(torch.dot(a, b) / (a.norm() * b.norm())), 0.0) for a, b in zip(image, text)]
    assert [s["clip_score"] for s in metric.per_sample()] == pytest.approx(expected, abs=1e-3)
    assert metric.compute()["clip_score"] == pytest.approx(sum(expected) / 3, abs=1e-3)


def frechet_distance(x, y):
    """FID's formula on two feature sets (rows): |mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2)), S unbiased.

    tr (S_x S_y)^(1/2) is the sum of the singular values of S_x^(1/2) S_y^(1/2) (symmetric square roots by
    eigh), which stays exact for the rank-deficient covariances of a few samples.
    """
    def root(s):
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = np.linalg.svd(root(s_x) @ root(s_y), compute_uv=False).sum()
    return float(((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s_x) + np.trace(s_y) - 2 * covmean)


def inception_features(paths, weights, size):
    """The 64-d Inception features (cheap_inception's FID layer) of image files, resized as the task's provenance
    says: PIL bicubic, short side to `size`, centre crop; computed here with torch-fidelity's extractor."""
    from PIL import Image
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torchvision.transforms import CenterCrop, InterpolationMode, PILToTensor, Resize

    extractor = FeatureExtractorInceptionV3("inception-v3-compat", ["64"], feature_extractor_weights_path=str(weights))
    prepare = [Resize(size, interpolation=InterpolationMode.BICUBIC), CenterCrop(size), PILToTensor()]
    batch = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        for step in prepare:
            image = step(image)
        batch.append(image)
    with torch.no_grad():
        return extractor.eval()(torch.stack(batch))[0].double().numpy()


def test_frechet_distance_by_hand():
    # means (0, 0) and (3, 4); covariances diag(1, 3) and diag(4, 12) (the second set is the first x 2, shifted):
    # 25 + (1 + 4 - 2 * 2) + (3 + 12 - 2 * 6) = 29
    assert frechet_distance(GENERATED_FEATURES, REFERENCE_FEATURES) == pytest.approx(29.0, abs=1e-9)
    assert frechet_distance(GENERATED_FEATURES, GENERATED_FEATURES) == pytest.approx(0.0, abs=1e-9)


def test_fid_is_zero_for_identical_sets(coco, inception):
    """Different sets are checked end to end.  (KID's unbiased estimate is not 0 for identical sets.)"""
    paths = sorted(str(p) for p in (coco["images"] / "val2014").glob("*.jpg"))[:4]
    same = fidelity_scores(paths, paths, FidelityConfig(eval_size=32, weights=str(inception)))
    assert {"fid", "kid_mean", "kid_std", "is_mean", "is_std"} == set(same)
    assert abs(same["fid"]) < 1e-4  # float32 features


# ----------------------------------------------------------------------------- the task end to end


def test_coco_fid_runs_on_the_double_with_metrics_and_provenance(coco, inception, clip, tmp_path):
    out = tmp_path / "run"
    assert main(run_args(coco, inception, clip, out)) == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["tasks"]["coco-fid"]
    assert summary["n"] == 3 and summary["errors"] == 0 and "higher_is_better" not in summary
    metrics = summary["metrics"]
    assert {"fid", "kid_mean", "kid_std", "is_mean", "is_std", "clip_score"} == set(metrics)
    lines = read_jsonl(out / "samples" / "coco-fid.jsonl")
    # FID recomputed here: the random Inception's features of the generated pictures and of the drawn COCO
    # images, through the Frechet formula (not 0: the double's flat pictures are not the COCO photos)
    generated = [out / "samples" / line["prediction"][0] for line in lines]  # stored beside the sample log
    reference = [coco["images"] / "val2014" / line["reference_image"] for line in lines]
    expected = frechet_distance(inception_features(generated, inception, 64), inception_features(reference, inception, 64))
    assert expected > 1e-3 and metrics["fid"] == pytest.approx(expected, rel=1e-4)
    drawn = Val2014Captions(str(coco["official"]), str(coco["images"])).select(3, seed=0)
    assert [(line["id"], line["prompt"]) for line in lines] == [(str(p["cocoid"]), p["prompt"]) for p in drawn]
    clip_per_sample = [line["scores"]["clip_score"] for line in lines]
    assert min(clip_per_sample) >= 0 and metrics["clip_score"] == pytest.approx(sum(clip_per_sample) / 3)
    config = results["config"]["tasks"]["coco-fid"]
    fidelity = config["fidelity"]
    assert fidelity["library"] == "torch-fidelity" and fidelity["library_version"] and fidelity["eval_size"] == 64
    assert fidelity["feature_extractor_weights"]["sha256"] == hashlib.sha256(inception.read_bytes()).hexdigest()
    assert "PIL bicubic" in fidelity["resize"] and config["reference"]["size"] == 3
    assert config["selection"]["seed"] == 0 and len(config["selection"]["sha256"]) == 64
    assert summary["lower_is_better"] == ["fid", "kid_mean"]  # per metric: compare gates clip_score higher-is-better
    assert any("3 generated vs 3 reference" in note for note in summary["notes"])


# Hand-chosen FID features: 3 points per set in 2-d (see test_frechet_distance_by_hand: FID 29)
GENERATED_FEATURES = [[-1.0, -1.0], [1.0, -1.0], [0.0, 2.0]]
REFERENCE_FEATURES = [[1.0, 2.0], [5.0, 2.0], [3.0, 8.0]]


def test_the_task_reports_the_frechet_distance_of_its_features(coco, inception, clip, tmp_path, monkeypatch):
    """Inception is replaced by hand-chosen features: FID 29 by hand; IS exactly 1 (all-zero logits: every
    p(y|x) is uniform, so each KL term is 0); KID from its unbiased MMD^2 formula (cubic polynomial kernel)."""
    from ddit_eval.shapes.scenes import BACKGROUND
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    def features(self, images):  # one batch per set (3 images): the double's pictures have a background top row
        generated = [bool((image[:, 0, :] == torch.tensor(BACKGROUND).view(3, 1)).all()) for image in images]
        assert len(images) == 3 and len(set(generated)) == 1
        chosen = torch.tensor(GENERATED_FEATURES if generated[0] else REFERENCE_FEATURES)
        return tuple(chosen if name == "64" else torch.zeros(len(images), 1008) for name in self.features_list)

    monkeypatch.setattr(FeatureExtractorInceptionV3, "forward", features)
    out = tmp_path / "run"
    assert main(run_args(coco, inception, clip, out, clip_score="false")) == 0
    metrics = json.loads((out / "results.json").read_text())["tasks"]["coco-fid"]["metrics"]
    assert metrics["fid"] == pytest.approx(29.0, rel=1e-6)
    assert metrics["is_mean"] == pytest.approx(1.0, abs=1e-6) and metrics["is_std"] == pytest.approx(0.0, abs=1e-6)

    x, y = np.array(GENERATED_FEATURES), np.array(REFERENCE_FEATURES)
    kernel = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731  (KID's kernel: degree 3, gamma 1/d, coef 1)
    off_diagonal = lambda k: (k.sum() - np.trace(k)) / (len(k) * (len(k) - 1))  # noqa: E731
    mmd2 = off_diagonal(kernel(x, x)) + off_diagonal(kernel(y, y)) - 2 * kernel(x, y).mean()
    # the KID subsets hold all 3 samples of each set, so every subset gives the same MMD^2: its std is 0
    assert metrics["kid_mean"] == pytest.approx(mmd2, rel=1e-6) and metrics["kid_std"] == pytest.approx(0.0, abs=1e-9)


def test_reference_all_is_every_val2014_image_of_the_captions_file(coco):
    from ddit_eval.tasks.coco_fid import CocoFid

    task = CocoFid(captions_file=str(coco["karpathy"]), images_dir=str(coco["images"]), num_samples=3,
                   reference_images="all", clip_score=False)
    records = list(task.selection)
    every = task.reference_paths(records)
    assert len(every) == 10 and all(Path(p).is_file() and "val2014" in p for p in every)
    assert task.config()["reference"]["size"] == 10
    task.settings = dataclasses.replace(task.settings, reference_images="selected")
    assert [Path(p).name for p in task.reference_paths(records)] == [r["reference_image"] for r in records]


@pytest.mark.parametrize("changes, needle", [
    ({"captions_file": None}, "captions_file"),
    ({"feature_extractor_weights": None}, "feature_extractor_weights"),
    ({"clip_weights": "nobody/no-such-clip"}, "clip_weights"),
    ({"num_samples": 30000}, "num_samples=30000"),
    ({"feature_extractor_weights": "WRONG"}, "not a torch-fidelity inception-v3-compat state dict"),
])
def test_missing_data_or_weights_offline_is_one_line(coco, inception, clip, tmp_path, monkeypatch, capsys, changes, needle):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # torch-fidelity's default weights: not cached
    if changes.get("feature_extractor_weights") == "WRONG":  # a state dict of another network
        torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
        changes = {"feature_extractor_weights": tmp_path / "other.pth"}
    code = main(run_args(coco, inception, clip, tmp_path / "run", **changes))
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()

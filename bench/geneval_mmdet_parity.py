"""Parity of ddit-eval's GenEval detector with the official mmdet 2.28.2 code (issue #12).

Two halves, one file.  The mmdet half runs in a separate venv that holds mmdet 2.28.2 and
mmcv 1.7.2 built with MMCV_WITH_OPS=0 (recipe in bench/RESULTS.md); it imports nothing from
ddit_eval.  It builds GenEval's config (`mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco`,
shipped in the mmdet wheel), random-initialises it with a fixed seed, saves an mmdet 2.x
checkpoint and runs `init_detector`/`inference_detector` on image files, as GenEval's
`evaluate_images.py` does.  The ddit-eval half (this venv) loads the same checkpoint with
`load_official_detector` and compares per image: input tensor, raw logits, and the
instance results (labels, scores, boxes, masks), each side's detections sorted per class
by score the way GenEval reads them.

Stand-ins, so that mmcv without compiled ops imports (both installed only in the mmdet half):
`mmcv._ext` answers every name with a function that raises (mmcv's multi-scale deformable
attention runs its PyTorch fallback off-GPU, so none is called), and `torchvision` is an empty
package (PyPI's torchvision wheels need CUDA torch; mmcv imports it only for model-zoo URLs).

Run:  .venv/bin/python bench/geneval_mmdet_parity.py --mmdet-python /work/mmdet-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types

import numpy as np

CONFIG = "mask2former/mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.py"
# (width, height): square (no padding), landscape, odd sizes, long-side-limited, portrait.
IMAGE_SIZES = ((512, 512), (640, 480), (517, 333), (1200, 300), (256, 768))
SCORE_TOLERANCE = 1e-4


# ---------------------------------------------------------------- shared: images


def make_images(folder: str, seed: int) -> list[str]:
    """Synthetic PNGs: a colour gradient with random rectangles and ellipses, plus pixel noise."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    paths = []
    for index, (width, height) in enumerate(IMAGE_SIZES):
        ramp = np.linspace(0, 1, width)[None, :, None] * rng.uniform(0, 255, 3)
        base = np.broadcast_to(ramp, (height, width, 3)) + rng.normal(0, 12, (height, width, 3))
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, x1 = sorted(rng.integers(0, width, 2))
            y0, y1 = sorted(rng.integers(0, height, 2))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((int(x0), int(y0), int(x1), int(y1)), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        path = os.path.join(folder, f"{index:02d}_{width}x{height}.png")
        image.save(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- mmdet half (mmdet venv)


def install_stand_ins() -> None:
    """`mmcv._ext` and `torchvision` stand-ins; must run before mmcv is imported."""
    ext = types.ModuleType("mmcv._ext")
    ext.resolved, ext.called = set(), set()

    def missing_op(name):
        if name.startswith("__"):
            raise AttributeError(name)
        ext.resolved.add(name)

        def op(*args, **kwargs):
            ext.called.add(name)
            raise NotImplementedError(f"mmcv._ext.{name}: mmcv was built with MMCV_WITH_OPS=0")
        return op

    ext.__getattr__ = missing_op
    vision, models = types.ModuleType("torchvision"), types.ModuleType("torchvision.models")
    vision.__path__, models.__path__ = [], []
    vision.models = models
    sys.modules.update({"mmcv._ext": ext, "torchvision": vision, "torchvision.models": models})


def official_config():
    import mmcv
    import mmdet

    cfg = mmcv.Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "configs", CONFIG))
    cfg.model.backbone.init_cfg = None  # no ImageNet download; the weights are random anyway
    return cfg


def save_random_checkpoint(path: str, seed: int, class_logit_scale: float) -> None:
    """mmdet's own `init_weights` under a fixed seed; `cls_embed` scaled so class probabilities are spread."""
    import torch
    from mmdet.core import get_classes
    from mmdet.models import build_detector

    torch.manual_seed(seed)  # before building: layers that init_weights skips keep their construction-time values
    model = build_detector(official_config().model)
    model.init_weights()
    with torch.no_grad():
        model.panoptic_head.cls_embed.weight.mul_(class_logit_scale)
    meta = {"CLASSES": tuple(get_classes("coco")), "seed": seed, "class_logit_scale": class_logit_scale}
    torch.save({"state_dict": model.state_dict(), "meta": meta}, path)


def _capture(model, store: dict) -> None:
    """Keep the network input and the last decoder layer's raw outputs of each call."""
    extract, head = model.extract_feat, model.panoptic_head.forward

    def extract_feat(img):
        store["input"] = img[0].numpy()
        return extract(img)

    def head_forward(feats, img_metas):
        cls_scores, mask_preds = head(feats, img_metas)
        store["class_logits"], store["mask_logits"] = cls_scores[-1][0].numpy(), mask_preds[-1][0].numpy()
        return cls_scores, mask_preds

    model.extract_feat, model.panoptic_head.forward = extract_feat, head_forward


def run_mmdet(workdir: str, images: list[str], seed: int, class_logit_scale: float) -> None:
    install_stand_ins()
    import mmcv
    import mmdet
    import torch
    from mmdet.apis import inference_detector, init_detector

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    checkpoint = os.path.join(workdir, "random_mask2former_swin-s_mmdet2.pth")
    save_random_checkpoint(checkpoint, seed, class_logit_scale)
    model = init_detector(official_config(), checkpoint, device="cpu")
    store: dict = {}
    _capture(model, store)
    for index, path in enumerate(images):
        start = time.perf_counter()
        bboxes, masks = inference_detector(model, path)  # a file path, as GenEval passes it
        seconds = time.perf_counter() - start
        labels = np.concatenate([np.full(len(b), c) for c, b in enumerate(bboxes)])
        np.savez_compressed(
            os.path.join(workdir, f"mmdet_{index:02d}.npz"), labels=labels, bboxes=np.concatenate(bboxes),
            masks=np.packbits(np.stack([m for per_class in masks for m in per_class]), axis=-1),
            mask_shape=np.array(masks[labels[0]][0].shape), seconds=seconds, **store)
        print(f"mmdet {os.path.basename(path)}: {len(labels)} detections, {seconds:.1f} s", flush=True)
    versions = {"mmdet": mmdet.__version__, "mmcv": mmcv.__version__, "torch": torch.__version__,
                "numpy": np.__version__, "python": sys.version.split()[0],
                "mmcv._ext names resolved": len(sys.modules["mmcv._ext"].resolved),
                "mmcv._ext functions called": sorted(sys.modules["mmcv._ext"].called)}
    with open(os.path.join(workdir, "mmdet_versions.json"), "w") as handle:
        json.dump(versions, handle, indent=1)


# ---------------------------------------------------------------- ddit-eval half (main venv)


def _per_class_sorted(labels, scores, boxes, masks):
    """Detections grouped by class, each group by descending score (GenEval's reading order)."""
    order = np.lexsort((-scores, labels))
    return labels[order], scores[order], boxes[order], masks[order]


def _detection_diffs(ref: tuple, detections: list) -> dict:
    """Labels, scores, boxes and masks of one side's detections against mmdet's, both in GenEval's order."""
    from ddit_eval.geneval.detector import COCO_CLASSES

    got = _per_class_sorted(np.array([COCO_CLASSES.index(d.label) for d in detections]),
                            np.array([d.score for d in detections]), np.array([d.box for d in detections]),
                            np.stack([d.mask for d in detections]))
    if not np.array_equal(ref[0], got[0]):
        return {"labels_equal": False}
    return {"labels_equal": True, "score_max_diff": float(np.abs(ref[1] - got[1]).max()),
            "boxes_differing": int((ref[2] != got[2]).any(axis=1).sum()),
            "mask_pixels_differing": int((ref[3] != got[3]).sum())}


def compare_image(reference: dict, ours_input, ours_out, detections, detections64) -> dict:
    shape = tuple(reference["mask_shape"])
    ref = _per_class_sorted(reference["labels"], reference["bboxes"][:, 4], reference["bboxes"][:, :4],
                            np.unpackbits(reference["masks"], axis=-1, count=shape[1]).astype(bool))
    same_shape = ours_input.shape == reference["input"].shape
    return {
        "detections": len(ref[0]),
        "above_0.3": int((ref[1] > 0.3).sum()),
        "input_max_diff": float(np.abs(ours_input - reference["input"]).max()) if same_shape else float("inf"),
        "class_logit_max_diff": float(np.abs(ours_out.class_queries_logits[0].numpy()
                                             - reference["class_logits"]).max()),
        "mask_logit_max_diff": float(np.abs(ours_out.masks_queries_logits[0].numpy()
                                            - reference["mask_logits"]).max()),
        "float32": _detection_diffs(ref, detections),
        "float64": _detection_diffs(ref, detections64),
    }


def run_ours(workdir: str, images: list[str]) -> list[dict]:
    """Our detector in float32 on our own preprocessing, and in float64 on mmdet's exact input tensor
    (to tell implementation differences from float32 rounding, which masked attention's
    `sigmoid < 0.5` threshold can amplify)."""
    import copy

    import torch
    from PIL import Image

    from ddit_eval.geneval.detector import load_official_detector, postprocess, preprocess

    detector = load_official_detector(os.path.join(workdir, "random_mask2former_swin-s_mmdet2.pth"))
    model64 = copy.deepcopy(detector.model).double()
    rows = []
    for index, path in enumerate(images):
        reference = dict(np.load(os.path.join(workdir, f"mmdet_{index:02d}.npz")))
        pixels, meta = preprocess(Image.open(path))
        with torch.inference_mode():
            start = time.perf_counter()
            out = detector.model(pixel_values=pixels)
            detections = postprocess(out.class_queries_logits[0], out.masks_queries_logits[0], meta)
            seconds = time.perf_counter() - start
            out64 = model64(pixel_values=torch.from_numpy(reference["input"]).double()[None])
            detections64 = postprocess(out64.class_queries_logits[0], out64.masks_queries_logits[0], meta)
        row = compare_image(reference, pixels[0].numpy(), out, detections, detections64)
        row.update(image=os.path.basename(path), seconds=(float(reference["seconds"]), seconds))
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _close(diffs: dict) -> bool:
    return diffs["labels_equal"] and diffs["score_max_diff"] <= SCORE_TOLERANCE and diffs["boxes_differing"] == 0


def verdict(row: dict) -> str:
    """`equal`: float32 parity; `rounding`: float32 off, float64 on mmdet's input equal; else `DIFFERENT`."""
    if _close(row["float32"]):
        return "equal"
    return "rounding" if _close(row["float64"]) else "DIFFERENT"


def print_table(rows: list[dict]) -> None:
    print("| image | input max diff | class / mask logit max diff | labels equal | score max diff | boxes differing "
          "| mask pixels differing | float64 on mmdet's input: score max diff / boxes differing | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f32, f64 = r["float32"], r["float64"]
        cells = lambda d: (f"{d['score_max_diff']:.1e}", f"{d['boxes_differing']} / {r['detections']}",  # noqa: E731
                           str(d["mask_pixels_differing"])) if d["labels_equal"] else ("-", "-", "-")
        print(f"| {r['image']} | {r['input_max_diff']:.1e} | {r['class_logit_max_diff']:.1e} / "
              f"{r['mask_logit_max_diff']:.1e} | {'yes' if f32['labels_equal'] else 'NO'} | "
              + " | ".join(cells(f32)) + f" | {cells(f64)[0]} / {cells(f64)[1]} | {verdict(r)} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mmdet-python", help="python of the venv holding mmdet 2.28.2 + mmcv 1.7.2")
    parser.add_argument("--workdir", default="/tmp/geneval_mmdet_parity")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class-logit-scale", type=float, default=10.0,
                        help="multiplies cls_embed so random-init class probabilities are not all ~1/81")
    parser.add_argument("--reuse-mmdet", action="store_true", help="keep the mmdet outputs already in --workdir")
    parser.add_argument("--side", choices=["both", "mmdet"], default="both", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    if args.side == "mmdet":
        images = sorted(os.path.join(args.workdir, f) for f in os.listdir(args.workdir) if f.endswith(".png"))
        run_mmdet(args.workdir, images, args.seed, args.class_logit_scale)
        return 0
    if not (args.mmdet_python or args.reuse_mmdet):
        parser.error("--mmdet-python is required")
    images = make_images(args.workdir, args.seed)
    if not args.reuse_mmdet:
        subprocess.run([args.mmdet_python, os.path.abspath(__file__), "--side", "mmdet", "--workdir", args.workdir,
                        "--seed", str(args.seed), "--class-logit-scale", str(args.class_logit_scale)], check=True)
    rows = run_ours(args.workdir, images)
    with open(os.path.join(args.workdir, "mmdet_versions.json")) as handle:
        print("mmdet side:", json.load(handle))
    print_table(rows)
    verdicts = [verdict(r) for r in rows]
    summary = (f"({len(rows)} images, {sum(r['detections'] for r in rows)} detections compared; float32 equal on "
               f"{verdicts.count('equal')}, equal up to float32 rounding on {verdicts.count('rounding')})")
    print("PARITY", "FAILED" if "DIFFERENT" in verdicts else "OK", summary)
    return 1 if "DIFFERENT" in verdicts else 0


if __name__ == "__main__":
    sys.exit(main())

"""The GPU check: one prepared script for one GPU, printing one table to paste into bench/RESULTS.md.

    python bench/gpu_check.py                      # on a GPU: random weights at the released sizes
    python bench/gpu_check.py --tiny --device cpu  # the same script end to end on the tiny model (a test)

Nothing is downloaded: the D-DiT (SD3-medium MM-DiT + T5-XXL + SD3 VAE), the GenEval detector
(Mask2Former Swin-S) and CLIP ViT-L/14 are random weights of the real architectures.  It measures:
1. i2t (VQA protocol: 32 steps, the 128-token window after the prompt masked): questions/s of the
   official batch-1 loop (fp16, full-vocabulary Gumbel draw, whole-batch cache rule, 1-row calls) and
   of the backend at batch 1, 16 and 64 (call_rows = batch) in bf16 and fp16; peak memory; achieved
   TFLOP/s from the FLOPs counted on one call (torch.utils.flop_counter) against the dense bf16 peak.
2. t2i at 512 px, 28 steps, CFG 7: images/s at batch 1, 8 and 32, peak memory.
3. Invariance: answers and PNG bytes at batch sizes 1, 3 and 8 with one call shape (rows that differ
   from batch 8), and fp16 against bf16 answers.
4. The GenEval scorer: detector + CLIP at batch 16, fp32 and bf16, images/s and the max score difference.
5. Decoding strategies: none is built yet (the exact decoder is the only one).
`--compile` (torch.compile / CUDA graphs) is not built yet; its rows say so.  Budget: about 8 minutes
on one H100; each section prints as soon as it is done.
"""

from __future__ import annotations

import argparse
import io
import platform
import subprocess
import time
from dataclasses import dataclass, field

import torch
from PIL import Image

from ddit_eval.api import AnswerRequest, ImageRequest
from ddit_eval.model.tiny import build_tokenizer, random_model
from ddit_eval.prompts import DDIT_VQA

PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense, vendor figures


@dataclass
class Sizes:
    """How much work each section does: the GPU figures, or a few seconds on the tiny model."""

    questions: int
    official_questions: int
    batches: tuple[int, ...]
    image_batches: tuple[int, ...]
    images: int
    resolution: int
    scorer_images: int
    dtypes: tuple[str, ...] = ("bf16", "fp16")
    official_dtype: str = "fp16"
    rows: list[list[str]] = field(default_factory=list)


GPU = Sizes(questions=64, official_questions=8, batches=(1, 16, 64), image_batches=(1, 8, 32), images=32,
            resolution=512, scorer_images=32)
TINY = Sizes(questions=8, official_questions=2, batches=(1, 4, 8), image_batches=(1, 4), images=4, resolution=32,
             scorer_images=4, dtypes=("fp32", "bf16"), official_dtype="fp32")


def machine_block(device: str) -> list[str]:
    lines = [f"torch {torch.__version__}, CUDA {torch.version.cuda}, python {platform.python_version()}"]
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        driver = _nvidia_smi("driver_version")
        lines.insert(0, f"GPU {props.name}, {props.total_memory / 2**30:.0f} GiB, driver {driver}")
    else:
        lines.insert(0, f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads")
    return lines


def _nvidia_smi(field: str) -> str:
    try:
        done = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=30)
        return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (no nvidia-smi)"


def peak_tflops(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def questions(n: int, steps: int = 32) -> list[AnswerRequest]:
    out = []
    for i in range(n):
        image = Image.new("RGB", (64, 48), (128, 128, 128))
        image.paste((200, 40 + 20 * (i % 8), 40), (10 + i % 7, 8, 34, 32))
        out.append(AnswerRequest(id=f"q{i}", image=image, prompt=DDIT_VQA.format(question="What color is the square?"),
                                 seed=10_000 + i, steps=steps))
    return out


class Timer:
    """Wall seconds and peak memory of a block, synchronised on the GPU."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")

    def __enter__(self) -> "Timer":
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start
        self.peak_gib = torch.cuda.max_memory_allocated() / 2**30 if self.cuda else float("nan")


def in_batches(method, requests, batch: int) -> list:
    out = []
    for start in range(0, len(requests), batch):
        out.extend(method(requests[start:start + batch]))
    return out


def flops_per_row(model) -> float:
    """FLOPs of one denoiser row (transformer + T5), counted on one call of one row."""
    from torch.utils.flop_counter import FlopCounterMode

    one = model.with_defaults(call_rows=1)
    request = questions(1, steps=1)[0]
    counter = FlopCounterMode(display=False)
    before = one.rows["transformer"]
    with counter:
        one.answer([request])
    rows = one.rows["transformer"] - before
    vae = FlopCounterMode(display=False)
    with vae:
        one.codec.encode_images(one.codec.preprocess([request.image], one.defaults.resolution))
    return (counter.get_total_flops() - vae.get_total_flops()) / max(rows, 1)


def i2t_section(model, dtype: str, sizes: Sizes, device: str, peak: float | None) -> dict:
    requests = questions(sizes.questions)
    per_row = flops_per_row(model)
    fixed = {}
    for batch in sizes.batches:
        backend = model.with_defaults(call_rows=batch)
        in_batches(backend.answer, requests[:batch], batch)  # warm-up
        before = backend.rows["transformer"]
        with Timer(device) as t:
            fixed[batch] = in_batches(backend.answer, requests, batch)
        rows = backend.rows["transformer"] - before
        achieved = per_row * rows / t.seconds / 1e12
        share = f"{100 * achieved / peak:.0f}%" if peak else "n/a"
        sizes.rows.append([f"i2t backend, batch {batch}", dtype, f"{len(requests) / t.seconds:.2f} q/s",
                           f"{t.peak_gib:.1f}", f"{achieved:.1f} TFLOP/s ({share} of bf16 peak)"])
        sizes.rows.append([f"i2t backend + compile, batch {batch}", dtype, "not built", "", ""])
    return fixed


def official_loop(model, sizes: Sizes, device: str) -> float:
    official = model.with_defaults(draw="gumbel", cache="batch", call_rows=1)
    requests = questions(sizes.official_questions)
    official.answer(requests[:1])
    with Timer(device) as t:
        in_batches(official.answer, requests, 1)
    rate = len(requests) / t.seconds
    sizes.rows.append(["i2t official batch-1 loop", str(model.dtype).removeprefix("torch."), f"{rate:.2f} q/s",
                       f"{t.peak_gib:.1f}", ""])
    return rate


def t2i_flops_per_image(model, resolution: int) -> float:
    """FLOPs of one image (28 steps x 2 CFG rows, T5, VAE decode), counted once."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model.with_defaults(call_rows=2).generate_images(
            [ImageRequest(id="f", prompt="a red apple", seed=0, steps=28, guidance=7.0, resolution=resolution)])
    return counter.get_total_flops()


def t2i_section(model, dtype: str, sizes: Sizes, device: str, peak: float | None) -> None:
    per_image = t2i_flops_per_image(model, sizes.resolution)
    for batch in sizes.image_batches:
        backend = model.with_defaults(call_rows=2 * batch)  # conditional + unconditional rows in one call
        prompts = [ImageRequest(id=f"p{i}", prompt=f"a photo of {i} red apples", seed=i, steps=28, guidance=7.0,
                                resolution=sizes.resolution) for i in range(max(batch, sizes.images))]
        backend.generate_images(prompts[:batch])  # warm-up
        with Timer(device) as t:
            in_batches(backend.generate_images, prompts, batch)
        achieved = per_image * len(prompts) / t.seconds / 1e12
        share = f"{100 * achieved / peak:.0f}%" if peak else "n/a"
        sizes.rows.append([f"t2i {sizes.resolution} px, 28 steps, CFG 7, batch {batch}", dtype,
                           f"{len(prompts) / t.seconds:.2f} img/s", f"{t.peak_gib:.1f}",
                           f"{achieved:.1f} TFLOP/s, whole pipeline ({share} of bf16 peak)"])


def png_bytes(images) -> list[bytes]:
    out = []
    for image in images:
        buffer = io.BytesIO()
        image[0].save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def invariance_section(model, dtype: str, sizes: Sizes) -> list[str]:
    fixed = model.with_defaults(call_rows=8)
    requests = questions(8, steps=8)
    images = [ImageRequest(id=f"i{i}", prompt=f"a blue cube number {i}", seed=i, steps=4, resolution=sizes.resolution)
              for i in range(8)]
    answers = {b: in_batches(fixed.answer, requests, b) for b in (1, 3, 8)}
    pngs = {b: png_bytes(in_batches(fixed.generate_images, images, b)) for b in (1, 3, 8)}
    for b in (1, 3):
        a_diff = sum(x != y for x, y in zip(answers[b], answers[8]))
        i_diff = sum(x != y for x, y in zip(pngs[b], pngs[8]))
        sizes.rows.append([f"invariance: batch {b} vs 8 (call_rows 8)", dtype,
                           f"{a_diff}/8 answers, {i_diff}/8 images differ", "", ""])
    return answers[8]


def scorer_section(sizes: Sizes, device: str, tiny: bool) -> None:
    from transformers import CLIPConfig, CLIPModel, Mask2FormerForUniversalSegmentation

    from ddit_eval.geneval.colors import ClipColorClassifier
    from ddit_eval.geneval.convert import official_detector_config

    config = official_detector_config()
    if tiny:
        config.backbone_config.depths, config.decoder_layers, config.encoder_layers = [1, 1, 1, 1], 2, 1
    clip_config = CLIPConfig(text_config={"hidden_act": "quick_gelu"}, vision_config={
        "hidden_size": 1024, "num_hidden_layers": 24 if not tiny else 1, "num_attention_heads": 16,
        "intermediate_size": 4096, "patch_size": 14, "image_size": 224, "hidden_act": "quick_gelu"},
        projection_dim=768)
    tokenizer = build_tokenizer()  # random weights: any tokenizer whose ids fit CLIP's vocabulary times the same
    images = [Image.new("RGB", (512, 512), (40 * (i % 6), 90, 200)) for i in range(sizes.scorer_images)]
    scores = {}
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(0)
        from ddit_eval.geneval.detector import Mask2FormerDetector

        detector = Mask2FormerDetector(Mask2FormerForUniversalSegmentation(config), device, dtype, batch_size=16)
        clip = ClipColorClassifier(CLIPModel(clip_config), 224, device, dtype, tokenizer=tokenizer)
        detector.detect_batch(images[:2])
        with Timer(device) as t:
            found = detector.detect_batch(images)
            for image, detections in zip(images, found):
                clip.classify(image, detections[:4], "apple")  # GenEval colours at most a few objects an image
        scores[dtype] = torch.tensor([d.score for image_found in found for d in image_found[:20]])
        name = str(dtype).removeprefix("torch.")
        sizes.rows.append(["GenEval scorer (detector + CLIP on 4 objects), batch 16", name,
                           f"{len(images) / t.seconds:.2f} img/s", f"{t.peak_gib:.1f}", ""])
    diff = (scores[torch.float32] - scores[torch.bfloat16]).abs().max().item()
    sizes.rows.append(["GenEval scorer: max abs score difference, fp32 vs bf16", "", f"{diff:.2e}", "", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="the tiny model and small counts (CPU test)")
    args = parser.parse_args()
    sizes = TINY if args.tiny else GPU
    peak = peak_tflops(args.device)
    print("\n".join(machine_block(args.device)), flush=True)
    official = None
    answers = {}
    for dtype in sizes.dtypes:
        model = random_model(args.device, dtype, real_sizes=not args.tiny)
        if dtype == sizes.official_dtype:  # the official code runs fp16 weights at batch 1
            official = official_loop(model, sizes, args.device)
        i2t_section(model, dtype, sizes, args.device, peak)
        t2i_section(model, dtype, sizes, args.device, peak)
        answers[dtype] = invariance_section(model, dtype, sizes)
        del model
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    first, second = sizes.dtypes
    moved = sum(x != y for x, y in zip(answers[first], answers[second]))
    sizes.rows.append([f"dtype: {second} vs {first} answers", "", f"{moved}/{len(answers[first])} differ", "", ""])
    scorer_section(sizes, args.device, args.tiny)
    sizes.rows.append(["decoding strategies", "", "not built (exact decoder only)", "", ""])
    best = max(float(r[2].split()[0]) for r in sizes.rows if r[0].startswith("i2t backend, batch"))
    sizes.rows.append(["i2t best exact backend / official loop", "", f"{best / official:.2f}x", "", ""])
    print("\n| measurement | dtype | figure | peak GiB | utilisation |\n|---|---|---|---|---|")
    for row in sizes.rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

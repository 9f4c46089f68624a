"""Text-to-image throughput and peak memory: batch 1 vs batch 8 on the same checkpoint.

Each batch size runs in a fresh subprocess so that its peak memory is its own (CUDA: peak allocated
by torch; CPU: peak resident set size of the process).  Images are compared between the batch sizes
(each image's noise comes from its own seed; on the CPU they are bit-identical, on a GPU batched kernels
may round differently: the largest pixel difference and the share of differing pixel values are printed).

Run: `python bench/t2i_throughput.py` (tiny random model on CPU), or
`python bench/t2i_throughput.py --device cuda --dtype bf16 --real-sizes`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ddit_eval.api import ImageRequest

PROMPTS = ["a photo of a red circle", "a photo of two blue squares", "a photo of a green triangle left of a pink circle",
           "a photo of three yellow circles", "a photo of a purple square above an orange triangle",
           "a photo of a white circle", "a photo of a black triangle", "a photo of two brown squares"]


def run_one(args) -> dict:
    import torch

    from ddit_eval.model import load_model
    from ddit_eval.model.tiny import random_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model = (load_model(args.model, device=args.device, dtype=args.dtype) if args.model
             else random_model(args.device, args.dtype, real_sizes=args.real_sizes))
    cuda = model.device.type == "cuda"
    requests = [ImageRequest(id=f"p{i}", prompt=PROMPTS[i % len(PROMPTS)], seed=100 + i, steps=args.steps)
                for i in range(args.images)]
    model.generate_images(requests[:1])  # warm-up
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    images, start = [], time.perf_counter()
    for i in range(0, len(requests), args.batch):
        images += [im for ims in model.generate_images(requests[i:i + args.batch]) for im in ims]
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = hashlib.sha256(b"".join(im.tobytes() for im in images)).hexdigest()[:16]
    if args.dump:
        np.save(args.dump, np.stack([np.asarray(im) for im in images]))
    return {"batch": args.batch, "images_per_s": len(images) / seconds, "peak_mib": peak,
            "peak_kind": "cuda max allocated" if cuda else "process max RSS", "images_sha": digest,
            "device": str(model.device), "dtype": str(model.dtype), "resolution": model.defaults.resolution}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint folder or hub id (default: a random model built in memory)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--real-sizes", action="store_true")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)  # internal: run one batch size
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # internal: where the child saves its images
    args = parser.parse_args()
    if args.batch:
        print(json.dumps(run_one(args)))
        return
    results, images = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for b in args.batch_sizes:
            dump = str(Path(tmp) / f"batch{b}.npy")
            child = [a for a in sys.argv[1:]] + ["--batch", str(b), "--dump", dump]
            line = subprocess.run([sys.executable, __file__, *child], check=True, capture_output=True, text=True).stdout
            results.append(json.loads(line.strip().splitlines()[-1]))
            images.append(np.load(dump).astype(np.int16))
            r = results[-1]
            print(f"batch {b:2d}: {r['images_per_s']:8.2f} images/s, peak {r['peak_mib']:9.1f} MiB ({r['peak_kind']}), "
                  f"{r['device']} {r['dtype']} {r['resolution']}px, images sha {r['images_sha']}")
    diffs = [np.abs(x - images[0]) for x in images[1:]]
    print(f"images vs batch {results[0]['batch']}: identical {len({r['images_sha'] for r in results}) == 1}, "
          f"max pixel difference {max(int(d.max()) for d in diffs) if diffs else 0}, "
          f"differing values {max(float((d > 0).mean()) for d in diffs) if diffs else 0.0:.2e}")
    print(f"ratio batch {results[-1]['batch']} / batch {results[0]['batch']}: {results[-1]['images_per_s'] / results[0]['images_per_s']:.2f}x")


if __name__ == "__main__":
    main()

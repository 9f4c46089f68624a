"""Image-to-text (VQA infill) throughput: the official batch-1 algorithm vs this backend.

(a) a batch-1 loop following the official algorithm: full-vocabulary Gumbel draw, cache reused only
    when no token changed (whole-batch rule), one question at a time;
(b) this backend (exact cheap draw, per-row cache) at batch sizes 1, 16 and 64, each with network calls
    of that many rows (call_rows = batch; the official loop calls with 1 row).
Prints questions/second for each, checks that batch 64 and batch 1 give identical answers at one call
shape (call_rows 8) with the same draw (for both draws), and prints the ratio b(batch 64)/a last.

Run: `python bench/i2t_throughput.py` (tiny random model on CPU), or on a GPU at the released
model's sizes with random weights: `python bench/i2t_throughput.py --device cuda --dtype bf16 --real-sizes`.
"""

from __future__ import annotations

import argparse
import time

from PIL import Image

from ddit_eval.api import AnswerRequest
from ddit_eval.model import load_model
from ddit_eval.model.tiny import random_model
from ddit_eval.prompts import DDIT_VQA
from ddit_eval.shapes.scenes import COLOR_RGB as RGB

COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "white"]
QUESTIONS = ["What color is the circle?", "Is there a {c} square in the image?", "How many triangles are there?",
             "Is the circle left of the square?", "What color is the square?", "How many circles are there?"]



def make_requests(n: int, steps: int, answer_length):
    out = []
    for i in range(n):
        c = COLORS[i % len(COLORS)]
        image = Image.new("RGB", (64, 48), (128, 128, 128))
        image.paste(RGB[c], (10 + i % 7, 8, 34, 32))
        q = QUESTIONS[i % len(QUESTIONS)].format(c=COLORS[(i * 3) % len(COLORS)])
        prompt = DDIT_VQA.format(question=q)
        out.append(AnswerRequest(id=f"q{i}", image=image, prompt=prompt, seed=10_000 + i, steps=steps, answer_length=answer_length))
    return out


def timed(model, requests, batch: int, sync):
    answers, start = [], time.perf_counter()
    for i in range(0, len(requests), batch):
        answers += model.answer(requests[i:i + batch])
    sync()
    return answers, len(requests) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint folder or hub id (default: a random model built in memory)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--real-sizes", action="store_true", help="random weights at the released model's sizes")
    parser.add_argument("--questions", type=int, default=128)
    parser.add_argument("--baseline-questions", type=int, default=None, help="questions for the slow loop (default: all)")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--answer-length", type=int, default=None, help="masked positions after the prompt (default: paper protocol)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    model = (load_model(args.model, device=args.device, dtype=args.dtype) if args.model
             else random_model(args.device, args.dtype, real_sizes=args.real_sizes))
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    requests = make_requests(args.questions, args.steps, args.answer_length)
    print(f"device={model.device} dtype={model.dtype} text_length={model.text_length} vocab={model.transformer.config.vocab_size} "
          f"steps={args.steps} answer_length={args.answer_length} questions={len(requests)} torch_threads={torch.get_num_threads()}")
    official = model.with_defaults(draw="gumbel", cache="batch", call_rows=1)
    timed(official, requests[:2], 1, sync)  # warm-up
    base = requests[: args.baseline_questions or len(requests)]
    _, qps_a = timed(official, base, 1, sync)
    print(f"(a) official algorithm, batch 1 loop: {qps_a:8.2f} questions/s")
    results = {}
    for b in args.batch_sizes:
        backend = model.with_defaults(call_rows=b)
        answers, qps = timed(backend, requests, b, sync)
        results[b] = (answers, qps)
        print(f"(b) backend, batch {b:3d}:              {qps:8.2f} questions/s  (transformer rows {backend.rows['transformer']})")
    fixed, small, large = model.with_defaults(call_rows=8), min(args.batch_sizes), max(args.batch_sizes)
    same = lambda a, b: f"{sum(x == y for x, y in zip(a, b))}/{len(a)}"
    fast = same(timed(fixed, requests, large, sync)[0], timed(fixed, requests, small, sync)[0])
    gumbel = fixed.with_defaults(draw="gumbel")
    official_draw = same(timed(gumbel, base, large, sync)[0], timed(gumbel, base, small, sync)[0])
    print(f"identical answers at call_rows 8, batch {large} vs batch {small}: fast draw {fast}; official draw "
          f"{official_draw} (the official batch-1 loop calls with 1 row, so its bits may differ)")
    print(f"ratio b/a (batch {max(args.batch_sizes)}): {results[max(args.batch_sizes)][1] / qps_a:.2f}x")


if __name__ == "__main__":
    main()

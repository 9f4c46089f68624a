"""Data-loading overhead of the real benchmark tasks on a local VQAv2-schema copy.

(a) Memory over a 214,354-question split (the size of VQAv2 validation; tiny images): peak RSS
    after building the samples, then a whole run with the deterministic double, with RSS sampled
    through generation (it must stay flat) and at scoring (which reads every record back once).
(b) Harness overhead per sample: `vqav2` on N rows of 640x480 JPEGs with the deterministic double
    at zero delay, loader threads 0 (decode in the model's thread) vs 4.
(c) With the embedded tiny D-DiT: the share of wall time spent outside model calls (target < 5%).

Run: `python bench/data_loading.py [--rows 3000] [--questions 214354] [--model-rows 256]`.
Each part runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def write_vqav2(folder: Path, rows: int, size: tuple[int, int], quality: int = 90) -> Path:
    """A `data/validation-*.parquet` folder with VQAv2's columns and features."""
    import datasets
    from PIL import Image

    features = datasets.Features({
        "question_type": datasets.Value("string"), "multiple_choice_answer": datasets.Value("string"),
        "answers": [{"answer": datasets.Value("string"), "answer_confidence": datasets.Value("string"),
                     "answer_id": datasets.Value("int64")}],
        "image_id": datasets.Value("int64"), "answer_type": datasets.Value("string"),
        "question_id": datasets.Value("int64"), "question": datasets.Value("string"), "image": datasets.Image()})
    colours = ["red", "green", "blue", "yellow"]
    rgb = {"red": (210, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 210), "yellow": (235, 215, 40)}
    pictures = {}
    for c in colours:  # a few distinct JPEGs, reused: encoding 200K pictures is not what we measure
        noise = np.random.default_rng(len(c)).integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
        array = np.clip(np.array(rgb[c], dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
        pictures[c] = buffer.getvalue()

    def gen():
        for i in range(rows):
            c = colours[i % 4]
            yield {"question_type": "what color", "multiple_choice_answer": c,
                   "answers": [{"answer": c, "answer_confidence": "yes", "answer_id": k + 1} for k in range(10)],
                   "image_id": i // 3, "answer_type": "other", "question_id": i, "question": "What color is the picture?",
                   "image": {"bytes": pictures[c], "path": f"{i}.jpg"}}

    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_generator(gen, features=features).to_parquet(str(data / "validation-00000-of-00001.parquet"))
    return folder


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_memory(folder: str) -> dict:
    from ddit_eval.registry import TASKS

    task = TASKS.get("vqav2")(dataset=folder)
    task.table
    before = peak_rss_mib()
    start = time.monotonic()
    samples = list(task.samples())  # held, as the runner holds them (light: references stay in Arrow)
    n = len(samples)
    return {"questions": n, "rss_after_open_mib": round(before, 1), "peak_rss_after_samples_mib": round(peak_rss_mib(), 1),
            "samples_s": round(time.monotonic() - start, 2)}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class RssSampler(threading.Thread):
    """Current RSS every 0.2 s, so generation and scoring can be told apart (ru_maxrss keeps only the max)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.points: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.points.append((time.monotonic(), rss_mib()))


def part_memory_run(folder: str) -> dict:
    """A whole `vqav2` run on the zero-delay double: RSS at 10%..100% of generation, then at scoring."""
    from ddit_eval.backends import load_backend_model
    from ddit_eval.registry import TASKS
    from ddit_eval.runner import RunOptions, TaskRunner

    task = TASKS.get("vqav2")(dataset=folder)
    task.table
    runner = TaskRunner(load_backend_model("double:pixel"), Path(tempfile.mkdtemp()), RunOptions(batch_size=256))
    sampler = RssSampler()
    start_rss = rss_mib()
    sampler.start()
    start = time.monotonic()
    summary = runner.run(task).summary
    sampler.stop.set()
    compute_end = start + summary["timing"]["compute_s"]
    during = [r for t, r in sampler.points if t <= compute_end]
    deciles = {f"{10 * k}%": round(during[min(len(during) - 1, len(during) * k // 10)], 1) for k in (1, 5, 10)} if during else {}
    return {"questions": summary["n"], "rss_before_run_mib": round(start_rss, 1), "rss_through_generation_mib": deciles,
            "peak_rss_generation_mib": round(max(during, default=start_rss), 1),
            "peak_rss_with_scoring_mib": round(peak_rss_mib(), 1), "compute_s": summary["timing"]["compute_s"],
            "score_s": summary["timing"]["score_s"]}


def part_run(folder: str, model: str, workers: int, batch: int) -> dict:
    from ddit_eval.backends import load_backend_model
    from ddit_eval.registry import TASKS
    from ddit_eval.runner import RunOptions, TaskRunner

    task = TASKS.get("vqav2")(dataset=folder)
    task.table
    loaded = load_backend_model(model, device="cpu")
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        summary = TaskRunner(loaded, Path(out), RunOptions(batch_size=batch, loader_workers=workers)).run(task).summary
        wall = time.monotonic() - start
    timing = summary["timing"]
    outside = timing["compute_s"] - timing["model_s"]
    return {"samples": summary["n"], "workers": workers, "wall_s": round(wall, 2), "compute_s": timing["compute_s"],
            "model_s": timing["model_s"], "overhead_ms_per_sample": round(1000 * outside / summary["n"], 3),
            "outside_model_share": round(outside / timing["compute_s"], 4), "accuracy": summary["metrics"]["accuracy"]}


def in_subprocess(part: str, *args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--part", part, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000, help="rows of 640x480 JPEGs for the overhead runs")
    parser.add_argument("--questions", type=int, default=214_354, help="rows of the memory run")
    parser.add_argument("--model-rows", type=int, default=256, help="rows for the tiny-model run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.part == "memory":
        print(json.dumps(part_memory(*a.args)))
        return
    if a.part == "memory-run":
        print(json.dumps(part_memory_run(*a.args)))
        return
    if a.part == "run":
        folder, model, workers, batch = a.args
        print(json.dumps(part_run(folder, model, int(workers), int(batch))))
        return

    from ddit_eval.backends import DEFAULT_MODEL

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = write_vqav2(tmp / "big", a.questions, (8, 8))
        print("(a) building samples of", a.questions, "questions:", in_subprocess("memory", big))
        print("(a) a whole run over", a.questions, "questions, double:pixel:", in_subprocess("memory-run", big))
        jpegs = write_vqav2(tmp / "jpegs", a.rows, (640, 480))
        for workers in (0, 4):
            print(f"(b) double:pixel, {a.rows} rows 640x480 JPEG, loader threads {workers}:",
                  in_subprocess("run", jpegs, "double:pixel", workers, a.batch_size))
        small = write_vqav2(tmp / "small", a.model_rows, (640, 480))
        for workers in (0, 4):
            print(f"(c) tiny D-DiT, {a.model_rows} rows 640x480 JPEG, loader threads {workers}:",
                  in_subprocess("run", small, DEFAULT_MODEL, workers, a.batch_size))


if __name__ == "__main__":
    main()

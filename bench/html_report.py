"""The HTML report at VQAv2-val scale: a synthetic 214,354-record log, written and opened.

Prints the time `write_run_html` takes, its peak memory, the sizes of report.html, the index files
(flags.js, search.js) and one page file, and, where Chromium is installed, how long a headless load takes
for page 1, the last page, a filter (loads flags.js) and a search (loads search.js), against a blank page.
Thumbnails: the synthetic data has no images (the rebuilt task finds no dataset and the page says so), so
the cost of thumbnails is timed apart, on COCO-sized JPEGs.  Run: `python bench/html_report.py`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ddit_eval.html_report import write_run_html
from ddit_eval.html_report.thumbs import Thumbnails

NUM_QUESTIONS = 214_354
WORDS = ["what", "color", "is", "the", "man", "holding", "how", "many", "people", "are", "in", "this", "picture",
         "does", "dog", "have", "a", "collar", "where", "sitting", "kind", "of", "food", "on", "plate", "red", "blue"]
ANSWERS = ["yes", "no", "2", "1", "white", "red", "blue", "black", "tennis", "frisbee", "3", "dog", "kitchen"]


def record(i: int, rng: random.Random) -> dict:
    question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize() + "?"
    main = rng.choice(ANSWERS)
    answers = [main if rng.random() < 0.7 else rng.choice(ANSWERS) for _ in range(10)]
    base = {"id": str(262148000 + i), "seed": rng.getrandbits(63), "question_id": 262148000 + i,
            "image_id": 262148 + i // 5, "question": question, "answers": answers,
            "answer_type": rng.choice(["yes/no", "number", "other"]), "question_type": "what color is the",
            "multiple_choice_answer": main, "row": i,
            "prompt": f"Q: {question} Answer the question using a single word or phrase. A: "}
    if rng.random() < 0.001:
        return {**base, "error": "RuntimeError: CUDA out of memory", "traceback": "Traceback ...\nRuntimeError: CUDA"}
    prediction = main if rng.random() < 0.6 else rng.choice(ANSWERS + [""])
    accuracy = min(100.0, 100.0 * answers.count(prediction) / 3)
    return {**base, "prediction": prediction, "scores": {"accuracy": round(accuracy, 4)}}


def make_run(root: Path, n: int) -> Path:
    (root / "samples").mkdir(parents=True)
    rng = random.Random(0)
    with open(root / "samples" / "vqav2.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps(record(i, rng)) + "\n")
    settings = {"dataset": str(root / "no-such-data"), "split": "validation", "protocol": "ddit"}
    results = {"schema_version": 2, "config": {"model": "synthetic", "seed": 0, "limit": None,
                                               "tasks": {"vqav2": {"settings": settings}}},
               "tasks": {"vqav2": {"metrics": {"accuracy": 61.0}, "n": n, "primary": "accuracy",
                                   "intervals": {"accuracy": [60.8, 61.2]}}},
               "versions": {"ddit_eval": "bench"}, "timing": {}}
    (root / "results.json").write_text(json.dumps(results))
    return root


def size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


def browser_loads(html: Path) -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        print("no chromium: browser load times skipped")
        return
    profile = tempfile.mkdtemp()
    blank = html.parent / "blank.html"
    blank.write_text("<html><body></body></html>")
    cases = [("blank page (chromium start)", blank, ""), ("page 1", html, "#task=vqav2"),
             ("last page", html, "#task=vqav2&page=1072"), ("filter errored (flags.js)", html, "#task=vqav2&filter=errored"),
             ("filter wrong, page 500", html, "#task=vqav2&filter=wrong&page=500"),
             ("search 'tennis' (search.js)", html, "#task=vqav2&q=tennis")]
    for label, page, hash_ in cases:
        start = time.perf_counter()
        done = subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}",
                               "--virtual-time-budget=60000", "--dump-dom", page.as_uri() + hash_],
                              capture_output=True, text=True, timeout=300, check=False)
        rows = done.stdout.count('class="sample"')
        head = re.search(r"<html[^>]*>", done.stdout)
        errors = head is None or "data-errors" in head[0]
        print(f"  {label:32s} {time.perf_counter() - start:6.2f} s  rows {rows:4d}  errors {errors}")


def thumbnail_rate(root: Path, count: int = 300) -> None:
    from PIL import Image

    sources = root / "jpegs"
    sources.mkdir()
    rng = random.Random(1)
    for i in range(count):
        Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3))).save(sources / f"{i}.jpg", quality=90)
    thumbs = Thumbnails(root / "thumbs-out")
    start = time.perf_counter()
    for path in sorted(sources.glob("*.jpg")):
        thumbs.of_file(path)
    seconds = time.perf_counter() - start
    print(f"thumbnails: {count / seconds:.0f} a second from 640x480 JPEGs "
          f"(VQAv2 val's 40,504 images: ~{40_504 * seconds / count:.0f} s once, plus the dataset's own decode)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=NUM_QUESTIONS)
    parser.add_argument("--keep", help="write the run here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp()) / "run"
    start = time.perf_counter()
    make_run(root, args.questions)
    print(f"synthetic log: {args.questions} records, {size(root / 'samples' / 'vqav2.jsonl')}, "
          f"made in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    html = write_run_html(root)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    files = root / "report_files" / "vqav2"
    pages = sorted(files.glob("page-*.js"))
    print(f"write_run_html: {seconds:.1f} s, peak RSS {peak:.0f} MiB (whole process)")
    print(f"report.html {size(html)}; flags.js {size(files / 'flags.js')}; search.js {size(files / 'search.js')}; "
          f"{len(pages)} page files, page-0001.js {size(pages[0])}, "
          f"all pages {sum(p.stat().st_size for p in pages) / 1e6:.1f} MB")
    browser_loads(html)
    thumbnail_rate(root.parent)
    if not args.keep:
        shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()

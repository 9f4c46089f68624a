"""The feature probe end to end (the paper's Study 1), as durable, resumable steps.

Everything lives under `<run>/samples/feature-probe/` (so `--overwrite` clears it with the rest):

    features/<identity hash>/   encoder features per image (unless `cache_dir` points elsewhere)
    <encoder>/decoder/          config.json, latest.pt while training, final.pt, train_log.json
    <encoder>/captions.jsonl    the decoder's caption of every VQA and in-context image
    <encoder>/answers-<k>shot.jsonl   the answerer's reply per question, with its examples' ids
    direct/                     D-DiT's own vqav2 answers (the runner's folder layout)

Each step reads what an earlier run left and does only what is missing.  The scored records go to
`<run>/samples/feature-probe.jsonl` like any task's.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path
from typing import Any

import torch

from ddit_eval.api import Evaluation
from ddit_eval.environment import cuda_available, resolve_device
from ddit_eval.results import SampleLog
from ddit_eval.run_folder import RunFolder
from ddit_eval.schema import load_results
from ddit_eval.runner import RunOptions, TaskRunner
from ddit_eval.selection import select_samples
from ddit_eval.scoring import TaskOutcome, task_summary

from . import prompts
from .answerers import build_answerer, describe_answerer
from .cache import FeatureCache
from .decoder import PrefixCaptioner, load_gpt2
from .encoders import EncoderContext, build_encoder, weights_fingerprint
from .scoring import DIRECT
from .settings import PAPER_ANSWERER, ProbeSettings
from .training import Pairs, TrainConfig, loss_summary, train_decoder


class FeatureProbeRun:
    """One run of the probe: `task` (the feature-probe task) on `model` into `run_dir`."""

    def __init__(self, task, model: Any, run_dir: Path, options: RunOptions) -> None:
        self.task, self.model, self.options = task, model, options
        self.settings = task.settings
        self.root = RunFolder(run_dir).task_dir(task.name)
        self.device = torch.device(resolve_device(task.device))  # the run's: decoder, CLIP and answerer go there
        self.vqa = task.vqa
        self.answerer = None  # built when a reply is first needed
        self.report: dict[str, Any] = {"encoders": {}, "prompts": {}}
        self.captions: dict[str, dict[str, str]] = {}  # encoder -> image key -> caption
        self.errors: dict[str, str] = {}  # question id -> first error

    def run(self) -> tuple[list[dict], Evaluation, dict]:
        # 1. Questions (no pixels), the in-context pool, the training pairs.
        questions = [self._question(s) for s in select_samples(self.vqa, self.options.limit, self.options.seed).samples]
        pool = self._pool()
        self._check_shots(pool)
        train = self.task.training_data()
        # 2. Per encoder: features, decoder, captions, answers.
        answers: dict[str, dict[str, str]] = {}
        for name in self.task.encoders():
            answers.update(self._encoder_steps(name, questions, pool, train))
        # 3. D-DiT's own answers to the same questions.
        direct = self._direct()
        # 4. One record per question, scored by the vqav2 task's scorer.
        records = [self._record(q, answers, direct) for q in questions]
        scored = [r for r in records if "error" not in r]
        evaluation = self.task.evaluate(scored) if scored else Evaluation({}, [], [])
        by_id = {r["id"]: s for r, s in zip(scored, evaluation.per_sample)}
        records = [{**r, "scores": by_id[r["id"]]} if r["id"] in by_id else r for r in records]
        return records, evaluation, self.report

    # ---------------------------------------------------------------- data
    def _question(self, sample) -> dict:
        d = self.vqa.describe_sample(sample)  # with the references (answer texts)
        return {"id": sample.id, "row": d["row"], "question": d["question"], "answers": d["answers"],
                "answer_type": d["answer_type"], "image_id": d["image_id"], "image_key": f"vqav2/{d['image_id']}",
                "answer": d["multiple_choice_answer"]}

    def _pool(self) -> list[dict]:
        n = len(self.vqa.table)
        chosen = set(prompts.draw_pool(n, self.settings.icl_pool_size, self.options.seed))
        pool = [self._question(s) for i, s in enumerate(self.vqa.samples()) if i in chosen]
        self.report["icl_pool"] = [p["id"] for p in pool]
        return pool

    def _check_shots(self, pool: list[dict]) -> None:
        from ddit_eval.errors import UsageError

        most = max(self.task.shots())
        per_image = max((sum(p["image_key"] == q["image_key"] for q in pool) for p in pool), default=0)
        if most and len(pool) - per_image < most:
            raise UsageError(f"feature-probe: {most} shots need more than {len(pool)} pool questions about other images "
                             "(raise icl_pool_size or lower shots)")

    # ---------------------------------------------------------------- one encoder
    def _encoder_steps(self, name: str, questions: list[dict], pool: list[dict], train) -> dict[str, dict[str, str]]:
        s = self.settings
        start = time.monotonic()
        encoder = build_encoder(name, EncoderContext(self.model, s, self.device))
        identity = encoder.identity()
        cache = FeatureCache(Path(s.cache_dir) if s.cache_dir else self.root / "features", identity)
        images = {q["image_key"]: q["row"] for q in [*questions, *pool]}
        keys = [*train.keys, *images]
        features = cache.fill(keys, lambda key: self._image(key, images, train), encoder.encode, s.infer_batch_size,
                              self.options.loader_workers, f"feature-probe {name} features")
        del encoder
        folder = self.root / name
        captioner, tokenizer, training = self._decoder(name, features, train, identity, folder / "decoder")
        captions = self.captions[name] = self._captions(captioner, tokenizer, features, list(images), folder)
        del captioner, features
        _free_memory()
        out = {}
        for k in self.task.shots():
            out[f"{name}/{k}shot"] = self._answers(f"{name}/{k}shot", questions, pool, captions, k, folder)
        self.report["encoders"][name] = {"identity": identity, "cache": str(cache.folder), "features_computed": cache.computed,
                                         "features_total": len(set(keys)), "training": training,
                                         "seconds": round(time.monotonic() - start, 3)}
        return out

    def _image(self, key: str, vqa_rows: dict, train):
        return self.vqa.table.image(vqa_rows[key], self.vqa.image_column) if key in vqa_rows else train.image(key)

    def _decoder(self, name: str, features: dict, train, identity: dict, folder: Path):
        s = self.settings
        gpt2, tokenizer = load_gpt2(s.decoder_weights)
        feature_dim = next(iter(features.values())).numel()
        captioner = PrefixCaptioner(gpt2, feature_dim, s.prefix_length).to(self.device)
        config = TrainConfig(prefix_length=s.prefix_length, caption_tokens=s.caption_tokens, epochs=s.epochs,
                             train_steps=s.train_steps, batch_size=s.train_batch_size, lr=s.lr,
                             warmup_steps=s.warmup_steps, checkpoint_every=s.checkpoint_every,
                             finetune_decoder=s.finetune_decoder, seed=self.options.seed)
        rows = {k: i for i, k in enumerate(train.keys)}
        pairs = Pairs(torch.stack([features[k] for k in train.keys]), torch.tensor([rows[k] for k in train.caption_keys]),
                      train.captions)
        record = {"encoder": identity, "feature_dim": feature_dim, "decoder_weights": s.decoder_weights,
                  **{f"decoder_{k}": v for k, v in weights_fingerprint(s.decoder_weights, gpt2.config).items()},
                  "train_data": train.provenance}
        losses = train_decoder(captioner, tokenizer, pairs, config, folder, record, desc=f"feature-probe {name}")
        return captioner, tokenizer, {**loss_summary(losses), "folder": str(folder), "pairs": len(train.captions)}

    def _captions(self, captioner, tokenizer, features: dict, keys: list[str], folder: Path) -> dict[str, str]:
        log = SampleLog(folder / "captions.jsonl")
        done = {r["id"]: r["caption"] for r in log.load()}
        missing = [k for k in keys if k not in done]
        size = self.settings.infer_batch_size
        for start in range(0, len(missing), size):
            chunk = missing[start:start + size]
            batch = torch.stack([features[k] for k in chunk]).to(self.device)
            texts = captioner.caption(batch, tokenizer, self.settings.caption_tokens)
            log.append({"id": k, "caption": c} for k, c in zip(chunk, texts))
            done.update(zip(chunk, texts))
        return done

    # ---------------------------------------------------------------- answers
    def _answers(self, key: str, questions: list[dict], pool: list[dict], captions: dict, k: int,
                 folder: Path) -> dict[str, str]:
        log = SampleLog(folder / f"answers-{k}shot.jsonl")
        done = {r["id"]: r["prediction"] for r in log.load()}
        shown = [{**p, "caption": captions[p["image_key"]]} for p in pool]
        pending = []
        for q in questions:
            examples = prompts.draw_examples(shown, q["id"], q["image_key"], k, self.options.seed)
            prompt = prompts.build_prompt(captions[q["image_key"]], q["question"], examples)
            self.report["prompts"].setdefault(key, {"question": q["id"], "prompt": prompt})
            if q["id"] not in done:
                pending.append((q["id"], prompt, [e["id"] for e in examples]))
        size = self.settings.infer_batch_size
        for start in range(0, len(pending), size):
            done.update(self._ask_and_log(pending[start:start + size], log, keep_prompt=k == 0, first=start == 0))
        return done

    def _ask_and_log(self, chunk: list[tuple], log: SampleLog, keep_prompt: bool, first: bool) -> dict[str, str]:
        """Answer (question id, prompt, example ids) rows; log the answered ones; note the failed ones."""
        replies = self._ask([prompt for _, prompt, _ in chunk])
        if first and all(isinstance(r, BaseException) for r in replies):
            raise RuntimeError(f"feature-probe: the answerer failed on every question of the first batch: {replies[0]}")
        answered = {}
        for (qid, prompt, examples), reply in zip(chunk, replies):
            if isinstance(reply, BaseException):
                self.errors.setdefault(qid, f"answerer: {type(reply).__name__}: {reply}")
            else:
                answered[qid] = reply
        log.append({"id": qid, "prediction": answered[qid], "examples": examples, **({"prompt": prompt} if keep_prompt else {})}
                   for qid, prompt, examples in chunk if qid in answered)
        return answered

    def _ask(self, prompts_: list[str]) -> list:
        """Replies in order; a failing batch is retried prompt by prompt so only the failing ones fail."""
        if self.answerer is None:
            self.answerer = build_answerer(self.settings, self.device)
            self.report["answerer"] = self.answerer.identity()
        try:
            return list(self.answerer.answer(prompts_))
        except Exception as exc:  # noqa: BLE001 - isolated below
            if len(prompts_) == 1:
                return [exc]
        return [self._ask([p])[0] for p in prompts_]

    # ---------------------------------------------------------------- D-DiT direct
    def _direct(self) -> dict[str, str]:
        mode = self.settings.direct_vqa
        if mode == "skip":
            return {}
        if mode == "from-run":
            folder = Path(self.settings.direct_vqa_run)
            summary = load_results(folder)["tasks"].get(self.vqa.name)
            self.report["direct"] = {"from_run": str(folder), "summary": summary}
        else:
            folder = self.root / "direct"
            summary = TaskRunner(self.model, folder, RunOptions(
                batch_size=self.options.batch_size, limit=self.options.limit, seed=self.options.seed,
                loader_workers=self.options.loader_workers)).run(self.vqa).summary
            self.report["direct"] = {"computed": str(folder), "n": summary.n, "errors": summary.errors}
        log = RunFolder(folder).sample_log(self.vqa.name)
        return {r["id"]: r["prediction"] for r in log.load() if "error" not in r and "prediction" in r}

    # ---------------------------------------------------------------- records
    def _record(self, q: dict, answers: dict[str, dict[str, str]], direct: dict[str, str]) -> dict:
        record = {k: q[k] for k in ("id", "question", "answers", "answer_type", "image_id")}
        record["captions"] = {name: got[q["image_key"]] for name, got in self.captions.items()}
        record["predictions"] = {key: got[q["id"]] for key, got in answers.items() if q["id"] in got}
        if q["id"] in direct:
            record["predictions"][DIRECT] = direct[q["id"]]
        if q["id"] in self.errors:
            record["error"] = self.errors[q["id"]]
        return record


def _free_memory() -> None:
    gc.collect()
    if cuda_available():
        torch.cuda.empty_cache()


def run_feature_probe(task, model: Any, run_dir: str | Path, options: RunOptions) -> TaskOutcome:
    """Run (or resume) the probe; write `samples/<task>.jsonl`; return what `TaskRunner.run` returns, the
    summary with `probe` added (encoders, training, answerer, prompts)."""
    start = time.monotonic()
    records, evaluation, report = FeatureProbeRun(task, model, Path(run_dir), options).run()
    RunFolder(run_dir).sample_log(task.name).rewrite(records)
    report.setdefault("answerer", describe_answerer(task.settings))
    evaluation = dataclasses.replace(evaluation, notes=[*probe_notes(task.settings, report), *evaluation.notes])
    summary = task_summary(task, records, evaluation, options.limit)
    summary.timing = {"compute_s": round(time.monotonic() - start, 3)}
    summary.extra["probe"] = report
    return TaskOutcome(summary, evaluation, [r for r in records if "error" not in r])


def probe_notes(settings: ProbeSettings, report: dict) -> list[str]:
    """What a reader must know before comparing with the paper's table."""
    answerer = report["answerer"]
    named = f"answerer: {answerer['kind']} {answerer['model']}"
    if answerer["kind"] == "endpoint" and str(answerer["model"]).lower().startswith("gpt-4"):
        named += f" at {answerer['url']}; the paper's was {PAPER_ANSWERER}: a different snapshot gives different numbers"
    else:
        named += f"; the paper's answerer was {PAPER_ANSWERER}: numbers from another answerer are not the paper's"
    notes = [named,
             f"in-context examples come from a pool of {len(report.get('icl_pool', []))} questions of the evaluated "
             f"split ({settings.vqa_split}), drawn with the run seed, never about the query's image"]
    if settings.train_steps or settings.train_images or settings.train_splits != ("train",):
        notes.append(f"decoder trained on Karpathy {','.join(settings.train_splits)} with train_images={settings.train_images}, "
                     f"train_steps={settings.train_steps}: not the default protocol")
    direct = report.get("direct", {})
    if "from_run" in direct:
        summary = direct["summary"] or {}
        notes.append(f"ddit_direct_vqa_accuracy scores the predictions of {direct['from_run']} on the questions it "
                     f"shares with this run (that run reports accuracy {summary.get('metrics', {}).get('accuracy')} "
                     f"on n={summary.get('n')})")
    return notes

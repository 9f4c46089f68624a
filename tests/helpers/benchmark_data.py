"""Small, deterministic copies of the understanding benchmarks, in their real hub schemas and layouts.

Tests of the real-benchmark tasks build their data with this module instead of downloading it.
Every builder writes the same column names and ``datasets`` feature types as the Hugging Face hub
datasets ``lmms-lab/<name>``, in the on-disk layouts researchers hold:

* :func:`make_hub_snapshot` - what ``huggingface-cli download lmms-lab/<name> --repo-type dataset
  --local-dir <root>/<name>`` leaves on disk: ``README.md`` whose YAML header carries
  ``dataset_info`` (features, splits) and ``configs`` (``data_files``) as on the hub, a
  ``.gitattributes``, and parquet shards at the hub's paths, written with ``datasets``
  (``Dataset.from_dict(..., features=...).to_parquet(...)``, so each file carries the
  ``huggingface`` schema metadata). ``datasets.load_dataset(str(folder), name=CONFIG,
  split=SPLIT)`` loads every split with the hub's features.
* :func:`make_save_to_disk` - the same rows as a ``DatasetDict.save_to_disk`` folder (one folder per
  config for multi-config datasets).
* :func:`make_karpathy` - the Karpathy split file ``dataset_coco.json`` plus a COCO image folder.

Each image is a small non-square picture (56x40 or 40x56) filled with ONE colour from
red/green/blue/yellow with a small grey patch; wherever a benchmark has free-form answers, a good
share of the answers is that colour name, so a test double that answers "the dominant colour" scores
above 0 and below 100.

Layouts (paths relative to the snapshot folder; ``N``/``M`` = shard index/count, ``H`` = 16 hex)
---------------------------------------------------------------------------------------------
* VQAv2, config ``default``: splits validation, testdev, test -> ``data/<split>-N-of-M.parquet``.
* VizWiz-VQA, ``default`` (its README has ``dataset_info`` but no ``configs``; splits come from the
  file names): val, test -> ``data/<split>-N-of-M-H.parquet``.
* OK-VQA, ``default``: val2014 -> ``data/val2014-N-of-M.parquet``.
* GQA, ``testdev_balanced_instructions`` and ``testdev_balanced_images`` (default: instructions):
  split testdev -> ``<config>/testdev-00000-of-00001.parquet``.
* POPE, ``default``: test -> ``data/test-N-of-M.parquet``; ``Full``: adversarial, popular, random ->
  ``Full/<split>-00000-of-00001.parquet``.
* MME, ``default``: test -> ``data/test-N-of-M-H.parquet``.
* COCO-Caption2017 and COCO-Caption, ``default``: val, test -> ``data/<split>-N-of-M.parquet``.

Columns (hub YAML notation in ``BENCHMARKS[name].configs[config].yaml_features``):

* VQAv2: question_type str, multiple_choice_answer str, answers list<{answer str, answer_confidence
  str, answer_id int64}>, image_id int64, answer_type str, question_id int64 (= image_id*1000+k),
  question str, image Image. testdev/test rows have question_type, multiple_choice_answer, answers
  and answer_type = None; testdev question ids are a subset of test ids.
* VizWiz-VQA: question_id str ("VizWiz_val_00000000"; image path "<question_id>.jpg"), image,
  question str, answers sequence<str> (10), category str (other / yes/no / number / unanswerable).
  test rows: answers = None, category = None.
* OK-VQA: question_id str (image_id*10+k), image, question, answers sequence<str> (10),
  question_type str, answer_type str.
* GQA instructions: id str, imageId str, question, answer, fullAnswer str, isBalanced bool,
  groups {global, local}, entailed str, equivalent str, types {structural, semantic, detailed},
  annotations sequence<{question, answer, fullAnswer: {objectId, value}}> (i.e. a struct of lists),
  semantic list<{operation, argument, dependencies sequence<int32>}>, semanticStr str.
  GQA images: id str ("n161313"), image. Every instructions ``imageId`` is an images ``id``.
* POPE (both configs): id str (unique), question_id str ("1".. per category, so it repeats across
  categories), question ("Is there a dog in the image?"), answer yes/no, image_source str
  ("COCO_val2014_000000xxxxxx"), image, category (adversarial / popular / random). Full holds the same
  rows as default, one split per category.
* MME: question_id str (image file name, e.g. "code_reasoning/0002.png"; two questions per image,
  one "Yes" and one "No"), image, question ("... Please answer yes or no."), answer Yes/No, category
  (existence, color = perception; code_reasoning, numerical_calculation = cognition).
* COCO-Caption2017 / COCO-Caption: question_id str (image file name), image, question str, answer
  sequence<str> (5 captions; None in test), id int64, license int8, file_name str, coco_url str,
  height int32, width int32, date_captured str.

Verified facts and their sources (searched copies of the hub pages and lmms-eval's task files)
----------------------------------------------------------------------------------------------
* VQAv2: features, their order, configs/data_files (``data/validation-*``, ``data/testdev-*``,
  ``data/test-*``) and split sizes from huggingface.co/datasets/lmms-lab/VQAv2/blob/main/README.md;
  shard names such as ``data/testdev-00006-of-00036.parquet`` from the repo's file history; answers
  may be None on test splits: lmms-eval ``tasks/vqav2/utils.py`` checks ``doc["answers"] is not None``.
* VizWiz-VQA: features (question_id string, answers sequence string, category) and splits val/test
  from lmms-lab/VizWiz-VQA README (which has ``dataset_info`` but no ``configs`` section); shard names
  with a hash suffix (``data/val-00000-of-00005-7775fd61bc6a3d98.parquet``, test 8 shards) from its
  tree; the submission image name is ``f"{question_id}.jpg"`` (lmms-eval ``vizwiz_vqa/utils.py``).
* OK-VQA: features, config and ``data/val2014-0000x-of-00002.parquet`` from lmms-lab/OK-VQA README/tree.
* GQA: config names ``testdev_balanced_instructions`` / ``testdev_balanced_images``, split ``testdev``,
  files ``<config>/testdev-00000-of-00001.parquet``, images config = (id string, image), join
  ``imageId`` -> ``id``: lmms-lab/GQA README and tree, lmms-eval ``tasks/gqa/utils.py``.
* POPE: default config split ``test`` in ``data/test-0000x-of-00003.parquet``; config ``Full`` with
  splits adversarial / popular / random (lmms-lab/POPE tree and viewer; lmms-eval ``pope_adv.yaml``
  uses ``dataset_name: Full``, ``test_split: adversarial``); lmms-eval reads question, answer, image,
  question_id.
* MME: features and order, ``configs`` (``data/test-*``), 2,374 rows, four hash-suffixed shards
  ``data/test-0000x-of-00004-<hash>.parquet``: lmms-lab/MME README and tree.
* COCO-Caption2017: splits val (``data/val-0000x-of-00002``) and test (14 shards); COCO-Caption (2014):
  val (13 shards) and test (14 shards): hub trees. lmms-eval ``coco_cap/utils.py`` reads question_id
  (the file name; image id = digits after the last "_"), id and answer (list of captions); other
  public code reads ``coco_url`` and ``question``.
* Karpathy ``dataset_coco.json`` structure: the standard file (images[].filepath/filename/imgid/split/
  sentences[raw,tokens,imgid,sentid]/sentids/cocoid, "dataset": "coco").

Assumed (could not be established with the search tool)
-------------------------------------------------------
* GQA ``testdev_balanced_instructions`` feature list: taken from deepvk/GQA-ru, a re-upload with the
  same config names and layout (lmms-lab's own README section for that config was not retrievable;
  its ``test_*_instructions`` configs verifiably have only id/imageId/question/isBalanced).
* POPE feature list (id, question_id, question, answer, image_source, image, category): from copies
  of lmms-lab/POPE (giobin/POPE, llizhx/POPE_style); Full file names ``Full/<split>-00000-of-00001
  .parquet``; question_id numbering per category.
* COCO-Caption(2017) feature list beyond question_id/question/answer/id/coco_url/image (license,
  file_name, height, width, date_captured and their int widths); ``answer`` None on test.
* VizWiz test rows having answers/category None; VQAv2 test rows having question_type,
  multiple_choice_answer and answer_type None too.
* Shard hash suffixes are synthetic (format verified, values not). Shard counts M are the hub's
  where known, capped at ``MAX_SHARDS`` (8) and at the rows of the split; VQAv2 validation uses 2
  (its hub count was not found).
* The COCO caption ``question`` text; VQA/GQA/POPE/MME question wording and ids are realistic, not copied.
* Hub README prose, num_bytes and download sizes are stand-ins.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml
from datasets import Dataset, DatasetDict, Features
from PIL import Image as PILImage

COLOURS = ("red", "green", "blue", "yellow")
_RGB = {"red": (214, 32, 38), "green": (34, 160, 64), "blue": (36, 70, 200), "yellow": (238, 206, 40)}
_OTHER = {"red": "blue", "green": "yellow", "blue": "red", "yellow": "green"}


def colour_of(index: int) -> str:
    """The dominant colour of the ``index``-th picture of a benchmark."""
    return COLOURS[index % len(COLOURS)]


@lru_cache(maxsize=None)
def _picture(colour: str, portrait: bool, fmt: str) -> bytes:
    size = (40, 56) if portrait else (56, 40)
    img = PILImage.new("RGB", size, _RGB[colour])
    img.paste((128, 128, 128), (2, 2, 10, 8))  # small grey patch: the colour still dominates
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def picture(index: int, name: str) -> dict:
    """Image feature value: bytes of picture ``index`` (JPEG or PNG after ``name``) and its path."""
    fmt = "PNG" if name.endswith(".png") else "JPEG"
    return {"bytes": _picture(colour_of(index), index % 3 == 2, fmt), "path": name.rsplit("/", 1)[-1]}


# ----------------------------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------------------------

def _f(name: str, dtype: str = "string") -> dict:
    return {"name": name, "dtype": dtype}


def _struct(name: str, *fields: str) -> dict:
    return {"name": name, "struct": [_f(x) for x in fields]}


MAX_SHARDS = 8
DATA_SHARD = "data/{split}-{index:05d}-of-{count:05d}.parquet"
HASHED_SHARD = "data/{split}-{index:05d}-of-{count:05d}-{digest}.parquet"


@dataclass(frozen=True)
class ConfigSpec:
    """One config of a hub dataset: features in hub YAML notation, splits -> shard count on the hub."""

    name: str
    yaml_features: list
    splits: dict
    shard: str = DATA_SHARD  # file path template
    glob: str = "data/{split}-*"  # data_files pattern in the README

    @property
    def features(self) -> Features:
        return Features._from_yaml_list(self.yaml_features)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    hub_id: str
    configs: dict  # config name -> ConfigSpec
    rows: Callable  # (config, split, n) -> list of row dicts
    default_config: str = "default"
    readme_configs: bool = True  # whether the README YAML has a ``configs:`` section
    card: dict = field(default_factory=dict)  # extra top-level README YAML keys


# ----------------------------------------------------------------------------------------------
# Row functions (deterministic; ``n`` = rows of the main split)
# ----------------------------------------------------------------------------------------------

def _vqa_answers(values: list[str]) -> list[dict]:
    return [{"answer": v, "answer_confidence": "maybe" if i == 9 else "yes", "answer_id": i + 1}
            for i, v in enumerate(values)]


def _vqav2_rows(config: str, split: str, n: int) -> list[dict]:
    test_like = split in ("test", "testdev")
    rows = []
    for i in range(n):
        img, k = divmod(i, 3)
        image_id = (1 + 173 * img) if test_like else (262148 + 131071 * img)
        c = colour_of(img)
        if k == 0:
            question, qtype, atype = "What color is the square?", "what color is the", "other"
            answers = [c] * 2 + [f"dark {c}"] * 8 if img % 4 == 1 else [c] * 8 + [f"light {c}", _OTHER[c]]
        elif k == 1:
            question, qtype, atype = "Is there a circle in the picture?", "is there a", "yes/no"
            answers = ["no"] * 9 + ["yes"]
        else:
            question, qtype, atype = "How many squares are there?", "how many", "number"
            answers = ["1"] * 7 + ["2"] * 3
        prefix = "COCO_test2015" if test_like else "COCO_val2014"
        rows.append({
            "question_type": None if test_like else qtype,
            "multiple_choice_answer": None if test_like else max(set(answers), key=answers.count),
            "answers": None if test_like else _vqa_answers(answers),
            "image_id": image_id,
            "answer_type": None if test_like else atype,
            "question_id": image_id * 1000 + k,
            "question": question,
            "image": picture(img, f"{prefix}_{image_id:012d}.jpg"),
        })
    if split == "testdev":  # test-dev is a subset of test-std: the questions of every other image
        rows = [r for j, r in enumerate(rows) if (j // 3) % 2 == 0]
    return rows


def _vizwiz_rows(config: str, split: str, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        c, k = colour_of(i), i % 3
        if k == 0:
            question, answers, category = "What color is this?", [c] * 7 + [f"{c} and white"] * 2 + ["unanswerable"], "other"
        elif k == 1:
            question, answers, category = "What is written on this label?", ["unanswerable"] * 8 + ["soup", "blurry"], "unanswerable"
        else:
            question, answers, category = "Is this shirt clean?", ["yes"] * 6 + ["no"] * 4, "yes/no"
        qid = f"VizWiz_{split}_{i:08d}"
        rows.append({"question_id": qid, "image": picture(i, f"{qid}.jpg"), "question": question,
                     "answers": None if split == "test" else answers,
                     "category": None if split == "test" else category})
    return rows


def _okvqa_rows(config: str, split: str, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        img, k = divmod(i, 2)
        image_id, c = 297147 + 9973 * img, colour_of(img)
        if k == 0:
            question, answers, qtype = "What color is this object?", [c] * 6 + [f"bright {c}"] * 2 + ["orange"] * 2, "other"
        else:
            question, answers, qtype = "What sport can you play with this?", ["tennis"] * 4 + ["baseball"] * 4 + ["golf"] * 2, "eight"
        rows.append({"question_id": str(image_id * 10 + k), "image": picture(img, f"COCO_val2014_{image_id:012d}.jpg"),
                     "question": question, "answers": answers, "question_type": qtype, "answer_type": "other"})
    return rows


def _gqa_image_id(img: int) -> str:
    return f"n{161313 + 7919 * img}"


def _gqa_rows(config: str, split: str, n: int) -> list[dict]:
    if config.endswith("_images"):
        return [{"id": _gqa_image_id(j), "image": picture(j, f"{_gqa_image_id(j)}.jpg")} for j in range(math.ceil(n / 2))]
    rows = []
    for i in range(n):
        img, k = divmod(i, 2)
        c, obj, qid = colour_of(img), str(3318264 + 11 * img), str(20968379 + 1031 * i)
        if k == 0:
            question, answer, full = "What color is the square?", c, f"The square is {c}."
            types, semantic = ("query", "attr", "color"), [("select", f"square ({obj})", []), ("query", "color", [0])]
            groups, entailed, equivalent = {"global": "color", "local": "10q-square_color"}, "[]", f"['{qid}']"
        else:
            other = _OTHER[c]
            question, answer, full = f"Is the square {other}?", "no", f"No, the square is {c}."
            types, semantic = ("verify", "attr", "verifyAttr"), [("select", f"square ({obj})", []), ("verify color", other, [0])]
            groups, entailed, equivalent = {"global": None, "local": "06c-square_color"}, f"['{int(qid) - 1031}']", f"['{qid}']"
        rows.append({
            "id": qid, "imageId": _gqa_image_id(img), "question": question, "answer": answer, "fullAnswer": full,
            "isBalanced": True, "groups": groups, "entailed": entailed, "equivalent": equivalent,
            "types": dict(zip(("structural", "semantic", "detailed"), types)),
            "annotations": {"question": [{"objectId": obj, "value": "3"}], "answer": [],
                            "fullAnswer": [{"objectId": obj, "value": "1"}]},
            "semantic": [{"operation": op, "argument": arg, "dependencies": deps} for op, arg, deps in semantic],
            "semanticStr": "->".join(f"{op}: {arg}" + (f" {deps}" if deps else "") for op, arg, deps in semantic),
        })
    return rows


POPE_CATEGORIES = ("adversarial", "popular", "random")
_POPE_OBJECTS = ("dog", "car", "person", "chair", "bottle", "umbrella", "bench", "cup")


def _pope_rows(config: str, split: str, n: int) -> list[dict]:
    rows, seen = [], {c: 0 for c in POPE_CATEGORIES}
    for i in range(n):
        category = POPE_CATEGORIES[i * len(POPE_CATEGORIES) // n]
        j = seen[category]
        seen[category] += 1
        img, image_id = j // 2, 310196 + 4099 * (j // 2)
        rows.append({"id": str(i), "question_id": str(j + 1),
                     "question": f"Is there a {_POPE_OBJECTS[(j + i) % len(_POPE_OBJECTS)]} in the image?",
                     "answer": "yes" if j % 2 == 0 else "no", "image_source": f"COCO_val2014_{image_id:012d}",
                     "image": picture(img, f"COCO_val2014_{image_id:012d}.jpg"), "category": category})
    return rows if config == "default" else [r for r in rows if r["category"] == split]


MME_CATEGORIES = ("existence", "color", "code_reasoning", "numerical_calculation")
MME_PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR")
MME_COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")
_SUFFIX = " Please answer yes or no."


def _mme_rows(config: str, split: str, n: int) -> list[dict]:
    rows = []
    for img in range(math.ceil(n / 2)):
        category, c = MME_CATEGORIES[img % len(MME_CATEGORIES)], colour_of(img)
        number = img // len(MME_CATEGORIES) + 1
        if category in ("existence", "color"):
            qid = f"{category}/{397133 + 881 * img:012d}.jpg"
            template = "Is there a {} square in this image?" if category == "existence" else "Is the square in the image {}?"
            yes, no = template.format(c), template.format(_OTHER[c])
        elif category == "code_reasoning":
            qid = f"code_reasoning/{number:04d}.png"
            yes, no = f"Is the output of the code in the image {number + 4}?", f"Is the output of the code in the image {number + 7}?"
        else:
            qid = f"numerical_calculation/{number:04d}.png"
            yes, no = f"Is the answer to the arithmetic question in the image {3 * number}?", f"Is the answer to the arithmetic question in the image {3 * number + 2}?"
        pair = [(yes, "Yes"), (no, "No")] if img % 2 == 0 else [(no, "No"), (yes, "Yes")]
        for question, answer in pair:
            rows.append({"question_id": qid, "image": picture(img, qid), "question": question + _SUFFIX,
                         "answer": answer, "category": category})
    return rows


def _caption_rows(year: int) -> Callable:
    def rows_fn(config: str, split: str, n: int) -> list[dict]:
        rows = []
        for i in range(n):
            c = colour_of(i)
            image_id = (397133 if split == "val" else 1) + 1009 * i
            folder = f"{split}{year}" if year == 2017 else f"{split}2014"
            file_name = f"{image_id:012d}.jpg" if year == 2017 else f"COCO_{folder}_{image_id:012d}.jpg"
            portrait = i % 3 == 2
            captions = [f"A {c} rectangle filling the whole picture.", f"A plain {c} background with a small grey patch.",
                        f"An empty {c} surface with a grey corner.", f"A {c} image with nothing else in it.",
                        f"The picture is mostly {c}."]
            rows.append({"question_id": file_name, "image": picture(i, file_name),
                         "question": "Please carefully observe the image and come up with a caption for the image.",
                         "answer": None if split == "test" else captions, "id": image_id, "license": 1 + i % 6,
                         "file_name": file_name, "coco_url": f"http://images.cocodataset.org/{folder}/{file_name}",
                         "height": 56 if portrait else 40, "width": 40 if portrait else 56,
                         "date_captured": f"2013-11-{14 + i % 10:02d} 1{i % 10}:0{i % 6}:52"})
        return rows
    return rows_fn


_VQAV2 = [_f("question_type"), _f("multiple_choice_answer"),
          {"name": "answers", "list": [_f("answer"), _f("answer_confidence"), _f("answer_id", "int64")]},
          _f("image_id", "int64"), _f("answer_type"), _f("question_id", "int64"), _f("question"), _f("image", "image")]
_VIZWIZ = [_f("question_id"), _f("image", "image"), _f("question"), {"name": "answers", "sequence": "string"}, _f("category")]
_OKVQA = [_f("question_id"), _f("image", "image"), _f("question"), {"name": "answers", "sequence": "string"},
          _f("question_type"), _f("answer_type")]
_GQA_IMAGES = [_f("id"), _f("image", "image")]
_GQA_INSTRUCTIONS = [
    _f("id"), _f("imageId"), _f("question"), _f("answer"), _f("fullAnswer"), _f("isBalanced", "bool"),
    _struct("groups", "global", "local"), _f("entailed"), _f("equivalent"),
    _struct("types", "structural", "semantic", "detailed"),
    {"name": "annotations", "sequence": [_struct(x, "objectId", "value") for x in ("question", "answer", "fullAnswer")]},
    {"name": "semantic", "list": [_f("operation"), _f("argument"), {"name": "dependencies", "sequence": "int32"}]},
    _f("semanticStr")]
_POPE = [_f("id"), _f("question_id"), _f("question"), _f("answer"), _f("image_source"), _f("image", "image"), _f("category")]
_MME = [_f("question_id"), _f("image", "image"), _f("question"), _f("answer"), _f("category")]
_COCO = [_f("question_id"), _f("image", "image"), _f("question"), {"name": "answer", "sequence": "string"},
         _f("id", "int64"), _f("license", "int8"), _f("file_name"), _f("coco_url"), _f("height", "int32"),
         _f("width", "int32"), _f("date_captured")]


def _gqa_config(name: str, feats: list) -> ConfigSpec:
    return ConfigSpec(name, feats, {"testdev": 1}, shard=name + "/{split}-{index:05d}-of-{count:05d}.parquet",
                      glob=name + "/{split}-*")


BENCHMARKS: dict[str, BenchmarkSpec] = {
    "VQAv2": BenchmarkSpec("VQAv2", "lmms-lab/VQAv2",
                           {"default": ConfigSpec("default", _VQAV2, {"validation": 2, "testdev": 36, "test": 143})},
                           _vqav2_rows, card={"license": "cc-by-4.0"}),
    "VizWiz-VQA": BenchmarkSpec("VizWiz-VQA", "lmms-lab/VizWiz-VQA",
                                {"default": ConfigSpec("default", _VIZWIZ, {"val": 5, "test": 8}, shard=HASHED_SHARD)},
                                _vizwiz_rows, readme_configs=False),
    "OK-VQA": BenchmarkSpec("OK-VQA", "lmms-lab/OK-VQA", {"default": ConfigSpec("default", _OKVQA, {"val2014": 2})}, _okvqa_rows),
    "GQA": BenchmarkSpec("GQA", "lmms-lab/GQA",
                         {"testdev_balanced_instructions": _gqa_config("testdev_balanced_instructions", _GQA_INSTRUCTIONS),
                          "testdev_balanced_images": _gqa_config("testdev_balanced_images", _GQA_IMAGES)},
                         _gqa_rows, default_config="testdev_balanced_instructions", card={"license": "mit"}),
    "POPE": BenchmarkSpec("POPE", "lmms-lab/POPE",
                          {"default": ConfigSpec("default", _POPE, {"test": 3}),
                           "Full": ConfigSpec("Full", _POPE, {c: 1 for c in POPE_CATEGORIES},
                                              shard="Full/{split}-{index:05d}-of-{count:05d}.parquet", glob="Full/{split}-*")},
                          _pope_rows),
    "MME": BenchmarkSpec("MME", "lmms-lab/MME", {"default": ConfigSpec("default", _MME, {"test": 4}, shard=HASHED_SHARD)},
                         _mme_rows, card={"size_categories": ["1K<n<10K"]}),
    "COCO-Caption2017": BenchmarkSpec("COCO-Caption2017", "lmms-lab/COCO-Caption2017",
                                      {"default": ConfigSpec("default", _COCO, {"val": 2, "test": 14})}, _caption_rows(2017)),
    "COCO-Caption": BenchmarkSpec("COCO-Caption", "lmms-lab/COCO-Caption",
                                  {"default": ConfigSpec("default", _COCO, {"val": 13, "test": 14})}, _caption_rows(2014)),
}


# ----------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------

def _spec(name: str) -> BenchmarkSpec:
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; known: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


def _dataset(cfg: ConfigSpec, rows: list[dict]) -> Dataset:
    features = cfg.features
    return Dataset.from_dict({col: [r[col] for r in rows] for col in features}, features=features)


def _all_rows(spec: BenchmarkSpec, rows: int) -> dict:
    """{config: {split: rows}} for every config and split of ``spec``."""
    return {c: {s: spec.rows(c, s, rows) for s in cfg.splits} for c, cfg in spec.configs.items()}


def expected_counts(name: str, rows: int = 12) -> dict:
    """{(config, split): number of rows} that the builders write for ``name`` with ``rows``."""
    spec = _spec(name)
    return {(c, s): len(r) for c, splits in _all_rows(spec, rows).items() for s, r in splits.items()}


def _digest(*parts) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:16]


def make_hub_snapshot(name: str, root: Path, rows: int = 12) -> Path:
    """Write ``<root>/<name>`` as ``huggingface-cli download lmms-lab/<name>`` leaves it; return it."""
    spec = _spec(name)
    folder = Path(root) / name
    if folder.exists():  # a rebuild must not leave stale shards behind
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    infos, configs = [], []
    for config, splits in _all_rows(spec, rows).items():
        cfg = spec.configs[config]
        split_infos = []
        for split, split_rows in splits.items():
            count = max(1, min(cfg.splits[split], len(split_rows), MAX_SHARDS))
            size = 0
            for index in range(count):
                part = split_rows[index * len(split_rows) // count:(index + 1) * len(split_rows) // count]
                path = folder / cfg.shard.format(split=split, index=index, count=count,
                                                 digest=_digest(spec.hub_id, split, index))
                path.parent.mkdir(parents=True, exist_ok=True)
                ds = _dataset(cfg, part)
                size += ds.data.nbytes
                ds.to_parquet(str(path))
            split_infos.append({"name": split, "num_bytes": size, "num_examples": len(split_rows)})
        total = sum(s["num_bytes"] for s in split_infos)
        infos.append({"config_name": config, "features": cfg.yaml_features, "splits": split_infos,
                      "download_size": total, "dataset_size": total})
        configs.append({"config_name": config,
                        "data_files": [{"split": s, "path": cfg.glob.format(split=s)} for s in cfg.splits]})
    if len(infos) == 1 and infos[0]["config_name"] == "default":  # single-config cards omit config_name
        infos = {k: v for k, v in infos[0].items() if k != "config_name"}
    header = dict(spec.card)
    header["dataset_info"] = infos
    if spec.readme_configs:
        header["configs"] = configs
    card = (f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n\n# Dataset Card for \"{name}\"\n\n"
            f"Small synthetic stand-in for `{spec.hub_id}` with the hub's schema and file layout (tests only).\n")
    (folder / "README.md").write_text(card)
    (folder / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    return folder


def make_save_to_disk(name: str, root: Path, rows: int = 12, config: str | None = None) -> Path:
    """Write the same rows with ``DatasetDict.save_to_disk``; return the folder of ``config``.

    Single-config datasets go to ``<root>/<name>``; multi-config ones to ``<root>/<name>/<config>``
    (all configs are written; ``config=None`` means the benchmark's default config).
    """
    spec = _spec(name)
    config = config or spec.default_config
    if config not in spec.configs:
        raise KeyError(f"{name} has no config {config!r}; configs: {sorted(spec.configs)}")
    base = Path(root) / name
    for c, splits in _all_rows(spec, rows).items():
        dd = DatasetDict({s: _dataset(spec.configs[c], r) for s, r in splits.items()})
        dd.save_to_disk(str(base if len(spec.configs) == 1 else base / c))
    return base if len(spec.configs) == 1 else base / config


KARPATHY_EXTRA = (("val", 2), ("restval", 2), ("train", 2))


def make_karpathy(root: Path, images: int = 6) -> tuple[Path, Path]:
    """Write ``<root>/dataset_coco.json`` (Karpathy splits) and ``<root>/coco/{val2014,train2014}/``.

    ``images`` entries are split "test"; 2 each are "val", "restval" and "train" (train images live in
    ``train2014/`` as in COCO). Returns (split_file, images_root); images_root contains ``val2014/``.
    """
    root = Path(root)
    images_root = root / "coco"
    entries, sentid = [], 0
    splits = ["test"] * images + [s for s, k in KARPATHY_EXTRA for _ in range(k)]
    for imgid, split in enumerate(splits):
        folder = "train2014" if split == "train" else "val2014"
        cocoid = 391895 + 2003 * imgid
        filename = f"COCO_{folder}_{cocoid:012d}.jpg"
        c = colour_of(imgid)
        raws = [f"A {c} rectangle filling the whole picture.", f"A plain {c} background with a small grey patch.",
                f"An empty {c} surface with a grey corner.", f"A {c} image with nothing else in it.",
                f"The picture is mostly {c}."]
        sentences = [{"tokens": raw.lower().rstrip(".").split(), "raw": raw, "imgid": imgid, "sentid": sentid + k}
                     for k, raw in enumerate(raws)]
        entries.append({"filepath": folder, "sentids": [s["sentid"] for s in sentences], "filename": filename,
                        "imgid": imgid, "split": split, "sentences": sentences, "cocoid": cocoid})
        sentid += len(sentences)
        path = images_root / folder / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(picture(imgid, filename)["bytes"])
    split_file = root / "dataset_coco.json"
    split_file.write_text(json.dumps({"images": entries, "dataset": "coco"}))
    return split_file, images_root


def karpathy_counts(images: int = 6) -> dict:
    """{split: number of images} that :func:`make_karpathy` writes."""
    return {"test": images, **dict(KARPATHY_EXTRA)}

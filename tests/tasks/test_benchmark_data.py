"""Checks of the benchmark fixtures in ``benchmark_data``: layouts load with ``datasets``, schemas match."""

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml

from helpers import benchmark_data as bd

datasets = pytest.importorskip("datasets")

NAMES = sorted(bd.BENCHMARKS)
ID_COLUMNS = {  # columns whose values are unique within a split (POPE / MME: see their own tests)
    "VQAv2": ("question_id",), "VizWiz-VQA": ("question_id",), "OK-VQA": ("question_id",),
    "GQA": ("id",), "POPE": ("id",), "COCO-Caption2017": ("question_id", "id"), "COCO-Caption": ("question_id", "id"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{name: (snapshot folder, {config: DatasetDict loaded from the snapshot})} for every benchmark."""
    root = tmp_path_factory.mktemp("hub")
    cache = str(tmp_path_factory.mktemp("cache"))
    out = {}
    for name in NAMES:
        folder = bd.make_hub_snapshot(name, root)
        spec = bd.BENCHMARKS[name]
        loaded = {c: datasets.load_dataset(str(folder), name=c, cache_dir=cache) for c in spec.configs}
        out[name] = (folder, loaded, cache)
    return out


def _colour(img):
    """The dominant colour name of a decoded picture, or None."""
    rgb = img.convert("RGB")
    votes = Counter()
    for count, pixel in rgb.getcolors(maxcolors=rgb.width * rgb.height):
        near = [c for c in bd.COLOURS if sum(abs(a - b) for a, b in zip(bd._RGB[c], pixel)) < 60]
        votes[near[0] if near else None] += count
    colour, count = votes.most_common(1)[0]
    return colour if count >= 0.8 * rgb.width * rgb.height else None


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_loads_with_hub_features(built, name):
    folder, loaded, cache = built[name]
    spec = bd.BENCHMARKS[name]
    counts = bd.expected_counts(name)
    for config, cfg in spec.configs.items():
        dd = loaded[config]
        assert set(dd) == set(cfg.splits)
        for split in cfg.splits:
            ds = datasets.load_dataset(str(folder), name=config, split=split, cache_dir=cache)
            assert ds.features == cfg.features, (config, split)
            assert list(ds.column_names) == [f["name"] for f in cfg.yaml_features]
            assert ds.num_rows == counts[(config, split)] > 0


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_files_and_card(built, name):
    folder, _, _ = built[name]
    spec = bd.BENCHMARKS[name]
    text = (folder / "README.md").read_text()
    header = yaml.safe_load(text.split("---\n")[1])
    assert ("configs" in header) == spec.readme_configs
    for config, cfg in spec.configs.items():
        for split in cfg.splits:
            files = sorted(folder.glob(cfg.glob.format(split=split)))
            assert files, (config, split)
            for path in files:
                rel = path.relative_to(folder).as_posix()
                assert rel.endswith(".parquet") and f"-of-{len(files):05d}" in rel
                meta = pq.read_schema(path).metadata
                assert b"huggingface" in meta  # written by datasets: carries the features
                assert datasets.Features.from_arrow_schema(pq.read_schema(path)) == cfg.features
    if spec.readme_configs:
        declared = {c["config_name"]: {d["split"]: d["path"] for d in c["data_files"]} for c in header["configs"]}
        assert declared == {c: {s: cfg.glob.format(split=s) for s in cfg.splits} for c, cfg in spec.configs.items()}


def test_known_hub_paths(built):
    assert (built["GQA"][0] / "testdev_balanced_images" / "testdev-00000-of-00001.parquet").is_file()
    assert (built["GQA"][0] / "testdev_balanced_instructions" / "testdev-00000-of-00001.parquet").is_file()
    assert (built["OK-VQA"][0] / "data" / "val2014-00000-of-00002.parquet").is_file()
    assert (built["POPE"][0] / "data" / "test-00002-of-00003.parquet").is_file()
    assert (built["POPE"][0] / "Full" / "adversarial-00000-of-00001.parquet").is_file()
    mme = sorted(p.name for p in (built["MME"][0] / "data").iterdir())
    assert len(mme) == 4 and all(len(n.split("-")[-1]) == len("0123456789abcdef.parquet") for n in mme)
    assert sorted(p.name.split("-")[0] for p in (built["VizWiz-VQA"][0] / "data").iterdir()) == ["test"] * 8 + ["val"] * 5


@pytest.mark.parametrize("name", NAMES)
def test_images_decode_and_ids_unique(built, name):
    _, loaded, _ = built[name]
    for config, dd in loaded.items():
        for split, ds in dd.items():
            if "image" in ds.column_names:
                for img in ds["image"]:
                    assert img.width != img.height and {img.width, img.height} == {40, 56}
                    assert _colour(img) in bd.COLOURS
            for col in ID_COLUMNS.get(name, ()):
                if col in ds.column_names:
                    assert len(set(ds[col])) == ds.num_rows, (config, split, col)


def test_save_to_disk_matches_snapshot(tmp_path, built):
    for name in NAMES:
        spec = bd.BENCHMARKS[name]
        counts = bd.expected_counts(name)
        for config, cfg in spec.configs.items():
            folder = bd.make_save_to_disk(name, tmp_path, config=config)
            expected = tmp_path / name if len(spec.configs) == 1 else tmp_path / name / config
            assert folder == expected
            dd = datasets.load_from_disk(str(folder))
            assert set(dd) == set(cfg.splits)
            for split, ds in dd.items():
                assert ds.features == cfg.features
                assert ds.num_rows == counts[(config, split)]
                hub = built[name][1][config][split]
                key = [f["name"] for f in cfg.yaml_features if f.get("dtype") == "string"][0]
                assert ds[key] == hub[key]
    assert bd.make_save_to_disk("GQA", tmp_path) == tmp_path / "GQA" / "testdev_balanced_instructions"


def test_vqav2_test_splits(built):
    dd = built["VQAv2"][1]["default"]
    test_ids, dev_ids = set(dd["test"]["question_id"]), set(dd["testdev"]["question_id"])
    assert dev_ids < test_ids
    for split in ("test", "testdev"):
        assert set(dd[split]["answers"]) == {None} and set(dd[split]["multiple_choice_answer"]) == {None}
    val = dd["validation"]
    assert all(q == i * 1000 + q % 1000 for q, i in zip(val["question_id"], val["image_id"]))
    assert all(len(a) == 10 and set(a[0]) == {"answer", "answer_confidence", "answer_id"} for a in val["answers"])


def test_gqa_image_ids_resolve(built):
    loaded = built["GQA"][1]
    image_ids = set(loaded["testdev_balanced_images"]["testdev"]["id"])
    instructions = loaded["testdev_balanced_instructions"]["testdev"]
    assert set(instructions["imageId"]) == image_ids
    row = instructions[0]
    assert row["types"]["structural"] in {"query", "verify"} and row["fullAnswer"].endswith(".")


def test_pope_and_mme_structure(built):
    pope = built["POPE"][1]
    test = pope["default"]["test"]
    assert set(test["category"]) == set(bd.POPE_CATEGORIES) and set(test["answer"]) == {"yes", "no"}
    assert all(q.startswith("Is there a ") and q.endswith(" in the image?") for q in test["question"])
    assert len(set(zip(test["category"], test["question_id"]))) == test.num_rows
    for category in bd.POPE_CATEGORIES:
        full = pope["Full"][category]
        assert set(full["category"]) == {category}
        assert full["id"] == [i for i, c in zip(test["id"], test["category"]) if c == category]
    mme = built["MME"][1]["default"]["test"]
    pairs = {}
    for qid, answer, category in zip(mme["question_id"], mme["answer"], mme["category"]):
        pairs.setdefault(qid, []).append(answer)
        assert qid.startswith(category + "/")
    assert all(sorted(a) == ["No", "Yes"] for a in pairs.values())
    categories = set(mme["category"])
    assert len(categories & set(bd.MME_PERCEPTION)) >= 2 and categories & set(bd.MME_COGNITION)


def _vqa_accuracy(pred, answers):
    """Leave-one-out VQA accuracy on lowercase strings (enough to check the fixture's answer mix)."""
    return sum(min(1.0, sum(a == pred for j, a in enumerate(answers) if j != i) / 3) for i in range(len(answers))) / len(answers)


def test_dominant_colour_double_scores_between_0_and_100(built):
    def colour_score(ds, score):
        return 100 * sum(score(_colour(row["image"]), row) for row in ds) / ds.num_rows

    results = {
        "VQAv2": colour_score(built["VQAv2"][1]["default"]["validation"],
                              lambda c, r: _vqa_accuracy(c, [a["answer"] for a in r["answers"]])),
        "VizWiz": colour_score(built["VizWiz-VQA"][1]["default"]["val"], lambda c, r: _vqa_accuracy(c, r["answers"])),
        "OK-VQA": colour_score(built["OK-VQA"][1]["default"]["val2014"], lambda c, r: _vqa_accuracy(c, r["answers"])),
    }
    gqa = built["GQA"][1]
    images = {r["id"]: r["image"] for r in gqa["testdev_balanced_images"]["testdev"]}
    instr = gqa["testdev_balanced_instructions"]["testdev"]
    results["GQA"] = 100 * sum(_colour(images[r["imageId"]]) == r["answer"] for r in instr) / instr.num_rows
    for name, value in results.items():
        assert 0 < value < 100, (name, value)


def test_rebuild_with_fewer_rows_leaves_no_stale_shards(tmp_path):
    bd.make_hub_snapshot("VQAv2", tmp_path, rows=12)
    folder = bd.make_hub_snapshot("VQAv2", tmp_path, rows=4)
    assert len(list((folder / "data").glob("test-*"))) == 4
    ds = datasets.load_dataset(str(folder), split="test", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == bd.expected_counts("VQAv2", rows=4)[("default", "test")] == 4


def test_rows_are_deterministic():
    for name, spec in bd.BENCHMARKS.items():
        for config, cfg in spec.configs.items():
            for split in cfg.splits:
                assert spec.rows(config, split, 7) == spec.rows(config, split, 7)
    assert bd.expected_counts("MME", rows=12)[("default", "test")] == 12
    assert bd.expected_counts("GQA", rows=12)[("testdev_balanced_images", "testdev")] == 6


def test_karpathy_split_file(tmp_path):
    split_file, images_root = bd.make_karpathy(tmp_path, images=6)
    data = json.loads(split_file.read_text())
    assert data["dataset"] == "coco" and split_file.name == "dataset_coco.json"
    assert Counter(e["split"] for e in data["images"]) == bd.karpathy_counts(6)
    assert (images_root / "val2014").is_dir()
    from PIL import Image

    sentids = []
    for entry in data["images"]:
        assert set(entry) == {"filepath", "sentids", "filename", "imgid", "split", "sentences", "cocoid"}
        assert entry["filename"] == f"COCO_{entry['filepath']}_{entry['cocoid']:012d}.jpg"
        assert [s["sentid"] for s in entry["sentences"]] == entry["sentids"]
        assert all(set(s) == {"tokens", "raw", "imgid", "sentid"} and s["imgid"] == entry["imgid"] for s in entry["sentences"])
        sentids += entry["sentids"]
        with Image.open(images_root / entry["filepath"] / entry["filename"]) as img:
            assert _colour(img) in bd.COLOURS
    assert len(sentids) == len(set(sentids))

"""The real understanding benchmarks on small datasets built in each hub schema and local layout."""

import json

import pytest
from PIL import Image

from ddit_eval.api import AnswerRequest, CaptionRequest
from ddit_eval.cli import main
from ddit_eval.errors import UsageError
from ddit_eval.registry import GROUPS, TASKS, expand_task_names
from helpers import benchmark_data

# task -> (hub dataset name, config of its questions, split)
TASK_DATA = {
    "vqav2": ("VQAv2", None, "validation"),
    "vqav2-testdev": ("VQAv2", None, "testdev"),
    "vizwiz": ("VizWiz-VQA", None, "val"),
    "vizwiz-test": ("VizWiz-VQA", None, "test"),
    "okvqa": ("OK-VQA", None, "val2014"),
    "pope": ("POPE", None, "test"),
    "mme": ("MME", None, "test"),
    "gqa": ("GQA", "testdev_balanced_instructions", "testdev"),
    "coco2017-caption": ("COCO-Caption2017", None, "val"),
}


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    return {name: benchmark_data.make_hub_snapshot(name, root) for name in {d for d, _, _ in TASK_DATA.values()}}


@pytest.fixture(scope="module")
def karpathy(tmp_path_factory):
    return benchmark_data.make_karpathy(tmp_path_factory.mktemp("karpathy"))


@pytest.fixture(autouse=True)
def private_datasets_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "datasets-cache"))


def expected_rows(name, config, split):
    counts = benchmark_data.expected_counts(name)
    return counts[(config or "default", split)]


def make(task, folder, **settings):
    return TASKS.get(task)(dataset=str(folder), **settings)


@pytest.mark.parametrize("task", sorted(TASK_DATA))
def test_hub_snapshot_samples_ids_and_images(task, hub_root):
    name, config, split = TASK_DATA[task]
    t = make(task, hub_root[name])
    samples = list(t.samples())
    assert len(samples) == expected_rows(name, config, split)
    assert len({s.id for s in samples}) == len(samples)
    request = t.build_request(samples[0], seed=1)
    assert isinstance(request.image, Image.Image) and request.image.mode == "RGB"
    assert request.image.size[0] != request.image.size[1]  # the fixture's non-square picture, unresized
    described = t.describe_sample(samples[0])
    assert "image" not in described  # sample lines never carry pixels


def test_save_to_disk_layout_gives_the_same_samples(hub_root, tmp_path):
    disk = benchmark_data.make_save_to_disk("VQAv2", tmp_path)
    from_hub = [s.doc for s in make("vqav2", hub_root["VQAv2"]).samples()]
    from_disk = [s.doc for s in make("vqav2", disk).samples()]
    assert from_disk == from_hub


def test_gqa_save_to_disk_with_one_folder_per_config(hub_root, tmp_path):
    questions = benchmark_data.make_save_to_disk("GQA", tmp_path, config="testdev_balanced_instructions")
    root = questions.parent if questions.name == "testdev_balanced_instructions" else questions
    t = make("gqa", root)
    sample = next(iter(t.samples()))
    assert t.build_request(sample, seed=0).image.mode == "RGB"


def test_building_samples_decodes_no_image(hub_root, monkeypatch):
    """Listing 214K questions must not decode a picture: PIL.Image.open is never called."""
    t = make("vqav2", hub_root["VQAv2"])
    t.table  # open the data first (the loader may touch PIL while preparing its cache)

    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded while building samples")

    monkeypatch.setattr(Image, "open", refuse)
    assert len(list(t.samples())) > 0


def test_gqa_joins_images_on_image_id(hub_root):
    t = make("gqa", hub_root["GQA"])
    rows = {str(r): i for i, r in enumerate(t.images.column("id"))}
    for sample in list(t.samples())[:4]:
        got = t.image(sample)
        want = t.images.image(rows[str(sample.doc["imageId"])])
        assert got.tobytes() == want.tobytes() and got.size == want.size


def test_provenance_of_a_local_copy_is_a_content_fingerprint(hub_root, tmp_path):
    import shutil

    config = make("vqav2", hub_root["VQAv2"]).config()
    assert config["dataset"]["layout"] == "hub snapshot" and len(config["dataset"]["fingerprint"]) == 64
    copy = tmp_path / "copy"
    shutil.copytree(hub_root["VQAv2"], copy)
    assert make("vqav2", copy).config()["dataset"]["fingerprint"] == config["dataset"]["fingerprint"]
    parquet = sorted(copy.rglob("*.parquet"))[0]
    parquet.write_bytes(parquet.read_bytes() + b"\0")
    assert make("vqav2", copy).config()["dataset"]["fingerprint"] != config["dataset"]["fingerprint"]


def test_hub_loading_pins_the_resolved_commit(monkeypatch, hub_root):
    """From the hub, the revision asked for is resolved to a commit, loaded at that commit and recorded."""
    import datasets
    import huggingface_hub

    sha = "0123456789abcdef0123456789abcdef01234567"
    calls = {}

    class FakeApi:
        def dataset_info(self, repo_id, revision=None):
            calls["info"] = (repo_id, revision)
            return type("Info", (), {"sha": sha})()

    real_load = datasets.load_dataset

    def fake_load(path, name=None, split=None, revision=None, **kw):
        calls["load"] = (path, name, split, revision)
        return real_load(str(hub_root["VQAv2"]), name=name, split=split)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    t = TASKS.get("vqav2")()
    recorded = t.config()["dataset"]
    assert calls["info"] == ("lmms-lab/VQAv2", "main")
    assert calls["load"] == ("lmms-lab/VQAv2", None, "validation", sha)
    assert recorded["resolved_revision"] == sha and recorded["id"] == "lmms-lab/VQAv2"


def test_offline_revision_comes_from_the_hub_cache(monkeypatch, tmp_path):
    from ddit_eval.data import resolve_revision

    sha = "fedcba9876543210fedcba9876543210fedcba98"
    refs = tmp_path / "datasets--lmms-lab--MME" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(sha)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_revision("lmms-lab/MME", None) == sha
    assert resolve_revision("lmms-lab/GQA", None) is None  # not cached: recorded as unresolved, never guessed


def test_protocols_choose_prompt_and_answer_length(hub_root):
    sample = next(iter(make("vqav2", hub_root["VQAv2"]).samples()))
    question = sample.doc["question"]
    ddit = make("vqav2", hub_root["VQAv2"]).build_request(sample, 0)
    lmms = make("vqav2", hub_root["VQAv2"], protocol="lmms-eval").build_request(sample, 0)
    assert ddit.prompt == f"Q: {question} Answer the question using a single word or phrase. A: " and ddit.answer_length is None
    assert lmms.prompt == f"{question}\nAnswer the question using a single word or phrase." and lmms.answer_length == 16
    explicit = make("vqav2", hub_root["VQAv2"], protocol="lmms-eval", answer_length=3, steps=8).build_request(sample, 0)
    assert (explicit.answer_length, explicit.steps) == (3, 8)
    config = make("vqav2", hub_root["VQAv2"], protocol="lmms-eval").config()
    assert (config["protocol"], config["answer_length"], config["text_window"]) == ("lmms-eval", 16, 128)


def test_vizwiz_and_mme_prompts(hub_root):
    vizwiz = make("vizwiz", hub_root["VizWiz-VQA"])
    assert "Reply unanswerable if information is not present in the image. A: " in vizwiz.build_request(next(iter(vizwiz.samples())), 0).prompt
    mme = make("mme", hub_root["MME"])
    sample = next(iter(mme.samples()))
    assert sample.doc["question"].endswith(" Please answer yes or no.")
    assert "Please answer yes or no" not in mme.build_request(sample, 0).prompt


def test_coco_caption_protocols(hub_root):
    t = make("coco2017-caption", hub_root["COCO-Caption2017"])
    sample = next(iter(t.samples()))
    assert isinstance(t.build_request(sample, 0), CaptionRequest) and t.request_kind == "caption"
    lmms = make("coco2017-caption", hub_root["COCO-Caption2017"], protocol="lmms-eval")
    request = lmms.build_request(sample, 0)
    assert isinstance(request, AnswerRequest) and lmms.request_kind == "answer"
    assert request.prompt == "Provide a one-sentence caption for the provided image." and request.answer_length == 64
    assert len(sample.doc["answer"]) == 5


def test_karpathy_split_file_and_images_folder(karpathy):
    split_file, images = karpathy
    t = TASKS.get("coco-caption")(karpathy_file=str(split_file), images_dir=str(images))
    entries = [e for e in json.loads(split_file.read_text())["images"] if e["split"] == "test"]
    samples = list(t.samples())
    assert [s.id for s in samples] == [str(e["cocoid"]) for e in entries]
    assert samples[0].doc["answer"] == [s["raw"] for s in entries[0]["sentences"]]
    assert t.build_request(samples[0], 0).image.mode == "RGB"
    assert t.config()["dataset"]["fingerprint"]
    with pytest.raises(UsageError, match="is not under"):
        TASKS.get("coco-caption")(karpathy_file=str(split_file), images_dir=str(split_file.parent)).config()
    with pytest.raises(UsageError, match="karpathy_file"):
        TASKS.get("coco-caption")().config()


def test_groups_expand_to_the_papers_table():
    assert expand_task_names(["understanding"]) == list(GROUPS["understanding"])
    assert set(GROUPS["understanding"]) == {"coco-caption", "vqav2", "vizwiz", "okvqa", "mme", "gqa", "pope"}
    assert expand_task_names(["pope", "understanding"])[0] == "pope"
    assert len(expand_task_names(["pope", "understanding"])) == 7


# ----------------------------------------------------------------------------- settings checked before work


@pytest.mark.parametrize("pair, fragment", [
    ("steps=-3", "steps=-3"), ("steps=0", "steps=0"), ("steps=abc", "steps='abc'"),
    ("answer_length=0", "answer_length=0"), ("answer_length=129", "<= 128"),
    ("protocol=paper", "protocol='paper'"), ("vqa_rule=loose", "vqa_rule"),
    ("prompt_template=Q: {question} {answer}", "unknown placeholder {answer}"),
    ("dataset=/no/such/folder", "no such folder"),
])
def test_bad_settings_are_one_line_before_the_model_loads(pair, fragment, tmp_path, capsys, hub_root):
    out = tmp_path / "run"
    code = main(["run", "--tasks", "vqav2", "--model", str(tmp_path / "missing-model"), "--output-dir", str(out),
                 "--set", f"dataset={hub_root['VQAv2']}", "--set", pair])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and err.count("\n") == 1
    assert "missing-model" not in err  # failed on the setting, before the model was even looked at


def test_bad_rule_names_for_yes_no_and_gqa(hub_root):
    with pytest.raises(UsageError, match="parse_rule"):
        make("pope", hub_root["POPE"], parse_rule="ddit")
    with pytest.raises(UsageError, match="gqa_rule"):
        make("gqa", hub_root["GQA"], gqa_rule="fuzzy")

"""The run's --device reaches every model a task loads to score, and `offline` means one thing everywhere.

CUDA is faked (torch.cuda.is_available returns True) so that a scorer deciding "cuda if available" on its
own would pick cuda: with --device cpu each loader must still receive cpu.  Models are the tiny local ones.
"""

import pytest
import torch

from ddit_eval import environment
from ddit_eval.api import Task
from ddit_eval.errors import UsageError
from ddit_eval.registry import TASKS


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def spy(monkeypatch, owner, name, seen, device_of):
    """Wrap owner.name so that each call records the device it was given (device_of(args, kwargs))."""
    real = getattr(owner, name)

    def wrapped(*args, **kwargs):
        seen.append((name, str(device_of(args, kwargs))))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


def device_kwarg(args, kwargs):
    return kwargs.get("device", "cpu")  # the loaders' own default is cpu


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """A tiny random CLIP (quick_gelu, as the official one) with its processor, saved as a CLIPModel folder."""
    from helpers.tiny_clip import save_tiny_clip

    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


# ----------------------------------------------------------------------------- one answer to "which device"


def test_auto_is_cuda_only_where_cuda_is_and_explicit_devices_stay(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert [environment.resolve_device(d) for d in ("auto", "cpu", "cuda", "cuda:1")] == ["cuda", "cpu", "cuda", "cuda:1"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert environment.resolve_device("auto") == "cpu" and environment.resolve_device("cpu") == "cpu"
    with pytest.raises(UsageError, match="--device cuda:1: CUDA is not available"):
        environment.resolve_device("cuda:1")


def test_run_and_score_give_each_task_the_device_asked_for(cli, tmp_path, monkeypatch, fake_cuda):
    seen = []
    real = Task.use_device
    monkeypatch.setattr(Task, "use_device", lambda self, device: (seen.append((self.name, device)), real(self, device)))
    run = tmp_path / "run"
    code, _, err = cli("run", "--tasks", "shapes-vqa", "--model", "double:pixel", "--device", "cpu", "--limit", "2",
                       "--output-dir", run)
    assert code == 0, err
    code, _, err = cli("score", "--task", "shapes-vqa", "--predictions", run / "samples" / "shapes-vqa.jsonl",
                       "--device", "cpu", "--output-dir", tmp_path / "scored")
    assert code == 0, err
    assert seen == [("shapes-vqa", "cpu"), ("shapes-vqa", "cpu")]


def test_steps_cells_hand_the_device_to_the_task_that_scores():
    ablation = TASKS.get("steps-ablation")(tasks="shapes-vqa", steps="2,4")
    cells = ablation.cells()
    for cell in cells:
        cell.use_device("cpu")
    assert [(c.device, c.inner.device) for c in cells] == [("cpu", "cpu")] * 2


# ----------------------------------------------------------------------------- each scorer's models


def test_geneval_detector_and_clip_colours_load_on_the_run_device(clip_folder, tmp_path, monkeypatch, fake_cuda):
    import transformers

    from ddit_eval.geneval import colors, detector

    (tmp_path / "detector").mkdir()  # a transformers folder: its model is stubbed, its device is what counts
    monkeypatch.setattr(transformers.Mask2FormerForUniversalSegmentation, "from_pretrained",
                        classmethod(lambda cls, *a, **k: torch.nn.Linear(2, 2)))
    seen = []
    spy(monkeypatch, detector, "Mask2FormerDetector", seen, lambda a, k: k.get("device", a[1] if len(a) > 1 else "cpu"))
    spy(monkeypatch, colors, "ClipColorClassifier", seen, device_kwarg)
    task = TASKS.get("geneval")(detector_weights=str(tmp_path / "detector"), clip_weights=str(clip_folder))
    task.use_device("cpu")
    found, classifier = task.scorers()
    assert seen == [("Mask2FormerDetector", "cpu"), ("ClipColorClassifier", "cpu")]
    assert found.device.type == classifier.device.type == "cpu"


def test_coco_fid_inception_and_clip_score_run_on_the_run_device(clip_folder, tmp_path, monkeypatch, fake_cuda):
    import torch_fidelity
    from helpers.benchmark_data import make_karpathy

    from ddit_eval import image_metrics

    karpathy, images = make_karpathy(tmp_path)
    seen = []
    names = ("frechet_inception_distance", "kernel_inception_distance_mean", "kernel_inception_distance_std",
             "inception_score_mean", "inception_score_std")

    def calculate_metrics(**kwargs):  # Inception is built inside torch-fidelity, on cuda exactly when cuda=True
        seen.append(("inception", "cuda" if kwargs["cuda"] else "cpu"))
        return dict.fromkeys(names, 1.0)

    monkeypatch.setattr(torch_fidelity, "calculate_metrics", calculate_metrics)
    spy(monkeypatch, image_metrics, "ClipScore", seen, device_kwarg)
    task = TASKS.get("coco-fid")(captions_file=str(karpathy), images_dir=str(images), num_samples=2,
                                 clip_weights=str(clip_folder))
    task.use_device("cpu")
    records = [{**pair, "prediction": [path]} for pair, path in zip(task.selection, task.reference_paths(task.selection))]
    evaluation = task.evaluate(records)
    assert seen == [("inception", "cpu"), ("ClipScore", "cpu")]
    assert evaluation.notes[0].endswith(", cpu")


def test_feature_probe_models_go_on_the_run_device(tmp_path, fake_cuda):
    from ddit_eval.probe.pipeline import FeatureProbeRun
    from ddit_eval.runner import RunOptions

    task = TASKS.get("feature-probe")()
    task.use_device("cpu")
    # a model without a device of its own (a double): the decoder, CLIP encoder and answerer follow the run's
    assert FeatureProbeRun(task, object(), tmp_path, RunOptions()).device == torch.device("cpu")


# ----------------------------------------------------------------------------- one answer to "offline?"


def _geneval_metadata_downloads(tmp_path, monkeypatch) -> bool:
    """Online, the download happens (its planted wrong checksum is then refused); offline it is not tried."""
    from ddit_eval.geneval import metadata

    monkeypatch.setattr(metadata, "_download", lambda url, timeout=60.0: b"")
    monkeypatch.setattr(metadata, "METADATA_SHA256", "0" * 64)
    try:
        metadata.load_metadata(cache_dir=tmp_path)
    except UsageError as exc:
        return "downloads are off" not in str(exc)
    return True


def _says_offline(load, tmp_path) -> bool:
    """Whether the one-line error adds the offline hint (each loader's says to download once)."""
    with pytest.raises(UsageError) as err:
        load(str(tmp_path / "no-such-weights"))
    return "download it once" in str(err.value)


def _probe_decoder_online(tmp_path, monkeypatch) -> bool:
    from ddit_eval.probe.decoder import load_gpt2

    return not _says_offline(load_gpt2, tmp_path)


def _probe_encoder_online(tmp_path, monkeypatch) -> bool:
    from ddit_eval.probe.encoders import ClipEncoder

    return not _says_offline(lambda weights: ClipEncoder(weights, torch.device("cpu")), tmp_path)


def _geneval_clip_online(tmp_path, monkeypatch) -> bool:
    from ddit_eval.geneval.colors import load_clip

    return not _says_offline(load_clip, tmp_path)


def _clip_score_preflight_online(tmp_path, monkeypatch) -> bool:
    from ddit_eval.image_metrics import check_clip_available

    try:
        check_clip_available("nobody/no-such-clip", "coco-fid")
    except UsageError:
        return False
    return True


def _inception_download_online(tmp_path, monkeypatch) -> bool:
    import torch.hub

    from ddit_eval.image_metrics import ensure_default_inception

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # nothing cached

    def refuse(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    with pytest.raises(UsageError) as err:
        ensure_default_inception("coco-fid")
    return "cannot download" in str(err.value)


def _environment_online(tmp_path, monkeypatch) -> bool:
    return not environment.offline()


CALLERS = [_environment_online, _geneval_metadata_downloads, _probe_decoder_online, _probe_encoder_online, _geneval_clip_online,
           _clip_score_preflight_online, _inception_download_online]


@pytest.mark.parametrize("value", ["0", "1"])
@pytest.mark.parametrize("online", CALLERS, ids=["environment", "geneval-metadata", "probe-decoder", "probe-encoder",
                                                 "geneval-clip", "clip-score-preflight", "inception-download"])
def test_every_caller_reads_hf_hub_offline_the_same_way(online, value, tmp_path, monkeypatch):
    """HF_HUB_OFFLINE=0 is online, 1 offline, whatever HF_DATASETS_OFFLINE and TRANSFORMERS_OFFLINE say."""
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert online(tmp_path, monkeypatch) is (value == "0")

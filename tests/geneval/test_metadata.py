"""GenEval metadata: format checks, the pinned download (never the network here), the official folder layout."""

import json
import warnings

import pytest
from PIL import Image

from ddit_eval.errors import UsageError
from ddit_eval.geneval import metadata as md

LINES = [
    {"tag": "single_object", "include": [{"class": "bench", "count": 1}], "prompt": "a photo of a bench"},
    {"tag": "two_object", "include": [{"class": "cat", "count": 1}, {"class": "dog", "count": 1}],
     "prompt": "a photo of a cat and a dog"},
    {"tag": "counting", "include": [{"class": "clock", "count": 2}], "exclude": [{"class": "clock", "count": 3}],
     "prompt": "a photo of two clocks"},
    {"tag": "colors", "include": [{"class": "car", "count": 1, "color": "red"}], "prompt": "a photo of a red car"},
    {"tag": "position", "include": [{"class": "cup", "count": 1}, {"class": "tv", "count": 1,
                                                                 "position": ["left of", 0]}],
     "prompt": "a photo of a tv left of a cup"},
    {"tag": "color_attr", "include": [{"class": "bus", "count": 1, "color": "blue"},
                                      {"class": "kite", "count": 1, "color": "white"}],
     "prompt": "a photo of a blue bus and a white kite"},
]


def jsonl(lines):
    return "".join(json.dumps(line) + "\n" for line in lines)


def official_like(counts=md.EXPECTED_TAG_COUNTS):
    """A file with the official structure (tag counts, order by tag), written by the test."""
    by_tag = {line["tag"]: line for line in LINES}
    return jsonl([by_tag[tag] for tag, n in counts.items() for _ in range(n)]).encode()


def test_validate_counts_per_tag_and_reads_a_local_file(tmp_path):
    assert md.validate_metadata(LINES) == {tag: 1 for tag in md.EXPECTED_TAG_COUNTS}
    assert md.validate_metadata([json.dumps(LINES[2]), "", json.dumps(LINES[2])]) == {"counting": 2}
    path = tmp_path / "meta.jsonl"
    path.write_text(jsonl(LINES))
    assert md.load_metadata(str(path)) == LINES


@pytest.mark.parametrize("bad, message", [
    ({"tag": "shapes", "include": [{"class": "cat", "count": 1}], "prompt": "p"}, "'tag' must be one of"),
    ({"tag": "colors", "include": [{"class": "cat", "count": 1}]}, "non-empty 'prompt'"),
    ({"tag": "colors", "include": [], "prompt": "p"}, "non-empty 'include'"),
    ({"tag": "colors", "include": [{"class": "cat", "count": 0}], "prompt": "p"}, "'count' must be an integer"),
    ({"tag": "colors", "include": [{"class": "cat", "count": True}], "prompt": "p"}, "'count' must be an integer"),
    ({"tag": "colors", "include": [{"class": "cat", "count": 1, "color": "teal"}], "prompt": "p"}, "'color' 'teal'"),
    ({"tag": "colors", "include": [{"class": "cat", "count": 1, "colour": "red"}], "prompt": "p"}, "unknown clause"),
    ({"tag": "position", "include": [{"class": "cat", "count": 1, "position": ["left of", 0]}], "prompt": "p"},
     "'position' must be"),
    ({"tag": "position", "include": [{"class": "a", "count": 1}, {"class": "b", "count": 1,
                                                                  "position": ["near", 0]}], "prompt": "p"},
     "'position' must be"),
    ({"tag": "counting", "include": [{"class": "a", "count": 1}], "exclude": [{"class": "a", "count": 2,
                                                                               "color": "red"}], "prompt": "p"},
     "unknown clause"),
])
def test_validate_refuses_malformed_lines_in_one_line(bad, message):
    with pytest.raises(UsageError, match=message) as err:
        md.validate_metadata([LINES[0], bad])
    assert "line 2" in str(err.value) and "\n" not in str(err.value)


def test_local_file_errors_are_one_line(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        md.load_metadata(str(tmp_path / "missing.jsonl"))
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(LINES[:1]) + "{not json\n")
    with pytest.raises(UsageError, match="line 2: not JSON") as err:
        md.load_metadata(str(path))
    assert "\n" not in str(err.value)


@pytest.fixture
def online(monkeypatch):
    """Downloads allowed; `calls` records the URLs asked for; the downloader is replaced per test."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    calls = []

    def serve(data):
        def fake(url, timeout=60.0):
            calls.append(url)
            return data
        monkeypatch.setattr(md, "_download", fake)

    return serve, calls


def test_download_verifies_the_checksum_and_caches(tmp_path, monkeypatch, online):
    serve, calls = online
    data = official_like()
    monkeypatch.setattr(md, "METADATA_SHA256", md.sha256_hex(data))
    serve(data)
    rows = md.load_metadata(cache_dir=tmp_path)
    assert len(rows) == 553 and md.validate_metadata(rows) == md.EXPECTED_TAG_COUNTS
    assert calls == [md.METADATA_URL] and md.PINNED_COMMIT in md.METADATA_URL and len(md.PINNED_COMMIT) == 40
    assert md.METADATA_URL.endswith("/prompts/evaluation_metadata.jsonl")
    assert md.load_metadata(cache_dir=tmp_path) == rows and len(calls) == 1  # second time from the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert md.load_metadata(cache_dir=tmp_path) == rows  # a cached copy works offline


def test_wrong_checksum_is_refused_in_one_line(tmp_path, monkeypatch, online):
    serve, _ = online
    monkeypatch.setattr(md, "METADATA_SHA256", "0" * 64)
    serve(official_like())
    with pytest.raises(UsageError, match="expected 0000") as err:
        md.load_metadata(cache_dir=tmp_path)
    assert "\n" not in str(err.value) and "--set geneval.metadata=PATH" in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing cached
    tampered = official_like()
    monkeypatch.setattr(md, "METADATA_SHA256", md.sha256_hex(tampered))
    (tmp_path / f"evaluation_metadata-{md.PINNED_COMMIT[:12]}.jsonl").write_bytes(tampered + b"\n{}")
    with pytest.raises(UsageError, match="cached GenEval metadata"):
        md.load_metadata(cache_dir=tmp_path)


def test_the_official_checksum_is_pinned_and_a_lookalike_download_is_refused(tmp_path, online):
    """The spec's sha256 of the file at af4902f; a file with the official 553-line structure but other bytes
    (the test's own) used to be accepted with a warning: now it is refused in one line, and nothing is cached."""
    serve, _ = online
    assert md.METADATA_SHA256 == "5c48e0813e812e3c373fa5c8ed07a8f0a483be30272b4427b0559c8048e67c13"
    data = official_like()
    serve(data)
    with pytest.raises(UsageError, match=f"has sha256 {md.sha256_hex(data)}, expected 5c48e0813e81") as err:
        md.load_metadata(cache_dir=tmp_path)
    assert "\n" not in str(err.value) and "refusing it" in str(err.value) and not list(tmp_path.iterdir())
    # a caller that knows other bytes are right says so explicitly
    assert len(md.load_metadata(cache_dir=tmp_path, expected_sha256=md.sha256_hex(data))) == 553
    with pytest.raises(UsageError, match="expected 5c48e0813e81"):  # the cached copy is checked against the pin
        md.load_metadata(cache_dir=tmp_path)


def test_an_unset_pin_refuses_instead_of_accepting_any_structure(tmp_path, monkeypatch, online):
    serve, _ = online
    monkeypatch.setattr(md, "METADATA_SHA256", None)
    serve(official_like())
    with pytest.raises(UsageError, match="no pinned sha256") as err:
        md.load_metadata(cache_dir=tmp_path)
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())


def test_a_local_lookalike_of_the_official_file_is_read_with_a_warning(tmp_path):
    """--set geneval.metadata=PATH is the user's choice (results record its sha256 and call it custom);
    one shaped like the official file but with other bytes says it is not the official one."""
    path = tmp_path / "evaluation_metadata.jsonl"
    path.write_bytes(official_like())
    with pytest.warns(UserWarning, match="scored as a custom prompt set"):
        assert len(md.load_metadata(str(path))) == 553
    small = tmp_path / "meta.jsonl"
    small.write_text(jsonl(LINES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert md.load_metadata(str(small)) == LINES  # a small custom set: no warning


def test_offline_without_cache_says_to_pass_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(md, "_download", lambda *a, **k: pytest.fail("network used"))
    with pytest.raises(UsageError, match=r"--set geneval\.metadata=PATH") as err:
        md.load_metadata(cache_dir=tmp_path)
    assert "\n" not in str(err.value)


def test_no_network_says_to_pass_the_file(tmp_path, monkeypatch, online):
    def refuse(url, timeout=60.0):
        raise md.urllib.error.URLError("no route to host")

    monkeypatch.setattr(md, "_download", refuse)
    with pytest.raises(UsageError, match=r"no route to host.*--set geneval\.metadata=PATH"):
        md.load_metadata(cache_dir=tmp_path)


def test_official_layout_round_trip(tmp_path):
    colors = ["red", "green", "blue", "white"]
    images = [Image.new("RGB", (16, 12), c) for c in colors]
    for index, line in enumerate(LINES[:2]):
        folder = md.write_official_layout(tmp_path, index, line, images)
        assert folder == tmp_path / f"{index:05d}"
    folder = tmp_path / "00000"
    assert json.loads((folder / "metadata.jsonl").read_text()) == LINES[0]
    assert len((folder / "metadata.jsonl").read_text().splitlines()) == 1
    assert sorted(p.name for p in (folder / "samples").iterdir()) == ["0000.png", "0001.png", "0002.png", "0003.png"]
    with Image.open(folder / "grid.png") as grid:
        assert grid.size == (32, 24)
        assert [grid.getpixel(xy) for xy in [(0, 0), (16, 0), (0, 12), (31, 23)]] == \
               [Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in colors]
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "not-a-prompt").mkdir()
    (folder / "samples" / "0000.png.bak").write_text("ignored")
    read = md.read_official_layout(tmp_path)
    assert [meta for meta, _ in read] == LINES[:2]
    assert read[0][1] == [str(folder / "samples" / f"{k:04d}.png") for k in range(4)]
    with Image.open(read[1][1][2]) as image:
        assert image.getpixel((0, 0)) == (0, 0, 255)


def test_official_layout_orders_numerically_and_refuses_malformed_folders(tmp_path):
    image = Image.new("RGB", (4, 4))
    for index in (10, 2):
        md.write_official_layout(tmp_path, index, LINES[index % 6], [image])
    assert [meta for meta, _ in md.read_official_layout(tmp_path)] == [LINES[2], LINES[4]]
    with pytest.raises(UsageError, match="not found"):
        md.read_official_layout(tmp_path / "missing")
    with pytest.raises(UsageError, match="no prompt folders"):
        md.read_official_layout(tmp_path / "00002" / "samples")
    (tmp_path / "00003" / "samples").mkdir(parents=True)
    with pytest.raises(UsageError, match="has no metadata.jsonl"):
        md.read_official_layout(tmp_path)
    (tmp_path / "00003" / "metadata.jsonl").write_text(jsonl(LINES[:2]))  # two objects: not the official layout
    with pytest.raises(UsageError, match="is not one JSON object") as err:
        md.read_official_layout(tmp_path)
    assert "\n" not in str(err.value)
    (tmp_path / "00003" / "metadata.jsonl").write_text(json.dumps(LINES[0]))
    with pytest.raises(UsageError, match="no samples"):
        md.read_official_layout(tmp_path)
    (tmp_path / "00003" / "metadata.jsonl").write_text(json.dumps({**LINES[0], "tag": "x"}))
    with pytest.raises(UsageError, match="'tag' must be"):
        md.read_official_layout(tmp_path)

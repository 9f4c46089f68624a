"""The pages and their data files as written (no browser): what each page holds, thumbnails, notes, layout."""

import json
import re
import shutil
from pathlib import Path

from helpers.harness import samples as log

from ddit_eval.html_report import REPORT_FILES, REPORT_HTML, write_compare_html, write_run_html, write_runs_html
from ddit_eval.html_report.geneval_view import image_path
from ddit_eval.saved_run import SavedRun


def manifest(html: Path) -> dict:
    text = html.read_text()
    return json.loads(re.search(r'<script type="application/json" id="ddit-manifest">(.*?)</script>', text, re.S)[1])


def page_records(html: Path, entry: dict, number: int = 1) -> list[dict]:
    text = (html.parent / entry["dir"] / f"page-{number:04d}.js").read_text()
    return json.loads(re.fullmatch(r"window\.dditPage\((.*)\);\n", text, re.S)[1].split(",", 2)[2])


def test_run_page_has_a_browser_per_task_with_counts_thumbnails_and_provenance(copy_of):
    run = copy_of("base")
    html = write_run_html(run)
    assert html == run / REPORT_HTML and (run / REPORT_FILES / "shapes-vqa" / "page-0001.js").is_file()
    datasets = manifest(html)["datasets"]
    assert list(datasets) == ["shapes-vqa", "shapes-pope", "shapes-caption", "shapes-mme"]
    vqa = datasets["shapes-vqa"]
    records = log(run, "shapes-vqa")
    wrong = [r for r in records if "error" not in r and r["scores"]["accuracy"] < 100]
    assert vqa["total"] == len(records) == 12 and vqa["pages"] == 1 and vqa["dir"] == f"{REPORT_FILES}/shapes-vqa"
    errored = [r for r in records if "error" in r]
    assert {f["name"]: f["count"] for f in vqa["filters"]} == {"wrong": len(wrong), "empty": 0, "unparsed": 0,
                                                               "errored": len(errored)}
    assert wrong and errored
    assert [f["na"] for f in vqa["filters"]] == [False, False, True, False]  # no yes/no rule: unparsed is n/a
    assert [f["na"] for f in datasets["shapes-caption"]["filters"]][0] and "CIDEr has no full mark" in \
        datasets["shapes-caption"]["notes"][0]
    shown = page_records(html, vqa)
    assert [r["id"] for r in shown] == [r["id"] for r in records]
    assert all((html.parent / vqa["dir"] / r["t"]).is_file() for r in shown)  # every input has its thumbnail
    text = html.read_text()
    for fact in ("double:pixel?wrong=0.3&amp;fail=0003", "ddit_eval.shapes @ 1", "vqa_rule=official", "version torch"):
        assert fact in text
    assert "<script src=" not in text and "http://" not in text and "https://" not in text  # offline, no CDN


def test_thumbnails_are_written_once(copy_of):
    run = copy_of("base")
    shutil.rmtree(run / REPORT_FILES, ignore_errors=True)
    write_run_html(run)
    thumbs = sorted((run / REPORT_FILES / "shapes-vqa" / "thumbs").glob("*.jpg"))
    assert thumbs and len(thumbs) < 12  # questions about one image share its thumbnail
    before = {p: p.stat().st_mtime_ns for p in thumbs}
    write_run_html(run)
    assert {p: p.stat().st_mtime_ns for p in thumbs} == before


def test_hostile_text_stays_text(copy_of):
    run = copy_of("base")
    path = run / "samples" / "shapes-vqa.jsonl"
    records = log(run, "shapes-vqa")
    records[0]["question"] = 'What </script><img src=x onerror="alert(1)"> is <b>this</b>?'
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    html = write_run_html(run)
    assert "</script><img" not in (run / REPORT_FILES / "shapes-vqa" / "page-0001.js").read_text()
    assert page_records(html, manifest(html)["datasets"]["shapes-vqa"])[0]["q"] == records[0]["question"]


def test_missing_input_images_are_said_once(copy_of, monkeypatch):
    run = copy_of("base")
    shutil.rmtree(run / REPORT_FILES, ignore_errors=True)  # thumbnails written before are not made again
    calls = []

    def unavailable(self, sample, seed):
        calls.append(sample.id)
        raise OSError("dataset lmms-lab/VQAv2 is not in the offline cache")

    monkeypatch.setattr(type(SavedRun(run).task("shapes-vqa")), "build_request", unavailable)
    datasets = manifest(write_run_html(run))["datasets"]
    assert len(calls) == 1  # gave up after the first failure: 214K samples do not fail 214K times
    assert "no thumbnails: the input images could not be read (dataset lmms-lab/VQAv2 is not in the offline cache)" \
        in datasets["shapes-vqa"]["notes"]
    monkeypatch.setattr(SavedRun, "task", lambda self, name: (_ for _ in ()).throw(ValueError("unknown task 'x'")))
    run2 = copy_of("cand")
    notes = manifest(write_run_html(run2))["datasets"]["shapes-pope"]["notes"]
    assert "no thumbnails: the task cannot be rebuilt here (unknown task 'x')" in notes


def test_several_runs_keep_their_data_apart(runs, tmp_path):
    html = write_runs_html([runs["base"], runs["cand"], runs["geneval"]], tmp_path / "out" / "all.html")
    datasets = manifest(html)["datasets"]
    assert {"run1/shapes-vqa", "run2/shapes-vqa", "run3/shapes-geneval"} <= set(datasets)
    assert datasets["run2/shapes-mme"]["dir"] == "all_files/run2/shapes-mme"
    assert (tmp_path / "out" / "all_files" / "run2" / "shapes-mme" / "flags.js").is_file()
    text = html.read_text()
    assert "headlines across runs" in text and 'data-view="geneval:run3/shapes-geneval"' in text


def _expected_changes(base_dir, cand_dir, task):
    cand = {r["id"]: r for r in log(cand_dir, task)}
    out = []
    for b in log(base_dir, task):
        c = cand[b["id"]]
        if ("error" in b) != ("error" in c) or ("error" not in b and "error" not in c
                                                and b["scores"]["accuracy"] != c["scores"]["accuracy"]):
            out.append(b["id"])
    return out


def test_compare_page_has_the_verdict_and_the_changed_samples(runs, tmp_path):
    html = write_compare_html(runs["base"], runs["cand"], tmp_path / "gate.html")
    text = html.read_text()
    assert "gate: FAIL" in text and "samples the baseline scored failed in the candidate" in text
    assert "verdict per metric" in text and "shapes-mme</td><td>accuracy" in text
    datasets = manifest(html)["datasets"]
    vqa = datasets["shapes-vqa"]
    expected = _expected_changes(runs["base"], runs["cand"], "shapes-vqa")
    assert expected and vqa["kind"] == "compare" and vqa["total"] == len(expected)
    shown = page_records(html, vqa)
    assert [r["id"] for r in shown] == expected
    worse = [r for r in shown if r["f"] & 1]
    assert all("e" in r["n"] or r["n"]["s"]["accuracy"] < r["b"]["s"]["accuracy"] for r in worse)


def test_geneval_section_words_each_images_verdict(runs):
    html = write_run_html(runs["geneval"])
    text = html.read_text()
    section = re.search(r'<section class="view" data-view="geneval:shapes-geneval".*?</section>\s*(?=<section class="view")',
                        text, re.S)[0]
    assert section.count('class="prompt') == len(log(runs["geneval"], "shapes-geneval")) == 6
    assert section.count("<figure class=\"gen") == 24 and "expected 1 circle, found 0" in section


def test_ablation_section_inlines_its_plots_and_tables(runs):
    text = write_run_html(runs["ablation"]).read_text()
    section = re.search(r'data-view="ablation:steps-ablation".*?</section>', text, re.S)[0]
    assert section.count('src="data:image/png;base64,') == 1 and "<th>T=2</th>" in section
    assert "steps-ablation.md" in section


def test_a_moved_folder_still_finds_its_generated_images(runs):
    run = SavedRun(runs["geneval"])
    moved = image_path(run, "/gone/elsewhere/samples/shapes-geneval/geneval-00000_0.png", "shapes-geneval")
    assert moved == runs["geneval"] / "samples" / "shapes-geneval" / "geneval-00000_0.png" and moved.is_file()


def test_hub_task_thumbnails_come_from_its_data_and_their_absence_is_said(tmp_path, monkeypatch):
    from helpers import benchmark_data

    from ddit_eval.cli import main

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    data = benchmark_data.make_hub_snapshot("VQAv2", tmp_path / "hub")
    run = tmp_path / "run"
    assert main(["run", "--tasks", "vqav2", "--set", f"vqav2.dataset={data}", "--model", "double:pixel",
                 "--output-dir", str(run)]) == 0
    entry = manifest(write_run_html(run))["datasets"]["vqav2"]
    shown = page_records(run / REPORT_HTML, entry)
    assert shown and all((run / entry["dir"] / r["t"]).is_file() for r in shown)
    assert entry["notes"] == ["wrong = per-sample accuracy below 100"]
    shutil.rmtree(run / REPORT_FILES)
    shutil.move(data, tmp_path / "moved-away")
    entry = manifest(write_run_html(run))["datasets"]["vqav2"]
    assert entry["notes"][1].startswith("no thumbnails: ") and "no such folder" in entry["notes"][1]
    assert not any("t" in r for r in page_records(run / REPORT_HTML, entry))

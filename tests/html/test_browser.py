"""Each page kind in a real browser (headless Chromium): the rows after the scripts ran, filters, search and
paging from the address, the real controls driven from a frame, no console errors, and a screenshot of each."""

import json
import os
from pathlib import Path

import pytest
from browser import load, needs_chromium, screenshot
from helpers.harness import samples as log

from ddit_eval.html_report import write_compare_html, write_run_html, write_runs_html
from ddit_eval.metrics.vqa import answer_texts
from ddit_eval.metrics.yesno import is_unparsed

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    return tmp_path_factory.mktemp("chromium-profile")


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    return {"base": write_run_html(runs["base"]), "long": write_run_html(runs["long"]),
            "geneval": write_run_html(runs["geneval"]), "ablation": write_run_html(runs["ablation"]),
            "compare": write_compare_html(runs["base"], runs["cand"], out / "gate.html"),
            "several": write_runs_html([runs["base"], runs["cand"]], out / "several.html")}


def clean(dom):
    """The page ran without an error: none caught by its handler, none on the console, and it finished."""
    assert "data-errors" not in dom.root and not dom.console_errors, (dom.root.get("data-errors"), dom.console_errors)
    assert dom.root.get("data-ready") == "1"


def ids(records, keep=lambda r: True):
    return [r["id"] for r in records if keep(r)]


def wrong(r):
    return "error" not in r and r["scores"]["accuracy"] < 100


def mentions(word):
    def keep(r):
        answers = answer_texts(r["answers"]) if "answers" in r else [str(r.get("answer", ""))]
        return word in " ".join([r["id"], r.get("question", ""), r.get("prediction", ""), *answers]).lower()
    return keep


def test_the_overview_opens_first(pages, profile):
    dom = load(pages["base"], profile=profile)
    clean(dom)
    assert dom.visible_view == "overview" and dom.rows == []
    assert "hidden" in dom.views["samples"]  # the sample browser waits for a #task=
    assert '#task=shapes-vqa&amp;filter=wrong' in dom.html


@pytest.mark.parametrize("hash_, task, keep", [
    ("#task=shapes-vqa", "shapes-vqa", lambda r: True),
    ("#task=shapes-vqa&filter=wrong", "shapes-vqa", wrong),
    ("#task=shapes-vqa&filter=errored", "shapes-vqa", lambda r: "error" in r),
    ("#task=shapes-pope&filter=unparsed", "shapes-pope", lambda r: "error" not in r and is_unparsed(r["prediction"], "pope")),
    ("#task=shapes-vqa&q=CROSS", "shapes-vqa", mentions("cross")),
    ("#task=shapes-vqa&filter=wrong&q=how%20many", "shapes-vqa", lambda r: wrong(r) and mentions("how many")(r)),
])
def test_rows_filters_and_search_from_the_address(pages, runs, profile, hash_, task, keep):
    dom = load(pages["base"], hash_, profile=profile)
    clean(dom)
    expected = ids(log(runs["base"], task), keep)
    assert dom.visible_view == "samples" and dom.rows == expected
    assert dom.views["samples"]["data-matches"] == str(len(expected))


def test_paging_over_several_data_files(pages, runs, profile):
    records = log(runs["long"], "shapes-vqa")
    assert len(records) == 450
    first = load(pages["long"], "#task=shapes-vqa", profile=profile)
    third = load(pages["long"], "#task=shapes-vqa&page=3", profile=profile)
    clean(first), clean(third)
    assert first.rows == ids(records)[:200] and third.rows == ids(records)[400:]
    assert "page 3 of 3" in third.texts["samples-status"]
    errored = load(pages["long"], "#task=shapes-vqa&filter=errored", profile=profile)
    clean(errored)
    failed = [i for i, r in enumerate(records) if "error" in r]
    assert failed[0] < 200 and failed[-1] >= 400  # the matches lie on the first and the third data file
    assert errored.rows == [records[i]["id"] for i in failed]
    second = load(pages["long"], "#task=shapes-vqa&filter=wrong&page=2", profile=profile)
    clean(second)
    assert second.rows == ids(records, wrong)[200:400]


def _driver(page: Path, steps: str) -> Path:
    """A page beside `page` that loads it in a frame, runs `steps` on its controls, and copies out the rows."""
    driver = page.parent / f"driver-{abs(hash(steps))}.html"
    driver.write_text(f"""<html><body><iframe id=f src="{page.name}#task=shapes-vqa"></iframe><pre id=out></pre><script>
const f = document.getElementById("f"), wait = (ms) => new Promise((r) => setTimeout(r, ms));
f.onload = async () => {{
  await wait(300); const d = f.contentDocument, w = f.contentWindow;
  {steps}
  await wait(500);
  const rows = [...d.querySelectorAll("tr.sample")].map((t) => t.dataset.id);
  document.getElementById("out").textContent = JSON.stringify({{rows, hash: w.location.hash,
    errors: d.documentElement.getAttribute("data-errors")}});
}};
</script></body></html>""")
    return driver


@pytest.mark.parametrize("steps, keep", [
    ('const s = d.getElementById("samples-filter"); s.value = "wrong"; s.dispatchEvent(new Event("change", {bubbles: true}));',
     lambda records: ids(records, wrong)[:200]),
    ('d.getElementById("samples-search").value = "crosses"; d.getElementById("samples-controls").requestSubmit();',
     lambda records: ids(records, mentions("crosses"))),
    ('[...d.querySelectorAll(".pager a")].find((a) => a.textContent.includes("next")).click();',
     lambda records: ids(records)[200:400]),
])
def test_the_controls_change_the_rows(pages, runs, profile, steps, keep):
    dom = load(_driver(pages["long"], steps), profile=profile, allow_file_access_from_files=True)
    found = json.loads(dom.texts["out"])
    assert found["errors"] is None and not dom.console_errors
    assert found["rows"] == keep(log(runs["long"], "shapes-vqa"))


def test_geneval_view_by_tag_and_failed_only(runs, profile, copy_of):
    run = copy_of("geneval")
    results = run / "shapes-geneval_results.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    first = rows[0]["prompt"]
    for row in rows:  # the double draws nothing GenEval passes: call the first prompt's images right
        row["correct"] = row["prompt"] == first
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = write_run_html(run)
    prompts = {r["prompt"]: r["tag"] for r in rows}
    every = load(page, "#geneval=shapes-geneval", profile=profile)
    clean(every)
    assert every.visible_view == "geneval:shapes-geneval" and every.views[every.visible_view]["data-shown"] == "6"
    failed = load(page, "#geneval=shapes-geneval&fail=1", profile=profile)
    assert failed.views["geneval:shapes-geneval"]["data-shown"] == "5"
    tag = rows[-1]["tag"]
    one_tag = load(page, f"#geneval=shapes-geneval&tag={tag}", profile=profile)
    assert one_tag.views["geneval:shapes-geneval"]["data-shown"] == str(sum(t == tag for t in prompts.values()))


def test_ablation_view(pages, profile):
    dom = load(pages["ablation"], "#ablation=steps-ablation", profile=profile)
    clean(dom)
    assert dom.visible_view == "ablation:steps-ablation" and "data:image/png;base64," in dom.html


@pytest.mark.parametrize("task", ["shapes-vqa", "shapes-mme"])
def test_compare_page_lists_the_changed_samples_side_by_side(pages, runs, profile, task):
    overview = load(pages["compare"], profile=profile)
    clean(overview)
    assert "gate: FAIL" in overview.html
    base, cand = log(runs["base"], task), {r["id"]: r for r in log(runs["cand"], task)}

    def changed(r, worse_only=False):
        c = cand[r["id"]]
        if ("error" in r) != ("error" in c):
            return not worse_only or "error" in c
        if "error" in r:
            return False
        return c["scores"]["accuracy"] < r["scores"]["accuracy"] if worse_only else c["scores"] != r["scores"]

    every = load(pages["compare"], f"#task={task}", profile=profile)
    clean(every)
    assert every.rows == ids(base, changed) and every.rows
    worse = load(pages["compare"], f"#task={task}&filter=worse", profile=profile)
    assert worse.rows == ids(base, lambda r: changed(r, True)) and worse.rows


def test_several_runs_page(pages, runs, profile):
    dom = load(pages["several"], "#task=run2/shapes-vqa&filter=errored", profile=profile)
    clean(dom)
    assert dom.rows == ids(log(runs["cand"], "shapes-vqa"), lambda r: "error" in r)


def test_hostile_text_is_shown_as_text(copy_of, profile):
    run = copy_of("base")
    records = log(run, "shapes-vqa")
    records[0]["question"] = 'What </script><img id=injected src=x onerror="alert(1)"> is <b>this</b>?'
    (run / "samples" / "shapes-vqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    dom = load(write_run_html(run), "#task=shapes-vqa", profile=profile)
    clean(dom)
    assert dom.rows[0] == records[0]["id"] and "injected" not in dom.texts
    assert "What &lt;/script&gt;&lt;img id=injected" in dom.html


def test_empty_answers_filter(copy_of, profile):
    run = copy_of("base")
    records = log(run, "shapes-vqa")
    records[1]["prediction"], records[4]["prediction"] = "</s>", "  <pad> "
    (run / "samples" / "shapes-vqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    dom = load(write_run_html(run), "#task=shapes-vqa&filter=empty", profile=profile)
    clean(dom)
    assert dom.rows == [records[1]["id"], records[4]["id"]] and "&lt;/s&gt;" in dom.html  # shown as it was


SHOTS = {"run": ("base", ""), "samples-filtered": ("base", "#task=shapes-vqa&filter=wrong"),
         "geneval": ("geneval", "#geneval=shapes-geneval"), "ablation": ("ablation", "#ablation=steps-ablation"),
         "compare": ("compare", ""), "compare-samples": ("compare", "#task=shapes-vqa")}


def test_a_screenshot_of_each_page_kind(pages, profile, tmp_path):
    """Written to $DDIT_HTML_SHOTS when set (to look at), else to a temporary folder."""
    out = Path(os.environ.get("DDIT_HTML_SHOTS") or tmp_path)
    for name, (page, hash_) in SHOTS.items():
        shot = screenshot(pages[page], hash_, out / f"{name}.png", profile=profile)
        assert shot.stat().st_size > 10_000, name

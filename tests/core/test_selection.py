"""--limit N: a seeded selection spread over a task's strata, the same whatever the world or batch size."""

import pytest

from ddit_eval.api import Sample, Task
from ddit_eval.selection import _allocate, select_samples


class Sorted(Task):
    """POPE-like: 6 adversarial, then 3 popular, then 1 random, in that order."""

    name = "sorted-splits"
    stratum_name = "split"

    def samples(self):
        splits = ["adversarial"] * 6 + ["popular"] * 3 + ["random"]
        return iter(Sample(f"q{i}", {"split": s}) for i, s in enumerate(splits))

    def stratum(self, sample):
        return sample.doc["split"]


class Plain(Sorted):
    name = "plain"

    def stratum(self, sample):
        return None


def test_allocation_gives_every_stratum_one_then_shares_by_size():
    # 5 picks over 6/3/1: shares 5*6/10 = 3, 1.5, 0.5 -> floors 3, 1, 0; random raised to its one -> 3, 1, 1
    assert _allocate({"adversarial": 6, "popular": 3, "random": 1}, 5) == {"adversarial": 3, "popular": 1, "random": 1}
    # 7 picks: shares 4.2, 2.1, 0.7 -> floors 4, 2, 0 -> random 1 -> 7
    assert _allocate({"adversarial": 6, "popular": 3, "random": 1}, 7) == {"adversarial": 4, "popular": 2, "random": 1}
    # 4 picks over 10/1/1: shares 3.33, .33, .33 -> 3, 1, 1 = 5 > 4: the largest one gives back -> 2, 1, 1
    assert _allocate({"a": 10, "b": 1, "c": 1}, 4) == {"a": 2, "b": 1, "c": 1}
    assert _allocate({"adversarial": 6, "popular": 3, "random": 1}, 2) == {"adversarial": 1, "popular": 1, "random": 0}
    assert _allocate({"a": 2, "b": 2}, 4) == {"a": 2, "b": 2}


def test_a_limit_reaches_every_split_in_task_order_and_says_how():
    chosen = select_samples(Sorted(), 5, seed=0)
    splits = [s.doc["split"] for s in chosen.samples]
    assert splits.count("adversarial") == 3 and splits.count("popular") == 1 and splits.count("random") == 1
    ids = [s.id for s in chosen.samples]
    assert ids == sorted(ids, key=lambda i: int(i[1:]))  # the task's order, not the draw's
    assert chosen.note == ("scored 5 samples only (--limit 5), a stratified selection by split (seed 0): "
                           "adversarial 3 of 6, popular 1 of 3, random 1 of 1")


def test_the_draw_depends_on_the_seed_only():
    first, again = select_samples(Sorted(), 4, seed=0), select_samples(Sorted(), 4, seed=0)
    assert [s.id for s in first.samples] == [s.id for s in again.samples]
    draws = {tuple(s.id for s in select_samples(Sorted(), 4, seed=k).samples) for k in range(8)}
    assert len(draws) > 1  # another seed, another selection


def test_a_limit_below_the_strata_count_names_the_split_left_out():
    chosen = select_samples(Sorted(), 2, seed=0)
    assert "no sample of random (raise --limit to 3 or more to reach every one)" in chosen.note


@pytest.mark.parametrize("limit", [None, 20])
def test_no_cut_and_no_strata_keep_the_task_order(limit):
    assert [s.id for s in select_samples(Sorted(), limit).samples] == [f"q{i}" for i in range(10)]
    assert select_samples(Sorted(), limit).note is None


def test_a_task_without_strata_keeps_its_first_samples():
    chosen = select_samples(Plain(), 3)
    assert [s.id for s in chosen.samples] == ["q0", "q1", "q2"] and chosen.note is None


class Paired(Sorted):
    """MME-like: two questions per image (`question_id` names the image), two categories."""

    name = "paired"
    stratum_name = "category"

    def samples(self):
        return iter(Sample(f"{c}{i}-{k}", {"split": c, "question_id": f"{c}{i}"})
                    for c in ("count", "color") for i in range(4) for k in (0, 1))

    def group_of(self, record):
        return record["question_id"]


def test_a_limit_keeps_an_images_two_questions_together():
    chosen = select_samples(Paired(), 5, seed=3)
    images = [s.doc["question_id"] for s in chosen.samples]
    assert all(images.count(i) == 2 for i in images)  # never one question of a pair
    # 5 over two categories of 8: shares 2.5 each -> floors 2, 2, the tie's extra pick to the name first in
    # order (color) -> 3 and 2 -> whole pairs: color 4 (2 images), count 2 (1 image)
    assert len(chosen.samples) == 6 and "(seed 3, whole resampling groups): count 2 of 8, color 4 of 8" in chosen.note

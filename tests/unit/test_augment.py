"""EDA word ops: pure functions of (seed, epoch, row), train vocabulary only."""

from __future__ import annotations

import pytest

from densexp_tui.core.augment import (
    AugmentPlan,
    augment_texts,
    make_plan,
    preview_pairs,
    random_delete,
    random_insert,
    random_swap,
    row_rng,
)

pytestmark = pytest.mark.timeout(30)

TEXTS = [
    "the film was slow but the ending made up for it",
    "great acting and a sharp script",
    "i would not watch this again",
    "one",
    "",
]


def test_same_seed_epoch_row_gives_the_same_texts() -> None:
    plan = make_plan(["swap", "delete", "insert"], 0.2, TEXTS)
    assert augment_texts(TEXTS, plan, seed=3, epoch=1) == augment_texts(TEXTS, plan, 3, 1)


def test_a_row_does_not_depend_on_the_rows_before_it() -> None:
    """Resume and subsetting safe: row k's text depends on (seed, epoch, k) only."""
    plan = make_plan(["swap", "insert"], 0.3, TEXTS)
    whole = augment_texts(TEXTS, plan, seed=3, epoch=2)
    from densexp_tui.core.augment import augment_text

    assert augment_text(TEXTS[2], plan, row_rng(3, 2, 2)) == whole[2]


def test_each_epoch_is_fresh_and_seeds_differ() -> None:
    plan = make_plan(["swap", "delete", "insert"], 0.3, TEXTS)
    epochs = [augment_texts(TEXTS, plan, seed=1, epoch=e) for e in range(4)]
    assert len({tuple(texts) for texts in epochs}) == 4
    assert augment_texts(TEXTS, plan, 1, 0) != augment_texts(TEXTS, plan, 2, 0)


def test_swap_keeps_the_words_and_changes_the_order() -> None:
    words = TEXTS[0].split()
    plan = AugmentPlan(("swap",), 0.5, ())
    swapped = random_swap(words, plan, row_rng(0, 0, 0))
    assert sorted(swapped) == sorted(words) and swapped != words


def test_delete_drops_about_the_share_and_never_everything() -> None:
    words = ("w " * 1000).split()
    kept = random_delete(words, AugmentPlan(("delete",), 0.3, ()), row_rng(0, 0, 0))
    assert 600 < len(kept) < 800
    assert len(random_delete(["a", "b"], AugmentPlan(("delete",), 1.0, ()), row_rng(0, 0, 1))) == 1


def test_insert_adds_train_words_only() -> None:
    vocabulary = ("alpha", "beta")
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    out = random_insert(words, AugmentPlan(("insert",), 0.3, vocabulary), row_rng(0, 0, 0))
    added = list(out)
    for word in words:
        added.remove(word)
    assert len(added) == 3 and set(added) <= set(vocabulary)


def test_short_texts_are_left_alone() -> None:
    plan = make_plan(["swap", "delete", "insert"], 1.0, TEXTS)
    out = augment_texts(TEXTS, plan, seed=0, epoch=0)
    assert out[3:] == ["one", ""]


def test_plan_refuses_unknown_ops_and_bad_shares() -> None:
    with pytest.raises(ValueError, match="unknown augment op 'shuffle'"):
        AugmentPlan(("shuffle",), 0.1, ())
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        AugmentPlan(("swap",), 0.0, ())


def test_preview_pairs_originals_with_their_augmented_form() -> None:
    pairs = preview_pairs(TEXTS, ["delete"], 0.5, seed=5, n_rows=2)
    assert [original for original, _ in pairs] == TEXTS[:2]
    assert all(len(new.split()) < len(old.split()) for old, new in pairs)

"""The built-in `reviews` set: big enough, balanced, deterministic, learnable but not trivial."""

from __future__ import annotations

import time
from collections import Counter

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from densexp_tui.core.catalog import REVIEWS_LABELS, REVIEWS_SIZE
from densexp_tui.engine.reviews import generate_reviews


def test_has_at_least_3000_reviews_and_3_roughly_balanced_classes():
    reviews = generate_reviews()
    assert len(reviews.texts) == len(reviews.labels) == REVIEWS_SIZE >= 3000
    assert reviews.label_names == list(REVIEWS_LABELS)
    counts = Counter(reviews.labels)
    assert set(counts) == {0, 1, 2}
    assert min(counts.values()) > 0.3 * len(reviews.labels)


def test_same_seed_gives_same_reviews_and_another_seed_does_not():
    first, again, other = (generate_reviews(seed=seed) for seed in (5, 5, 6))
    assert first == again
    assert first.texts != other.texts


def test_generation_is_fast():
    started = time.perf_counter()
    generate_reviews()
    assert time.perf_counter() - started < 1.0


def test_texts_vary_and_no_single_keyword_gives_the_label_away():
    reviews = generate_reviews()
    assert len(set(reviews.texts)) > 0.95 * len(reviews.texts)
    for word in ("good", "bad", "not", "great", "awful"):
        labels_with_word = {
            label
            for text, label in zip(reviews.texts, reviews.labels, strict=True)
            if word in text.lower().replace(".", " ").replace(",", " ").split()
        }
        assert len(labels_with_word) == 3, f"{word!r} appears in only {labels_with_word}"


def test_tfidf_logistic_regression_baseline_lands_between_070_and_095():
    reviews = generate_reviews()
    train_x, test_x, train_y, test_y = train_test_split(
        reviews.texts, reviews.labels, test_size=0.2, random_state=0, stratify=reviews.labels
    )
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    classifier = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(train_x), train_y)
    accuracy = classifier.score(vectorizer.transform(test_x), test_y)
    assert 0.70 <= accuracy <= 0.95, accuracy

"""The built-in ``reviews`` dataset: product reviews the project generates itself.

Three classes (``negative``, ``neutral``, ``positive``), deterministic from a seed, and no
download. It is meant to be *learnable but not trivial*, so that a model's progress shows
on the dashboard: a TF-IDF + logistic-regression baseline lands around 0.8-0.9 test accuracy
(the unit tests pin 0.70-0.95). What keeps it from being separable by one keyword:

- every class draws on the same vocabulary (products, aspects, praise and complaint words);
- negation flips polarity ("not bad", "not great", "never had a problem");
- mixed reviews: positive and negative reviews carry a minority sentence of the other
  polarity, contrast ("..., but ...") decides which side wins, and neutral reviews
  balance both sides or stay lukewarm;
- filler sentences with no sentiment, and varied templates and lengths;
- a few percent of labels flipped at random, as in real crowd-labelled data.

Pure Python ``random`` on a private ``random.Random(seed)`` keeps it fast (under 0.1 s for
4,000 reviews) and identical across NumPy versions and platforms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from densexp_tui.core.catalog import REVIEWS_LABELS, REVIEWS_SEED, REVIEWS_SIZE

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2

PRODUCTS = [
    "headset", "blender", "laptop", "backpack", "kettle", "phone case", "desk lamp",
    "coffee maker", "keyboard", "treadmill", "vacuum", "monitor", "tent", "air fryer",
    "smartwatch", "office chair", "speaker", "toaster", "jacket", "water bottle",
]
ASPECTS = [
    "battery", "sound", "build quality", "price", "design", "screen", "fit", "material",
    "handle", "setup", "instructions", "packaging", "customer service", "warranty", "size",
    "weight", "noise level", "finish", "buttons", "app", "cable", "lid", "strap", "motor",
]
PLURAL_ASPECTS = {"instructions", "buttons"}
PRAISE = [
    "great", "excellent", "solid", "reliable", "comfortable", "impressive", "sturdy",
    "fantastic", "good", "nice", "well made", "perfect", "smooth", "lovely",
]
COMPLAINTS = [
    "awful", "flimsy", "disappointing", "terrible", "noisy", "cheap", "poor", "bad",
    "useless", "fragile", "annoying", "broken", "weak", "clunky",
]
LUKEWARM = [
    "okay", "fine", "average", "acceptable", "decent", "so-so", "ordinary", "passable",
    "standard", "unremarkable",
]
INTENSIFIERS = ["", "", "", "really ", "very ", "quite ", "pretty ", "rather ", "surprisingly "]

# Sentence templates. {a} aspect, {p} product, {w} a polarity word, {i} an intensifier.
POSITIVE_SENTENCES = [
    "The {a} {be} {i}{w}.",
    "I love the {a}.",
    "The {a} {be} not {neg} at all.",
    "{I}{w} {a}, no complaints.",
    "Honestly the {a} turned out {i}{w}.",
    "Never had a problem with the {a}.",
    "The {a} works exactly as described.",
    "I was worried about the {a}, but {it} {be} {w}.",
    "The {a} {be} not {neg}.",
    "Can't fault the {a}.",
]
NEGATIVE_SENTENCES = [
    "The {a} {be} {i}{w}.",
    "I hate the {a}.",
    "The {a} {be} not {pos} at all.",
    "{I}{w} {a}, sadly.",
    "Honestly the {a} turned out {i}{w}.",
    "Had nothing but problems with the {a}.",
    "The {a} does not work as described.",
    "I hoped the {a} would be {pos}, but {it} {be} {w}.",
    "The {a} {be} not {pos}.",
    "The {a} stopped working after a week.",
]
NEUTRAL_SENTENCES = [
    "The {a} {be} {i}{w}.",
    "The {a} {be} neither {pos} nor {neg}.",
    "Nothing special about the {a}.",
    "The {a} {be} what you would expect for the price.",
    "The {a} {be} {w}, I guess.",
    "Not sure how I feel about the {a} yet.",
    "The {a} {be} not {pos}, not {neg} either.",
]
FILLER_SENTENCES = [
    "I bought this {p} {when}.",
    "It arrived on {day}.",
    "I use the {p} {how_often}.",
    "I already own an older {p} like this.",
    "Got it as a gift for my {who}.",
    "It came in a {colour} box.",
    "I compared a few options before buying the {p}.",
]
OPENERS = {
    POSITIVE: ["Very happy with this {p}.", "Great {p}.", "Would buy this {p} again.",
               "Recommended.", "This {p} exceeded my expectations."],
    NEGATIVE: ["Very unhappy with this {p}.", "Bad {p}.", "Would not buy this {p} again.",
               "Not recommended.", "This {p} fell short of my expectations."],
    NEUTRAL: ["It is an okay {p}.", "Average {p}.", "Might buy this {p} again, might not.",
              "Mixed feelings.", "This {p} met my expectations, no more."],
}
VERDICTS = {
    POSITIVE: ["Overall, I am happy with it.", "Worth every penny.", "Five stars from me.",
               "Overall it is not bad at all.", "I would recommend it to a friend."],
    NEGATIVE: ["Overall, I am not happy with it.", "Not worth the money.", "Returning it.",
               "Overall it is not good at all.", "I would not recommend it to anyone."],
    NEUTRAL: ["Overall, it is fine for now.", "It is worth it if on sale.", "Three stars.",
              "Overall it is not bad, not great.", "I might recommend it, depending on the use."],
}
WHEN = ["last week", "a month ago", "in the spring", "two years ago", "yesterday", "on sale"]
DAYS = ["Monday", "Tuesday", "Friday", "the weekend", "time", "a rainy day"]
HOW_OFTEN = ["every day", "twice a week", "at work", "on trips", "now and then", "daily"]
WHO = ["sister", "dad", "friend", "partner", "neighbour", "son"]
COLOURS = ["brown", "white", "plain", "damaged", "tiny", "huge"]

LABEL_NOISE = 0.04
# How often a review states its verdict outright; these set how hard the set is.
OPENER_RATE = 0.45
VERDICT_RATE = 0.3
ON_LABEL_RATE = 0.68


@dataclass(frozen=True)
class Reviews:
    """Generated reviews: ``labels[i]`` indexes ``label_names`` for ``texts[i]``."""

    texts: list[str]
    labels: list[int]
    label_names: list[str]


def generate_reviews(n: int = REVIEWS_SIZE, seed: int = REVIEWS_SEED) -> Reviews:
    """``n`` reviews with balanced classes; the same ``(n, seed)`` gives the same reviews."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[int] = []
    for index in range(n):
        label = index % 3  # balanced before noise; order shuffled below
        texts.append(_review(rng, label))
        labels.append(_noisy(rng, label))
    order = list(range(n))
    rng.shuffle(order)
    return Reviews(
        texts=[texts[i] for i in order],
        labels=[labels[i] for i in order],
        label_names=list(REVIEWS_LABELS),
    )


def _noisy(rng: random.Random, label: int) -> int:
    """The label, or with probability LABEL_NOISE a different one (annotator mistakes)."""
    if rng.random() >= LABEL_NOISE:
        return label
    return rng.choice([other for other in (NEGATIVE, NEUTRAL, POSITIVE) if other != label])


def _review(rng: random.Random, label: int) -> str:
    """One review: optional opener, body sentences, optional filler and verdict."""
    product = rng.choice(PRODUCTS)
    sentences = []
    if rng.random() < OPENER_RATE:
        sentences.append(_fill(rng, rng.choice(OPENERS[label]), product))
    for polarity in _sentence_plan(rng, label):
        sentences.append(_sentiment_sentence(rng, polarity, product))
    if rng.random() < 0.6:
        sentences.insert(rng.randrange(0, len(sentences) + 1),
                         _fill(rng, rng.choice(FILLER_SENTENCES), product))
    if rng.random() < VERDICT_RATE:
        sentences.append(rng.choice(VERDICTS[label]))
    return " ".join(s for s in sentences if s)


def _sentence_plan(rng: random.Random, label: int) -> list[int]:
    """Polarities of the body sentences: mostly on-label, with realistic mixing."""
    count = rng.choice([1, 2, 2, 3, 3, 4])
    if label == NEUTRAL:
        # Lukewarm sentences, or a balanced mix of praise and complaint.
        choices = [NEUTRAL, NEUTRAL, POSITIVE, NEGATIVE]
        return [rng.choice(choices) for _ in range(count)]
    other = NEGATIVE if label == POSITIVE else POSITIVE
    plan = [
        label if rng.random() < ON_LABEL_RATE else rng.choice([other, NEUTRAL])
        for _ in range(count)
    ]
    if label not in plan:
        plan[-1] = label  # a review always says its side at least once
    return plan


def _sentiment_sentence(rng: random.Random, polarity: int, product: str) -> str:
    """A sentence about one aspect whose meaning has ``polarity`` (possibly via negation)."""
    templates, words = {
        POSITIVE: (POSITIVE_SENTENCES, PRAISE),
        NEGATIVE: (NEGATIVE_SENTENCES, COMPLAINTS),
        NEUTRAL: (NEUTRAL_SENTENCES, LUKEWARM),
    }[polarity]
    intensifier = rng.choice(INTENSIFIERS)
    aspect = rng.choice(ASPECTS)
    sentence = rng.choice(templates).format(
        a=aspect,
        be="are" if aspect in PLURAL_ASPECTS else "is",
        it="they" if aspect in PLURAL_ASPECTS else "it",
        w=rng.choice(words),
        i=intensifier,
        I=intensifier.capitalize(),
        pos=rng.choice(PRAISE),
        neg=rng.choice(COMPLAINTS),
        p=product,
    )
    return sentence[0].upper() + sentence[1:]


def _fill(rng: random.Random, template: str, product: str) -> str:
    """An opener or filler sentence about ``product`` with its blanks filled in."""
    return template.format(
        p=product,
        when=rng.choice(WHEN),
        day=rng.choice(DAYS),
        how_often=rng.choice(HOW_OFTEN),
        who=rng.choice(WHO),
        colour=rng.choice(COLOURS),
    )

"""The gentle-signposting detector, without the app: rules, classifier, combination, data and speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forum.care import detector as care
from forum.care.detector import CareResult, Classifier, Detector, get_detector, normalise, split_sentences

EVAL = Path(__file__).resolve().parents[2] / "bench" / "data" / "care_sentences.jsonl"

CRISIS = [
    "I keep thinking they'd be better off without me.",
    "I can't do this anymore, I don't want to be here.",
    "Sometimes I think my family would manage fine without me.",
    "I've been cutting myself again and nobody knows.",
    "I'm scared I'll hurt the baby when she won't stop crying.",
    "I want to die and this is not a joke.",
    "Last night I felt I couldn't go on.",
]
NOT_CRISIS = [
    "I wanted the ground to swallow me.",
    "This is killing me, lol.",
    "The guilt is killing me.",
    "I could have died of embarrassment.",
    "I was so embarrassed I wanted to die.",
    "I'd never hurt the baby.",
    "I don't want to die, I just want to sleep for a week.",
    "I want to die lol",
    "Last year I felt I couldn't go on, but with help I'm so much better now.",
    "If you're feeling hopeless, please talk to your GP.",
    "I burned myself on the kettle by accident.",
    "My partner says the kids will cope without me for one night.",
]
ORDINARY = [
    "I cried the whole way to work.",
    "I felt like the worst mum in the world.",
    "She screamed at the nursery door and I had to walk away.",
    "We're trying a sticker chart for the potty.",
]


@pytest.fixture(scope="module")
def rules_only() -> Detector:
    return Detector(use_classifier=False)


@pytest.fixture(scope="module")
def full() -> Detector:
    detector = Detector()
    assert detector.uses_classifier, "the similar-stories embedder should load in tests"
    return detector


# ---------------------------------------------------------------- rule layer


@pytest.mark.parametrize("text", CRISIS)
def test_phrases_catch_crisis_language(rules_only: Detector, text: str) -> None:
    assert rules_only.check(text).signpost


@pytest.mark.parametrize("text", NOT_CRISIS + ORDINARY)
def test_idioms_jokes_negation_recovery_and_advice_do_not_trigger(rules_only: Detector, text: str) -> None:
    assert not rules_only.check(text).signpost


def test_ignored_matches_are_explained(rules_only: Detector) -> None:
    reasons = {text: " ".join(rules_only.check(text).reasons) for text in NOT_CRISIS[4:9]}
    assert "idiom" in reasons["I was so embarrassed I wanted to die."]
    assert "negated" in reasons["I'd never hurt the baby."]
    assert "joking" in reasons["I want to die lol"]
    assert "recovery" in reasons[NOT_CRISIS[8]]


def test_present_crisis_in_a_recovery_story_still_triggers(rules_only: Detector) -> None:
    text = "Two years ago I got help and it does get better. But now I can't go on again."
    assert rules_only.check(text).signpost


def test_negation_is_limited_to_its_clause(rules_only: Detector) -> None:
    assert rules_only.check("I'd never hurt the baby, but I want to die.").signpost


def test_reasons_name_the_phrase_and_sentence(rules_only: Detector) -> None:
    result = rules_only.check("We had a long day. I keep thinking they'd be better off without me.")
    assert result == CareResult(True, care.PHRASE_SCORE, ['sentence 2: phrase "better off without me"'])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\u200b\u200b",
        "\U0001f602\U0001f602",
        "...!?",
        "\n\n\n",
        "\u05d0\u05e0\u05d9 \u05e2\u05d9\u05d9\u05e4\u05d4",
        "\x00\x01 \ud800"[:2],
    ],
)
def test_empty_and_odd_input(rules_only: Detector, text: str) -> None:
    result = rules_only.check(text)
    assert not result.signpost and 0.0 <= result.score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I don\u2019t want to be here anymore",  # curly apostrophe
        "\uff49 \uff57\uff41\uff4e\uff54 \uff54\uff4f \uff44\uff49\uff45",  # full-width
        "I DONT WANT TO LIVE",
        "i\u00adm a bur\u200bden to everyone",  # soft hyphen, zero-width
        "Im such a burden to everyone",
    ],
)
def test_unicode_and_sloppy_spelling_are_normalised(rules_only: Detector, text: str) -> None:
    assert rules_only.check(text).signpost


def test_very_long_input_is_handled(rules_only: Detector) -> None:
    text = "We went to the park and fed the ducks. " * 3000 + "I want to end my life."
    assert rules_only.check(text).signpost


def test_extra_phrases_from_admins() -> None:
    text = "I keep driving to the old quarry at night."
    assert not Detector(use_classifier=False).check(text).signpost
    detector = Detector(["driving to the * quarry", "  ", "# a comment"], use_classifier=False)
    assert detector.check(text).signpost
    assert 'phrase "driving to the * quarry"' in detector.check(text).reasons[0]
    assert not detector.check("I'd never keep driving to the old quarry at night.").signpost


def test_normalise_and_split() -> None:
    assert normalise("I\u2019m can't DON'T won\u2019t self-harm") == "i am cannot do not will not self harm"
    assert split_sentences("Bad day. lol. Then bed!\nNew line") == ["Bad day. lol.", "Then bed!", "New line"]
    assert split_sentences("") == []


def test_phrase_file_entries_compile_and_are_unique() -> None:
    phrases = care.read_phrase_file(care.PHRASES_PATH)
    assert len(phrases) > 150
    assert all(care.phrase_regex(p) for p in phrases)
    assert len({normalise(p) for p in phrases}) == len(phrases)


# ---------------------------------------------------------------- classifier and combination


class CountingEmbedder:
    """A stand-in embedder: a fixed random vector per text, counting calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]
        return np.array([r / np.linalg.norm(r) for r in rows], dtype=np.float32)


def fake_detector(bias: float) -> tuple[Detector, CountingEmbedder]:
    embedder = CountingEmbedder()
    weights = np.zeros(384 + care.NGRAM_BUCKETS)
    model = Classifier(weights, bias, threshold=0.6, damp=0.25, train_sha="", probe=np.zeros(384))
    return Detector(embedder=embedder, classifier=model), embedder


def test_check_many_embeds_only_cued_sentences_in_one_batch_and_caches() -> None:
    detector, embedder = fake_detector(bias=3.0)  # every cued sentence scores 0.95
    texts = ["We baked a cake. I feel so empty and tired.", "The park was fun.", "Nothing matters."]
    results = detector.check_many(texts)
    assert [r.signpost for r in results] == [True, False, True]
    assert embedder.calls == [["I feel so empty and tired.", "Nothing matters."]]
    detector.check_many(texts)
    assert len(embedder.calls) == 1  # the draft was re-checked: nothing new to embed


def test_guards_damp_the_classifier() -> None:
    detector, _ = fake_detector(bias=1.0)  # p = 0.73, above the 0.6 threshold
    assert detector.check("I feel so empty.").signpost
    damped = detector.check("I feel so empty lol.")
    assert not damped.signpost and "joking" in damped.reasons[0]


def test_logistic_regression_is_deterministic_and_fits() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 600))
    y = (x[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)
    w1, b1 = care.fit_logistic(x, y, 0.1)
    w2, b2 = care.fit_logistic(x, y, 0.1)
    assert np.array_equal(w1, w2) and b1 == b2
    assert ((x @ w1 + b1 > 0) == y).mean() > 0.95


def test_stored_weights_match_the_training_data() -> None:
    model = Classifier.load(care.MODEL_PATH)
    assert model.train_sha == care.file_sha(care.TRAIN_PATH), "run: python -m forum.care.detector --train"
    assert 0.3 <= model.threshold <= care.PHRASE_SCORE and 0 < model.damp <= 1


def test_stored_weights_match_the_embedder(full: Detector) -> None:
    assert full.classifier is not None and full.embedder is not None
    probe = np.asarray(full.embedder.embed([care.PROBE])[0], dtype=np.float64)
    assert float(probe @ Classifier.load(care.MODEL_PATH).probe) > 0.99


def test_training_and_evaluation_sets_are_disjoint() -> None:
    train = {normalise(json.loads(line)["text"]) for line in care.TRAIN_PATH.read_text().splitlines()}
    evaluation = [json.loads(line) for line in EVAL.read_text().splitlines()]
    assert len(evaluation) >= 200
    assert not train & {normalise(row["text"]) for row in evaluation}


@pytest.mark.parametrize(
    "text",
    CRISIS
    + [
        "My son is 5 months and I feel so hopeless. I'm tired all the time, I don't enjoy anything, and sometimes "
        "I think my family would manage fine without me.",
        "I've started writing goodbye letters to the kids.",
    ],
)
def test_full_detector_signposts_crisis(full: Detector, text: str) -> None:
    assert full.check(text).signpost


@pytest.mark.parametrize("text", NOT_CRISIS + ORDINARY)
def test_full_detector_ignores_ordinary_hard_days(full: Detector, text: str) -> None:
    assert not full.check(text).signpost


def test_get_detector_is_a_singleton() -> None:
    assert get_detector() is get_detector()

"""Every piece of text work has a ceiling whatever the input (issue 12, finding 7).

The bounds are checked by counting what reaches the expensive steps (characters, sentences, regex calls,
texts handed to the embedder), never by timing: a long run of one character, of '#', of punctuation, of
emoji, of combining marks, deeply nested brackets, or endless short sentences all cost at most the budget.
"""

from __future__ import annotations

import re
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants
    import sre_parse

import numpy as np
import pytest

from forum import text as textlib
from forum.care import detector as detector_module
from forum.care import privacy
from forum.care.detector import (
    MAX_CHARS,
    MAX_EMBEDDED,
    MAX_SENTENCES,
    MAX_WORD_CHARS,
    MAX_WORDS,
    Detector,
)
from forum.feeds import search as search_service

N = 20_000
ADVERSARIAL = {
    "one letter": "a" * N,
    "hashes": "#" * N,
    "punctuation": ".!?,;:" * (N // 6),
    "emoji": "🙂" * N,
    "combining marks": "e" + "\u0301" * N,
    "nested brackets": "(" * (N // 2) + ")" * (N // 2),
    "square brackets": "[" * N,
    "words": "a " * (N // 2),
    "hyphenated capitals": "A-" * (N // 2),
    "short sentences": "I am sad. " * (N // 10),
    "numbered sentences": " ".join(f"I can't cope {i}." for i in range(N // 15)),
    "crisis words": "I want to end it all. I cannot go on. " * (N // 38),
    "long words": " ".join(("ab" * 400) for _ in range(N // 801)),
    "glued hashtags": "#a" * (N // 2),
    "zero width": "\u200b" * N,
}


class CountingEmbedder:
    """Stands in for the similar-stories engine: counts texts and characters, returns unit vectors."""

    def __init__(self) -> None:
        self.texts = 0
        self.chars = 0
        self.longest = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        self.chars += sum(len(t) for t in texts)
        self.longest = max([self.longest, *(len(t) for t in texts)])
        vectors = np.zeros((len(texts), 8), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


class AlwaysCrisis:
    """A classifier stand-in that scores every sentence it is shown (so every cued sentence is embedded)."""

    threshold = 0.5
    damp = 1.0
    widths = (1,)  # one sentence per unit: each cued sentence is scored on its own

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        return np.full(len(texts), 0.9)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[Detector, dict[str, int]]:
    """A detector whose per-sentence rule check counts its calls and the characters it is given."""
    counts = {"sentences": 0, "chars": 0, "longest": 0}
    real = detector_module.check_sentence

    def counting(sentence: str, *args: object) -> detector_module.SentenceCheck:
        counts["sentences"] += 1
        counts["chars"] += len(sentence)
        counts["longest"] = max(counts["longest"], len(sentence))
        return real(sentence, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(detector_module, "check_sentence", counting)
    embedder = CountingEmbedder()
    detector = Detector(embedder=embedder, classifier=AlwaysCrisis())  # type: ignore[arg-type]
    counts["embedder"] = id(embedder)
    detector._counting_embedder = embedder  # type: ignore[attr-defined]
    return detector, counts


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_the_detector_reads_a_bounded_amount_of_any_text(counted, name: str) -> None:
    detector, counts = counted
    text = ADVERSARIAL[name] * 3  # longer than any story
    detector.check(text)
    embedder = detector._counting_embedder
    assert counts["sentences"] <= MAX_SENTENCES
    assert counts["chars"] <= MAX_CHARS + MAX_SENTENCES
    # A "sentence" is at most MAX_WORDS words of at most MAX_WORD_CHARS characters.
    assert counts["longest"] <= MAX_WORDS * (MAX_WORD_CHARS + 1)
    assert embedder.texts <= MAX_EMBEDDED
    assert embedder.longest <= MAX_WORDS * (MAX_WORD_CHARS + 1)


def test_the_budget_keeps_the_end_of_a_long_text(counted) -> None:
    detector, counts = counted
    text = "We went to the park and fed the ducks. " * 3000 + "I want to end my life."
    assert detector.check(text).signpost
    assert counts["sentences"] <= MAX_SENTENCES


def test_runs_of_one_character_are_read_as_three(counted) -> None:
    detector, counts = counted
    detector.check("noooooooooooooooooooo " + "!" * 5000)
    assert counts["chars"] < 20


def test_phrase_lists_try_only_entries_whose_first_word_is_present(monkeypatch) -> None:
    """The number of regex searches per clause grows with the clause's words, not with the phrase list."""
    detector = Detector(use_classifier=False)
    searches = 0
    phrases = detector.phrases

    class Counting:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def finditer(self, text: str):  # noqa: ANN202
            nonlocal searches
            searches += 1
            return self.pattern.finditer(text)

        def search(self, text: str):  # noqa: ANN202
            nonlocal searches
            searches += 1
            return self.pattern.search(text)

    entries = len(phrases.items)
    phrases.items = [(name, Counting(pattern)) for name, pattern in phrases.items]  # type: ignore[misc]
    clause = "we fed the ducks at the park on a sunny day"
    phrases.find(clause)
    starting_with_its_words = sum(1 for first in phrases._firsts if first in clause.split())
    assert searches == starting_with_its_words < entries // 10
    searches = 0
    phrases.find("xylophone " * 500)
    assert searches == 0


def _unbounded_repeats(pattern: str) -> list[str]:
    """Repeats without an upper bound in a regex (each one a place where backtracking can go quadratic)."""
    found: list[str] = []

    def walk(items: sre_parse.SubPattern | list) -> None:  # type: ignore[type-arg]
        for op, arg in items:
            if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                low, high, sub = arg
                if high == sre_constants.MAXREPEAT:
                    found.append(str(sub))
                walk(sub)
            elif op == sre_constants.SUBPATTERN:
                walk(arg[-1])
            elif op == sre_constants.BRANCH:
                for branch in arg[1]:
                    walk(branch)
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                walk(arg[1])

    walk(sre_parse.parse(pattern))
    return found


@pytest.mark.parametrize("name", ["PHONE", "UK_POSTCODE", "STREET", "FULL_NAME", "SETTING_NAME"])
def test_privacy_patterns_have_only_bounded_repeats(name: str) -> None:
    assert _unbounded_repeats(getattr(privacy, name).pattern) == []


def test_the_privacy_scanner_still_finds_what_it_should() -> None:
    assert privacy.identifying_details("Call me on 07700 900123") == ["a phone number"]
    assert privacy.identifying_details("We live at 12 Rose Lane") == ["an address"]
    found = privacy.identifying_details("Amelia Brown started at Little Acorns Nursery")
    assert found == ["a full name with a nursery or school"]


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_hashtags_search_terms_and_bounded_text_stay_small(name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(textlib.extract_hashtags(text)) <= len(text) // 2 + 1
    assert len(search_service.search_terms(text)) <= search_service.MAX_TERMS
    bounded = textlib.bounded_text(text, 2000)
    assert len(bounded) <= 2000
    assert not re.search(r"(.)\1{3}", bounded, re.DOTALL)


def test_bounded_text_keeps_ordinary_writing() -> None:
    text = "My daughter cried at drop-off again — sooooo hard. #nursery"
    assert textlib.bounded_text(text, 2000) == "My daughter cried at drop-off again — sooo hard. #nursery"


@pytest.mark.parametrize("name", ["hashes", "emoji", "combining marks", "square brackets", "words"])
def test_text_queries_hand_the_engine_a_bounded_text(client, monkeypatch, name: str) -> None:
    """/api/similar and /not-alone give the embedder at most QUERY_CHARS, runs of one character cut to 3."""
    from forum.similar import routes as similar_routes
    from forum.similar import store

    handed: list[str] = []
    monkeypatch.setattr(store, "similar_to_text", lambda text, viewer, k: handed.append(text) or [])
    text = ADVERSARIAL[name]
    assert client.post("/api/similar", json={"text": text[:10_000]}).status_code == 200
    assert client.get("/not-alone", query_string={"q": text}).status_code == 200
    assert len(handed) == 2
    for given in handed:
        assert len(given) <= similar_routes.QUERY_CHARS
        assert not re.search(r"(.)\1{3}", given, re.DOTALL)


@pytest.mark.parametrize(
    "method, url, data",
    [
        ("get", "/not-alone?q=hard+morning+at+nursery", None),
        ("get", "/search?q=nursery", None),
        ("post", "/api/similar", {"text": "a hard morning at nursery drop-off"}),
    ],
)
def test_every_text_endpoint_is_rate_limited(tmp_path, db_url, monkeypatch, method, url, data) -> None:
    from forum.extensions import limiter
    from forum.similar import store
    from tests.conftest import make_app

    monkeypatch.setattr(store, "similar_to_text", lambda text, viewer, k: [])
    # Another app with limits on re-initialises the shared limiter: put it back afterwards.
    for attribute in ("enabled", "initialized", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, attribute, getattr(limiter, attribute, None), raising=False)
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        codes = [getattr(client, method)(url, json=data).status_code for _ in range(31)]
        assert codes[:30] == [200] * 30
        assert codes[30] == 429
        if method == "get":  # the page without a query is not limited
            assert client.get(url.split("?")[0]).status_code == 200


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_the_markdown_parser_is_given_a_bounded_number_of_markup_characters(monkeypatch, name: str) -> None:
    """The parser makes a token per '[', '*', '_'…: past MAX_MARKUP_CHARS a text shows as plain paragraphs."""
    given: list[int] = []
    real = textlib._md.render
    monkeypatch.setattr(
        textlib._md,
        "render",
        lambda text: given.append(sum(text.count(c) for c in textlib._MARKUP_CHARS)) or real(text),
    )
    html = textlib.render_markdown(ADVERSARIAL[name])
    assert all(count <= textlib.MAX_MARKUP_CHARS for count in given)
    assert "<script" not in html


def test_plain_rendering_keeps_paragraphs_and_escapes_everything() -> None:
    text = "*" * 2000 + "\n\nSecond <b>para</b>\nline two"
    html = textlib.render_markdown(text)
    assert html.count("<p>") == 2 and "&lt;b&gt;" in html and "<br>" in html
    assert textlib.render_markdown("Some *emphasis* and [a link](https://example.org)").count("<em>") == 1


@pytest.mark.parametrize("name", ["hashes", "emoji", "combining marks", "zero width"])
def test_a_story_hands_the_engine_a_bounded_text(monkeypatch, name: str) -> None:
    """Posting or editing a story embeds at most STORY_CHARS of its body, runs of one character cut to 3
    (the engine's own token budget is the similar-stories engine's)."""
    from forum.models import Story
    from forum.similar import engine, store

    embedder = CountingEmbedder()
    monkeypatch.setattr(engine, "get_embedder", lambda *args, **kwargs: embedder)
    store.story_vector(Story(title="A title", body=ADVERSARIAL[name] * 2))
    assert embedder.texts == 1
    assert embedder.longest <= store.STORY_CHARS + 100
    assert embedder.chars < 200  # a run of one character is read as three


def _unbounded_negated_classes(pattern: str) -> list[str]:
    """Unbounded repeats of a negated class ([^)]*, [^\\]]*): from every start they run to the end of a
    text lacking the closing character, so many starts ('](' or '[' repeated) cost the length squared."""
    found: list[str] = []

    def walk(items: sre_parse.SubPattern | list) -> None:  # type: ignore[type-arg]
        for op, arg in items:
            if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                _low, high, sub = arg
                negated = any(
                    o == sre_constants.NOT_LITERAL
                    or (o == sre_constants.IN and any(x[0] == sre_constants.NEGATE for x in a))
                    for o, a in sub
                )
                if high == sre_constants.MAXREPEAT and negated:
                    found.append(str(sub))
                walk(sub)
            elif op == sre_constants.SUBPATTERN:
                walk(arg[-1])
            elif op == sre_constants.BRANCH:
                for branch in arg[1]:
                    walk(branch)

    walk(sre_parse.parse(pattern))
    return found


def test_text_helpers_use_no_unbounded_negated_classes(monkeypatch) -> None:
    """Every regex the excerpt, mail-excerpt, erasure and search-highlight helpers run is linear."""
    from forum.notifications.mail import render as mail_render
    from forum.stories import erasure

    used: list[str] = []
    real_sub, real_compile = re.sub, re.compile

    def recording_sub(pattern, *args, **kwargs):  # noqa: ANN001, ANN202
        used.append(pattern if isinstance(pattern, str) else pattern.pattern)
        return real_sub(pattern, *args, **kwargs)

    def recording_compile(pattern, *args, **kwargs):  # noqa: ANN001, ANN202
        used.append(pattern)
        return real_compile(pattern, *args, **kwargs)

    monkeypatch.setattr(re, "sub", recording_sub)
    monkeypatch.setattr(re, "compile", recording_compile)
    sample = "[a](b) ](c) **d** > e\n" * 3
    textlib.excerpt(sample)
    mail_render.excerpt(sample)
    erasure._plain(sample)
    search_service.highlight(sample, ["a", "d"])
    assert len(used) >= 6
    assert {p: _unbounded_negated_classes(p) for p in used if _unbounded_negated_classes(p)} == {}

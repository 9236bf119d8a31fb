"""Attribute encoding: valid compact JSON whatever the input, truncation inside the structure."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from sentrial_otel._internal.content.encoding import TRUNCATION_MARKER, Encoder, primitive_or_json
from sentrial_otel._internal.misuse import MisuseReporter, name_argument

encoder = Encoder(max_string_length=100)


def test_compact_json_keeps_unicode():
    assert encoder.json({"a": [1, 2], "é": "ü"}).value == '{"a":[1,2],"é":"ü"}'


def test_bytes_sets_nan_and_objects():
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    value = json.loads(
        encoder.json({"b": b"\x00\x01", "s": {3, 1}, "nan": math.nan, "inf": -math.inf, "o": Thing()}).value
    )
    assert value == {"b": "AAE=", "s": [1, 3], "nan": "nan", "inf": "-inf", "o": "<Thing>"}


def test_dataclasses_and_pydantic_like_models_become_objects():
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    class Model:
        def model_dump(self) -> dict:
            return {"k": "v"}

    assert json.loads(encoder.json([Point(1, 2), Model()]).value) == [{"x": 1, "y": 2}, {"k": "v"}]


def test_cycles_are_cut():
    loop: dict = {"name": "a"}
    loop["self"] = loop
    items: list = [1]
    items.append(items)
    assert json.loads(encoder.json(loop).value) == {"name": "a", "self": "<cycle>"}
    assert json.loads(encoder.json(items).value) == [1, "<cycle>"]


def test_truncation_is_per_string_and_keeps_json_valid():
    encoded = encoder.json({"long": "x" * 1000, "short": "ok"})
    value = json.loads(encoded.value)
    assert encoded.truncated
    assert value["long"] == "x" * 100 + TRUNCATION_MARKER
    assert value["short"] == "ok"


def test_huge_containers_are_bounded():
    encoded = Encoder(max_string_length=16).json({str(i): "y" * 16 for i in range(100_000)})
    assert encoded.truncated
    assert len(encoded.value) < 16 * 16 * 40
    json.loads(encoded.value)


def test_broken_repr_does_not_raise():
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert json.loads(encoder.json(Broken()).value) == "<unrepresentable Broken>"


def test_lone_surrogates_are_replaced():
    """No UTF-8 encoder (so no exporter) takes a lone surrogate: each becomes "?", in values
    and keys alike, and the characters around it are kept."""
    assert encoder.json({"s": "bad \ud800 char", "\udc00k": ["\ud83d"]}).value == (
        '{"s":"bad ? char","?k":["?"]}'
    )
    assert encoder.text("caf\u00e9 \udfff \U0001f600")[:2] == ("caf\u00e9 ? \U0001f600", False)


def test_json_object_wraps_and_parses():
    obj = encoder.json_object
    assert obj({"a": 1}, "input").value == '{"a":1}'
    assert obj('{"a": 1}', "input").value == '{"a":1}'
    assert obj("[1]", "input").value == '{"input":"[1]"}'
    assert obj(5, "result").value == '{"result":5}'


def test_metadata_primitives_and_big_ints():
    assert primitive_or_json(True, encoder) == (True, False)
    assert primitive_or_json(2**70, encoder) == (str(2**70), False)
    assert primitive_or_json(math.inf, encoder) == ("inf", False)
    assert primitive_or_json({"a": None}, encoder) == ('{"a":null}', False)


def test_name_argument_repairs_names():
    report = MisuseReporter(strict=False)
    assert name_argument(None, "x", report, "d") == "d"
    assert name_argument("  ", "x", report, "d") == "d"
    assert name_argument(42, "x", report, "d", ints=True) == "42"
    assert len(name_argument("n" * 1000, "x", report, "d")) == 256


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=5), children, max_size=5)
    | st.frozensets(st.integers(), max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_value_encodes_to_valid_bounded_json(value):
    encoded = Encoder(max_string_length=50).json(value)
    json.loads(encoded.value)
    encoded.value.encode("utf-8")
    assert len(encoded.value) <= 50 * 16 * 8 + 1000


# Text assembled from the pieces secrets are made of, so the fast path's pre-test is
# exercised on near misses (``password`` as a word, ``token`` before a newline...) too.
secret_fragments = st.lists(
    st.sampled_from([
        "Bearer ", "basic\t", "api_key", "API-KEY", "password", "passwd", "Secret", "token",
        "access_token", "auth", "cookie", "credentials", "sk-", "ghp_", "AKIA", "xoxb-", "AIza",
        "abcdefghij0123456789", " ", "\n", '"', ":", "=", "x", "\u00e9", "gh", "xox", "r_", "p-",
    ]),
    max_size=6,
).map("".join)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | secret_fragments,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["q", "api_key", "Authorization", "name", "token", "x"])
        | st.text(max_size=6)
        | secret_fragments
        | st.integers() | st.none() | st.booleans() | st.floats(),
        children,
        max_size=4,
    ),
    max_leaves=20,
)


def fast_and_walked(limit: int) -> tuple[Encoder, Encoder]:
    """An encoder with the fast path (secret pre-test) and one that always walks."""
    from sentrial_otel._internal.content.secrets import is_secret_key, may_need_secret_redaction, redact_secrets

    return (
        Encoder(limit, redact_secrets, is_secret_key, may_need_secret_redaction),
        Encoder(limit, redact_secrets, is_secret_key),
    )


@settings(max_examples=400, deadline=None)
@given(plain_values, st.sampled_from([8, 64, 16 * 1024]))
def test_fast_path_gives_exactly_what_the_walk_gives(value, limit):
    """The single-dumps fast path is an optimisation only: same text, same truncation flag."""
    fast, walked = fast_and_walked(limit)
    assert fast.json(value) == walked.json(value)
    if isinstance(value, str):
        assert fast.text(value) == walked.text(value)
    if isinstance(value, list):
        assert fast.strings(value) == walked.strings(value)


SECRET_SHAPES = [
    {"api_key": "v"}, {"APIKEY": "v"}, {"x.access-key": "v"}, {"private_key": "v"},
    {"session_key": "v"}, {"password": "v"}, {"db_passwd": "v"}, {"Secret": "v"},
    {"refresh_token": "v"}, {"Authorization": "v"}, {"auth": "v"}, {"cookie": "v"},
    {"credential": "v"}, {"credentials": "v"}, {"password\n": "v"},
    {"q": "Bearer abcdefgh12345678"}, {"q": "basic\tabcdefgh12345678"},
    {"q": "Bearer\nabcdefgh12345678"}, {"q": "api_key=abc123"}, {"q": "API-KEY : abc123"},
    {"q": "password=hunter2"}, {"q": "passwd: hunter2"}, {"q": "secret=abc"},
    {"q": "access_token=abc"}, {"q": "token:\tabc"}, {"q": "sk-" + "a" * 20},
    {"q": "ghp_" + "a" * 36}, {"q": "AKIA" + "A" * 16}, {"q": "xoxb-" + "1" * 12},
    {"q": "AIza" + "b" * 35},
]


@pytest.mark.parametrize("value", SECRET_SHAPES, ids=lambda v: repr(v)[:40])
def test_fast_path_redacts_every_secret_shape(value):
    """Each shape the redactors know is caught by the fast path's pre-test (not skipped)."""
    fast, walked = fast_and_walked(1024)
    encoded = fast.json(value)
    assert encoded == walked.json(value)
    assert "[REDACTED]" in encoded.value
    assert fast.text(value.get("q", "")) == walked.text(value.get("q", ""))


# Long texts take another pre-test (read back from each ":", "=", "-" and "_"); it must
# be at least as cautious as the short one, which the tests above hold against the walk.
FILLER = "The order shipped from our warehouse in Ohio and should arrive within three days. "
long_texts = st.lists(
    st.sampled_from([FILLER * 3, FILLER[:17], " " * 70, "\t" * 9, "\n" * 40, "\u00a0" * 3])
    | secret_fragments,
    min_size=1,
    max_size=12,
).map(lambda parts: FILLER * 13 + "".join(parts) + FILLER)


@settings(max_examples=500, deadline=None)
@given(long_texts)
def test_long_text_pre_test_is_as_cautious_as_the_short_one(text):
    from sentrial_otel._internal.content.secrets import _SECRET_JSON_HINTS, LONG_TEXT, _passes, may_need_secret_redaction

    for candidate in (text, json.dumps({"q": text}), json.dumps({text[-40:]: 1, "q": text})):
        assert len(candidate) >= LONG_TEXT
        if _passes(candidate.lower(), _SECRET_JSON_HINTS):
            assert may_need_secret_redaction(candidate), candidate[-200:]


@settings(max_examples=200, deadline=None)
@given(long_texts, plain_values)
def test_fast_path_gives_exactly_what_the_walk_gives_on_long_text(text, value):
    fast, walked = fast_and_walked(16 * 1024)
    payload = {"text": text, "value": value}
    assert fast.json(payload) == walked.json(payload)
    assert fast.text(text) == walked.text(text)


@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize("value", SECRET_SHAPES, ids=lambda v: repr(v)[:40])
def test_fast_path_redacts_every_secret_shape_in_long_text(value, where):
    fast, walked = fast_and_walked(16 * 1024)
    before, after = {"start": (0, 30), "middle": (15, 15), "end": (30, 0)}[where]
    payload = {"a": FILLER * before, **value, "z": FILLER * after}
    assert "[REDACTED]" in fast.json(payload).value
    assert fast.json(payload) == walked.json(payload)
    text = FILLER * before + value.get("q", "") + FILLER * after
    assert fast.text(text) == walked.text(text)


@pytest.mark.parametrize(
    "token",
    [f"gh{kind}_" + "a" * 36 for kind in "pousr"]
    + [f"xox{kind}-" + "1" * 12 for kind in "abpr"]
    + ["sk-" + "a" * 20, "sk-ant-" + "a" * 20],
)
def test_every_token_prefix_is_caught_in_long_text(token):
    from sentrial_otel._internal.content.secrets import may_need_secret_redaction

    assert may_need_secret_redaction(FILLER * 20 + token + FILLER)


def test_ordinary_long_text_is_cleared_without_the_walk():
    from sentrial_otel._internal.content.secrets import may_need_secret_redaction

    assert not may_need_secret_redaction("Answer: " + FILLER * 20)
    assert not may_need_secret_redaction(json.dumps({"a": FILLER * 20, "b-c_d": "x=1"}))
    assert may_need_secret_redaction("Answer: " + FILLER * 20 + "token: abc")


@pytest.mark.parametrize(
    "payload",
    [
        # So many ":" that the test falls back to one pass per word; the secret key is last.
        {**{f"field_{i}": i for i in range(600)}, "password": "hunter2"},
        # So many "-" that the token test falls back too.
        {"q": "state-of-the-art " * 400 + "sk-" + "a" * 24},
        # Whitespace longer than the window read back from the ":".
        {"q": FILLER * 20 + "password" + " " * 100 + ": hunter2"},
        {"q": FILLER * 20 + "password" + "\n" * 100 + ": hunter2"},
    ],
    ids=["dense-colons", "dense-dashes", "long-spaces", "long-newlines"],
)
def test_long_text_edge_cases_are_redacted(payload):
    fast, walked = fast_and_walked(16 * 1024)
    assert "[REDACTED]" in fast.json(payload).value
    assert fast.json(payload) == walked.json(payload)


# Fixed examples, each with the exact text a user sees on the span: an oracle of its own for
# both encoders, so a change that breaks the two paths alike is caught too.
NOT_SECRET = {
    "author": "Ada", "authors": ["Ada", "Grace"], "authority": "ICANN", "authored_by": "Ada",
    "token_count": 42, "tokens": [1, 2], "max_tokens": 256, "tokenizer": "bpe",
    "secretary": "Bob", "keyboard": "qwerty", "cookies_accepted": True,
}
REDACTED_EXAMPLES = [
    ({"api_key": "sk-live-123", "q": "hi"}, '{"api_key":"[REDACTED]","q":"hi"}'),
    ({"headers": {"Cookie": "sid=1", "Accept": "*/*"}},
     '{"headers":{"Cookie":"[REDACTED]","Accept":"*/*"}}'),
    ({"q": "Authorization: Bearer abcdefgh12345678"}, '{"q":"Authorization: Bearer [REDACTED]"}'),
    ({"q": "password=hunter2 and more"}, '{"q":"password=[REDACTED] and more"}'),
    ({"q": "key sk-" + "a" * 20 + " end"}, '{"q":"key [REDACTED] end"}'),
    ({"q": "ghp_" + "a" * 36}, '{"q":"[REDACTED]"}'),
    # Words that only look like credentials stay.
    ({"q": "a token is a word piece; the author wrote 3 tokens"},
     '{"q":"a token is a word piece; the author wrote 3 tokens"}'),
]


@pytest.mark.parametrize("key", sorted(NOT_SECRET))
def test_keys_that_only_contain_a_credential_word_are_not_secret(key):
    from sentrial_otel._internal.content.secrets import is_secret_key

    assert not is_secret_key(key)


@pytest.mark.parametrize("key", [next(iter(shape)) for shape in SECRET_SHAPES if "q" not in shape])
def test_keys_that_name_a_credential_are_secret(key):
    from sentrial_otel._internal.content.secrets import is_secret_key

    assert is_secret_key(key)


@pytest.mark.parametrize("prefix", ["", FILLER * 20], ids=["short", "long"])
def test_values_of_keys_that_are_not_secret_are_kept(prefix):
    payload = {"text": prefix + "Summary by the author.", **NOT_SECRET}
    expected = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    for path in fast_and_walked(16 * 1024):
        assert path.json(payload).value == expected


@pytest.mark.parametrize(("value", "expected"), REDACTED_EXAMPLES, ids=lambda v: repr(v)[:30])
@pytest.mark.parametrize("long", [False, True], ids=["short", "long"])
def test_fixed_examples_come_out_exactly_so(value, expected, long):
    if long:  # the same, behind enough text to take the long-text pre-test
        value = {"a": FILLER * 20, **value}
        expected = '{"a":"' + FILLER * 20 + '",' + expected[1:]
    for path in fast_and_walked(16 * 1024):
        assert path.json(value).value == expected


def test_string_lists_keep_the_total_budget_on_the_fast_path():
    """Each item may be short and clean, but together they are bounded like any value."""
    fast, walked = fast_and_walked(8)
    values, cut, _ = fast.strings(["abcdefgh"] * 40)

    assert (values, cut, False) == walked.strings(["abcdefgh"] * 40)
    assert cut is True
    assert sum(len(v) for v in values if not v.endswith(TRUNCATION_MARKER)) <= 16 * 8


def test_without_the_c_encoder_the_standard_one_is_used():
    """An interpreter without json's C accelerator (PyPy) imports and encodes the same."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json.encoder\n"
        "json.encoder.c_make_encoder = None\n"
        "from sentrial_otel._internal.content import encoding\n"
        "assert encoding._dumps is encoding._slow_dumps\n"
        "print(encoding.Encoder().json({'a': [1, 'é'], 'b': {1, 2}}).value)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": src}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"a":[1,"é"],"b":[1,2]}'


# --- pieces joined into a list (a chat history encoded once per run tree) ------------------
_words = st.sampled_from(["weather", "token", "password", "=", ":", "sk-", "key", "é", "\n", '"', "x" * 40])
_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.lists(_words, max_size=6).map("".join), st.text(max_size=30),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.lists(_words, max_size=3).map("".join), inner, max_size=4),
    max_leaves=12,
)


def _as_is_json(encoder: Encoder, value) -> str | None:
    """A value's JSON text when json() returns it untouched, else None."""
    text = encoder.plain_json(value)
    return text if text is not None and encoder.goes_out_as_is(text) else None


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, max_size=6), st.sampled_from([60, 200, 4000]))
def test_joined_pieces_are_what_the_whole_list_encodes_to(items, limit):
    from sentrial_otel._internal.content.policy import ContentPolicy

    plain = ContentPolicy(max_string_length=limit).encoder("llm_input")
    pieces = [_as_is_json(plain, item) for item in items]
    for item, piece in zip(items, pieces):
        if piece is not None:  # a piece is only ever what json() gives, untouched
            assert plain.json(item) == (piece, False, False)
    if any(piece is None for piece in pieces):
        return
    joined = plain.joined_array(pieces)
    whole = plain.json(items)
    if joined is None:  # too long to go out as is: the caller encodes the list itself
        assert len(whole.value) > limit or whole.truncated
    else:
        assert joined == whole


def test_secret_looking_or_long_values_make_no_piece():
    from sentrial_otel._internal.content.policy import ContentPolicy

    plain = ContentPolicy(max_string_length=50).encoder("llm_input")
    assert _as_is_json(plain, {"content": "sunny"}) == '{"content":"sunny"}'
    assert _as_is_json(plain, {"content": "my password=hunter2"}) is None  # redacted by json()
    assert _as_is_json(plain, {"content": "x" * 60}) is None  # cut by json()
    assert plain.plain_json({"nan": math.nan}) is None  # not JSON as is
    assert plain.joined_array(['{"a":1}', "", '{"b":2},{"c":3}']) == ('[{"a":1},{"b":2},{"c":3}]', False, False)
    assert plain.joined_array([]) == ("[]", False, False)
    assert plain.joined_array(['"' + "x" * 30 + '"', '"' + "y" * 30 + '"']) is None  # 65 > 50
    assert encoder.plain_json({"a": 1}) is None  # no secret pre-test: every value is walked

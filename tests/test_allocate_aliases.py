"""Tag aliases: keys matched across clouds, values read exactly from the Tags JSON text.

The regular expressions are held to a plain-Python definition (keys_match, json.loads) on
generated tag objects with quotes, backslashes, slashes and Unicode in keys and values.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.allocate import (
    OWNER_COLUMNS,
    AllocationConfig,
    keys_match,
    normalise_key,
    owners,
    tag_value,
)
from aifinops.focus import lake_schema
from aifinops.lake import Engine, Lake, connect

KEYS = ("team", "owner-team", "run_id", "gcp-system/machine.spec", "cost center")


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("aliases") / "lake"))


def read(
    engine: Engine, texts: Sequence[str | None], keys: Sequence[str | Sequence[str]]
) -> list[list[Any]]:
    """Return, per text, the value of each key (or first of keys) as the engine reads it."""
    t = ibis.memtable(pa.table({"Tags": pa.array(list(texts), pa.string())}))
    expr = t.select(**{f"k{i}": tag_value(t.Tags, key) for i, key in enumerate(keys)})
    rows = engine.execute(expr).to_pylist()
    return [[row[f"k{i}"] for i in range(len(keys))] for row in rows]


def expected(tags: dict[str, Any] | None, key: str) -> str | None:
    """The definition: the first pair whose key matches and whose value is a non-blank
    string; the value without its outer spaces."""
    for name, value in (tags or {}).items():
        if keys_match(name, key) and isinstance(value, str) and value.strip(" "):
            return value.strip(" ")
    return None


@pytest.mark.parametrize(
    ("key", "wanted", "match"),
    [
        ("Team", "team", True),
        (" team", "team", True),
        ("user:Team", "team", True),
        ("user_team", "team", True),
        ("TEAM ", "team", True),
        ("OwnerTeam", "owner-team", True),
        ("owner_team", "owner-team", True),
        ("Owner Team", "owner-team", True),
        ("run-id", "run_id", True),
        ("RunId", "run_id", True),
        ("aws:team", "team", False),
        ("goog-team", "team", False),
        ("gcp-system/team", "team", False),
        ("teams", "team", False),
        ("tëam", "team", False),
    ],
)
def test_keys_match_across_clouds(key: str, wanted: str, match: bool, duck: Engine) -> None:
    assert keys_match(key, wanted) is match
    text = json.dumps({key: "v"})
    assert read(duck, [text], [wanted]) == [["v" if match else None]]


def test_normalised_key_drops_case_and_separators() -> None:
    assert normalise_key(" Owner-Team_X y") == "ownerteamxy"
    assert normalise_key("gcp-system/Machine.Spec") == "gcpsystem/machine.spec"


def test_values_are_decoded_and_trimmed(duck: Engine) -> None:
    texts = [
        '{"note": "\\"team\\": \\"evil\\"", "TEAM": "good"}',
        '{"team": "", " Team": "   ", "user:team": "  spaced  "}',
        '{"team": 3, "squad": true, "Team": null, "user_team": "text"}',
        '{"team":"q\\"uote \\\\ back\\/slash \\\\\\/ end\\\\"}',
        '{ "team" : "café 🚀 中文" }',
        json.dumps({"team": 'x\\/y\\"z'}),
        '{"team": "line\\nbreak"}',
        "{}",
        None,
    ]
    assert [row[0] for row in read(duck, texts, ["team"])] == [
        "good",
        "spaced",
        "text",
        'q"uote \\ back/slash \\/ end\\',
        "café 🚀 中文",
        'x\\/y\\"z',
        "line\\nbreak",  # NOTE: \n, \t and \uXXXX escapes stay as written (documented)
        None,
        None,
    ]


def test_first_key_in_the_list_wins_over_first_in_the_text(duck: Engine) -> None:
    text = json.dumps({"squad": "s", "team": "t"})
    assert read(duck, [text], [["team", "squad"], ["squad", "team"]]) == [["t", "s"]]


# Keys: spellings of the test keys (any case, separators, the AWS user prefix), and
# arbitrary text with quotes, backslashes, slashes and Unicode.
_SEPARATOR = st.sampled_from(["", "", "-", "_", " ", "  "])


@st.composite
def _spelling(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(KEYS))
    letters = [ch.upper() if draw(st.booleans()) else ch for ch in normalise_key(key)]
    body = "".join(ch + draw(_SEPARATOR) for ch in letters)
    prefix = draw(st.sampled_from(["", "", "user:", "user_", "User:", "aws:", "goog-"]))
    return draw(_SEPARATOR) + prefix + body


_CHAR = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029")
#: Text with the pieces that trip JSON readers: quotes and backslashes before quotes,
#: slashes and backslashes, separators and braces, and any other printable character.
_TEXT = st.lists(
    st.sampled_from(['"', "\\", "/", '\\"', "\\/", "\\\\", " ", "{", "}", ":", ",", "t", "-"])
    | _CHAR,
    max_size=10,
).map("".join)
_VALUE = _TEXT | st.integers(-5, 5) | st.booleans() | st.none()
_TAGS = st.dictionaries(_spelling() | _TEXT, _VALUE, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(_TAGS, min_size=1, max_size=25), compact=st.booleans())
def test_values_match_the_json_definition(
    batch: list[dict[str, Any]], compact: bool, duck: Engine
) -> None:
    separators = (",", ":") if compact else (" , ", " : ")
    texts = [json.dumps(d, ensure_ascii=False, separators=separators) for d in batch]
    got = read(duck, texts, KEYS)
    assert got == [[expected(d, key) for key in KEYS] for d in batch]


def _tricky_tags(rng: random.Random) -> dict[str, Any]:
    pieces = ['"', "\\", "/", "\\/", "é", "🚀", " ", ",", ":", "{", "}", "x", "Y"]
    tags: dict[str, Any] = {}
    for _ in range(rng.randint(0, 5)):
        if rng.random() < 0.6:
            key = rng.choice(KEYS)
            key = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in key)
            key = rng.choice(["", "user:", "user_", " "]) + key
        else:
            key = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        value = "".join(rng.choice(pieces + list(string.ascii_letters)) for _ in range(6))
        tags[key] = rng.choice([value, f"  {value}  ", "", 7, True, None])
    return tags


@pytest.mark.spark
def test_duckdb_and_pyspark_read_the_same_values(tmp_path: Path) -> None:
    rng = random.Random(11)
    batch = [_tricky_tags(rng) for _ in range(300)]
    texts = [json.dumps(d, ensure_ascii=False) for d in batch]
    lake = Lake.open(tmp_path / "lake")
    results = [read(connect(lake, engine=name), texts, KEYS) for name in ("duckdb", "pyspark")]
    assert results[0] == results[1] == [[expected(d, k) for k in KEYS] for d in batch]


def test_owners_compiles_to_duckdb_sql_over_the_lake_schema() -> None:
    table = ibis.table(ibis.Schema.from_pyarrow(lake_schema()), name="staging")
    config = AllocationConfig()
    sql = ibis.to_sql(owners(table, config), dialect="duckdb")
    assert '"x_AllocationRule"' in sql
    # one search per alias, each run once per row
    assert sql.count("REGEXP_EXTRACT") == sum(len(config.aliases(f)) for f in OWNER_COLUMNS)

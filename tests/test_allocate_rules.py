"""Allocation rules: validation on load (file:line and the fix), matching, precedence, dry run."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import textwrap
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
import yaml

from aifinops.allocate import (
    AllocationConfig,
    dry_run,
    load_allocation_config,
    owners,
    rule_summary,
    summary_rows,
)
from aifinops.errors import ConfigError
from aifinops.focus import lake_schema
from aifinops.lake import Engine, Lake, connect
from support.allocation_lake import build_lake, focus_row

DOCS = Path(__file__).resolve().parents[1] / "docs" / "allocation.md"


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("rules") / "lake"))


def lake_rows(*rows: dict[str, Any]) -> ibis.Table:
    """Return an in-memory table with the lake's schema; unnamed columns are null."""
    schema = lake_schema()
    columns = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
    return ibis.memtable(pa.table(columns, schema=schema))


def config(text: str) -> AllocationConfig:
    return AllocationConfig.model_validate(yaml.safe_load(textwrap.dedent(text)))


def run(engine: Engine, t: ibis.Table, cfg: AllocationConfig) -> list[dict[str, Any]]:
    out = owners(t, cfg)
    return engine.execute(
        out.select("x_Team", "x_Project", "x_Environment", "x_AllocationRule")
    ).to_pylist()


# --- validation -------------------------------------------------------------------------


def _load_error(tmp_path: Path, body: str) -> str:
    path = tmp_path / "aifinops.yaml"
    path.write_text(textwrap.dedent(body))
    with pytest.raises(ConfigError) as caught:
        load_allocation_config(path)
    return str(caught.value)


def test_unknown_column_names_the_file_line_and_a_fix(tmp_path: Path) -> None:
    message = _load_error(
        tmp_path,
        """\
        lake: /tmp/lake
        allocation:
          rules:
            - name: sandbox
              match:
                ServiceName: {equals: Amazon EC2}
                servicecategory: {equals: Compute}
              set: {team: research}
        """,
    )
    assert f"{tmp_path / 'aifinops.yaml'}:7:" in message
    assert (
        "servicecategory: unknown column" in message and "did you mean ServiceCategory" in message
    )


def test_bad_regex_is_refused_with_its_line(tmp_path: Path) -> None:
    message = _load_error(
        tmp_path,
        """\
        allocation:
          rules:
            - name: r
              match:
                ResourceId: {regex: "pool-(["}
              set: {team: t}
        """,
    )
    assert ":5:" in message and "bad regular expression" in message


@pytest.mark.parametrize("pattern", ["(?=x)a", "(?!x)a", "(a)\\1", "a++", "(?i)team", "(?P<n>a)"])
def test_regex_that_duckdb_and_spark_read_apart_is_refused(tmp_path: Path, pattern: str) -> None:
    message = _load_error(
        tmp_path,
        f"""\
        allocation:
          rules:
            - name: r
              match: {{ResourceId: {{regex: '{pattern}'}}}}
              set: {{team: t}}
        """,
    )
    assert "do not read alike" in message and ":4:" in message


def test_unknown_owner_field_lists_the_known_ones(tmp_path: Path) -> None:
    message = _load_error(
        tmp_path,
        """\
        allocation:
          rules:
            - name: r
              match: {}
              set:
                team: t
                owner: priya
        """,
    )
    assert ":7:" in message and "'team'" in message and "'run_id'" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "rules: [{name: r, match: {EffectiveCost: {prefix: '1'}}, set: {team: t}}]",
            "text column",
        ),
        ("rules: [{name: r, match: {x_IsSpot: {equals: yes-please}}, set: {team: t}}]", "compared"),
        ("rules: [{name: r, match: {EffectiveCost: {in: [1, abc]}}, set: {team: t}}]", "compared"),
        ("rules: [{name: r, match: {ResourceId: {}}, set: {team: t}}]", "needs an operator"),
        ("rules: [{name: r, set: {}}]", "at least one owner field"),
        (
            "rules: [{name: r, match: {x_AllocationRule: {missing: true}}, set: {team: t}}]",
            "writes",
        ),
        ("rules: [{name: r, set: {team: a}}, {name: r, set: {team: b}}]", "unique"),
        ("rules: [{name: r, match: {'tag:': {missing: true}}, set: {team: a}}]", "blank"),
        ("shared: [{name: s, match: {}}]", "at least one condition"),
        ("shared: [{name: s, match: {ServiceName: {equals: x}}, method: weights}]", "weights"),
        ("shared: [{name: s, match: {ServiceName: {equals: x}}, weights: {a: 1}}]", "only read"),
        (
            "shared: [{name: s, match: {ServiceName: {equals: x}}, method: weights, "
            "weights: {a: 0}}]",
            "more than zero",
        ),
        ("tag_aliases: {team: ['a\"b']}", "quotes"),
        ("colour: red", "Extra inputs"),
    ],
)
def test_bad_config_is_refused(tmp_path: Path, body: str, words: str) -> None:
    message = _load_error(tmp_path, f"allocation:\n  {body}\n")
    assert words in message and re.search(r"aifinops\.yaml:\d+: allocation", message)


def test_no_file_and_no_section_give_the_defaults(tmp_path: Path) -> None:
    assert load_allocation_config(None) == AllocationConfig()
    path = tmp_path / "c.yaml"
    path.write_text("lake: /tmp/x\n")
    assert load_allocation_config(path).aliases("team") == ["team", "owner-team", "squad"]


def test_aliases_given_replace_that_fields_defaults_only() -> None:
    cfg = config("tag_aliases: {team: [squad, team], run_id: []}")
    assert cfg.aliases("team") == ["squad", "team"]
    assert cfg.aliases("run_id") == []
    assert cfg.aliases("project") == ["project", "app", "application"]


def test_every_yaml_example_in_the_docs_loads() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        data = yaml.safe_load(block)
        AllocationConfig.model_validate(data.get("allocation", data))


# --- precedence -------------------------------------------------------------------------

PRECEDENCE = """\
rules:
  - name: default-team
    set: {team: platform}
  - name: sagemaker
    match: {ServiceName: {equals: Amazon SageMaker}}
    set: {team: ml-infra, project: notebooks}
    priority: 10
    override: true
  - name: sandbox
    match: {"tag:Name": {prefix: sandbox-}}
    set: {environment: sandbox}
"""


def test_precedence_override_rule_then_source_then_tags_then_fill_rules(duck: Engine) -> None:
    t = lake_rows(
        {"ServiceName": "Amazon EC2", "Tags": '{"Team": "tagged", "project": "p1"}'},
        {"ServiceName": "Amazon EC2"},
        {"ServiceName": "Amazon SageMaker", "Tags": '{"team": "tagged"}'},
        {"ServiceName": "Amazon EC2", "Tags": '{"Name": "sandbox-1"}'},
        {"ServiceName": "Amazon EC2", "Tags": '{"env": "prod", "Name": "sandbox-2"}'},
        {"ServiceName": "Amazon EC2", "x_Team": "from-source", "Tags": '{"team": "tagged"}'},
        {"ServiceName": "Amazon SageMaker", "x_Team": "from-source"},
    )
    assert run(duck, t, config(PRECEDENCE)) == [
        {"x_Team": "tagged", "x_Project": "p1", "x_Environment": None,
         "x_AllocationRule": "tag:team;tag:project"},
        {"x_Team": "platform", "x_Project": None, "x_Environment": None,
         "x_AllocationRule": "rule:default-team"},
        {"x_Team": "ml-infra", "x_Project": "notebooks", "x_Environment": None,
         "x_AllocationRule": "rule:sagemaker"},
        {"x_Team": "platform", "x_Project": None, "x_Environment": "sandbox",
         "x_AllocationRule": "rule:default-team;rule:sandbox"},
        {"x_Team": "platform", "x_Project": None, "x_Environment": "prod",
         "x_AllocationRule": "rule:default-team;tag:env"},
        {"x_Team": "from-source", "x_Project": None, "x_Environment": None,
         "x_AllocationRule": "source:team"},
        {"x_Team": "ml-infra", "x_Project": "notebooks", "x_Environment": None,
         "x_AllocationRule": "rule:sagemaker"},
    ]  # fmt: skip


def test_smaller_priority_wins_then_file_order(duck: Engine) -> None:
    cfg = config("""\
        rules:
          - {name: late, set: {team: late}, override: true}
          - {name: first-listed, set: {team: first}, override: true, priority: 5}
          - {name: second-listed, set: {team: second}, override: true, priority: 5}
        """)
    assert run(duck, lake_rows({"Tags": '{"team": "t"}'}), cfg)[0]["x_Team"] == "first"


UNOWNED = """\
  - name: unowned-project
    match: {x_Project: {missing: true}}
    set: {project: unowned}
"""


def test_owners_is_idempotent_and_keeps_other_columns(duck: Engine) -> None:
    t = lake_rows(
        {"ServiceName": "Amazon SageMaker", "Tags": '{"team": "x"}', "x_Project": "src"},
        {"ServiceName": "Amazon EC2", "Tags": '{"Name": "sandbox-9"}', "BilledCost": Decimal(3)},
    )
    # NOTE: a rule on an owner column reads the source's value, so a second run, which
    # sees the first run's x_Project, decides the same.
    cfg = config(PRECEDENCE + UNOWNED)
    once = duck.execute(owners(t, cfg))
    twice = duck.execute(owners(owners(t, cfg), cfg))
    assert once.equals(twice)
    assert once.column_names == list(t.columns)
    assert once.column("x_Project").to_pylist() == ["notebooks", "unowned"]  # override wins
    assert duck.execute(t.drop("x_Team", "x_Project", "x_Environment", "x_AllocationRule")).equals(
        once.drop_columns(["x_Team", "x_Project", "x_Environment", "x_AllocationRule"])
    )


def test_owner_columns_missing_from_the_table_are_added(duck: Engine) -> None:
    t = ibis.memtable(pa.table({"Tags": ['{"user:Team": "a", "Stage": "dev"}']}))
    row = duck.execute(owners(t, AllocationConfig())).to_pylist()[0]
    assert row["x_Team"] == "a" and row["x_Environment"] == "dev"
    assert row["x_AllocationRule"] == "tag:team;tag:stage"


@pytest.mark.parametrize(
    ("condition", "hits"),
    [
        ("ServiceName: {equals: Amazon EC2}", [True, False, False]),
        ("ServiceName: {in: [Amazon S3, Amazon SageMaker]}", [False, True, True]),
        ("ResourceId: {regex: '^i-0+[1-9]'}", [True, False, False]),
        ("ResourceId: {prefix: 'arn:'}", [False, True, False]),
        ("ResourceId: {missing: true}", [False, False, True]),
        ("EffectiveCost: {equals: 2.5}", [False, True, False]),
        ("EffectiveCost: {in: [1, 7]}", [True, False, True]),
        ("x_IsSpot: {equals: true}", [True, False, False]),
        ("'tag:cost-center': {equals: 4711}", [False, True, False]),
        ("'tag:Cost Center': {missing: false}", [False, True, True]),
        ("'tag:env': {regex: '^(dev|test)$', prefix: d}", [False, False, True]),
        ("{ServiceName: {prefix: Amazon}, 'tag:env': {missing: true}}", [True, True, False]),
    ],
)
def test_conditions(duck: Engine, condition: str, hits: list[bool]) -> None:
    t = lake_rows(
        {"ServiceName": "Amazon EC2", "ResourceId": "i-001", "EffectiveCost": Decimal(1),
         "x_IsSpot": True},
        {"ServiceName": "Amazon S3", "ResourceId": "arn:aws:s3:::b",
         "EffectiveCost": Decimal("2.5"), "Tags": '{"user:CostCenter": "4711"}'},
        {"ServiceName": "Amazon SageMaker", "EffectiveCost": Decimal(7),
         "Tags": '{"cost_center": "x", "Env": "dev"}'},
    )  # fmt: skip
    match = condition if condition.startswith("{") else "{" + condition + "}"
    cfg = config(
        f"tag_aliases: {{team: []}}\nrules: [{{name: r, match: {match}, set: {{team: hit}}}}]"
    )
    assert [r["x_Team"] == "hit" for r in run(duck, t, cfg)] == hits


# --- dry run on a real lake -------------------------------------------------------------

DRY = """\
rules:
  - name: sandbox
    match: {"tag:Name": {prefix: sandbox-}}
    set: {team: research}
  - name: never
    match: {ServiceName: {equals: Nothing}}
    set: {team: nobody}
"""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(
        tmp_path_factory.mktemp("dry"),
        [
            focus_row("100", tags={"Team": "llm", "Project": "atlas"}, ResourceId="i-big"),
            focus_row("40", tags={" team": "vision"}, ProviderName="Microsoft", ResourceId="vm-1"),
            focus_row("7.5", tags={"Name": "sandbox-3"}, ResourceId="i-sand"),
            focus_row("3", ResourceId="i-none"),
            focus_row("-2", ChargeCategory="Credit", month="2026-09"),
        ],
    )


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest, lake: Lake) -> Engine:
    return connect(lake, engine=request.param)


def test_dry_run_shows_which_rule_or_alias_decided_each_row(engine: Engine) -> None:
    rows = engine.execute(dry_run(engine.costs(), config(DRY))).to_pylist()
    assert [(r["resource"], r["cost"], r["rule"], r["team"]) for r in rows] == [
        ("i-big", Decimal(100), "tag:team;tag:project", "llm"),
        ("vm-1", Decimal(40), "tag:team", "vision"),
        ("i-sand", Decimal("7.5"), "rule:sandbox", "research"),
        ("i-none", Decimal(3), None, None),
        (None, Decimal(-2), None, None),
    ]
    assert rows[0]["provider"] == "AWS" and rows[0]["project"] == "atlas"
    assert rows[0]["month"] == "2026-08" and rows[-1]["charge_category"] == "Credit"


def test_dry_run_filters_by_label(engine: Engine) -> None:
    cfg = config(DRY)
    picked = engine.execute(dry_run(engine.costs(), cfg, rule="rule:sandbox")).to_pylist()
    assert [r["resource"] for r in picked] == ["i-sand"]
    none = engine.execute(dry_run(engine.costs(), cfg, rule="(unallocated)")).to_pylist()
    assert sorted(r["cost"] for r in none) == [Decimal(-2), Decimal(3)]


def test_summary_counts_rows_and_cost_per_label_and_lists_unused_rules(engine: Engine) -> None:
    cfg = config(DRY)
    found = engine.execute(rule_summary(engine.costs(), cfg)).to_pylist()
    rows = {r["rule"]: (r["rows"], r["effective_cost"]) for r in summary_rows(found, cfg)}
    assert rows == {
        "rule:sandbox": (1, Decimal("7.5")),
        "rule:never": (0, Decimal(0)),
        "tag:team": (2, Decimal(140)),
        "tag:project": (1, Decimal(100)),
        "(unallocated)": (2, Decimal(1)),
    }
    assert list(rows)[:2] == ["rule:sandbox", "rule:never"]


@pytest.mark.spark
def test_duckdb_and_pyspark_allocate_alike(lake: Lake) -> None:
    cfg = config(PRECEDENCE + UNOWNED)
    results = []
    for name in ("duckdb", "pyspark"):
        con = connect(lake, engine=name)
        out = owners(con.costs(), cfg).order_by("ResourceId", "EffectiveCost")
        results.append(con.execute(out).to_pylist())
    assert results[0] == results[1]


def test_loading_the_config_models_does_not_load_the_engines() -> None:
    code = "import sys, aifinops.allocate.config; sys.exit('ibis' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_package_exports_its_functions_even_after_every_module_loaded() -> None:
    import aifinops.allocate as package

    for module in ("aliases", "config", "coverage", "dryrun", "keys", "ownership", "rules"):
        importlib.import_module(f"aifinops.allocate.{module}")
    importlib.import_module("aifinops.allocate.shared")
    for name in package.__all__:
        assert not isinstance(getattr(package, name), types.ModuleType), name

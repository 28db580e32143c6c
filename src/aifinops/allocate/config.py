"""The ``allocation:`` section of the config file: tag aliases, rules and shared-cost pools.

Every model forbids unknown fields, and a bad rule (unknown column, bad regular expression,
unknown owner field) is refused on load with the file and line of the rule and the fix.
``docs/allocation.md`` documents every field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aifinops.allocate.keys import SEPARATORS, normalise_key
from aifinops.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

#: Owner fields, as rules and aliases name them, and the lake column each one fills.
OWNER_COLUMNS: dict[str, str] = {
    "team": "x_Team",
    "project": "x_Project",
    "model": "x_Model",
    "experiment": "x_Experiment",
    "dataset": "x_Dataset",
    "environment": "x_Environment",
    "run_id": "x_RunId",
}
OwnerField = Literal["team", "project", "model", "experiment", "dataset", "environment", "run_id"]
Scalar = bool | int | Decimal | str
TAG_PREFIX = "tag:"

#: Constructs RE2 (DuckDB) or Java (Spark) would read differently or refuse.
_UNPORTABLE = re.compile(r"\(\?(?:[=!>]|<[=!]|P|[a-zA-Z]*i)|\\[1-9kgGZ]|[*+?}]\+")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


def _strict(*, numbers_to_text: bool = False) -> ConfigDict:
    return ConfigDict(extra="forbid", coerce_numbers_to_str=numbers_to_text)


class Condition(BaseModel):
    """What one column (or tag) must hold; every operator given must hold (AND)."""

    model_config = _strict()

    equals: Scalar | None = Field(default=None, description="Exactly this value.")
    in_: list[Scalar] | None = Field(default=None, alias="in", description="One of these.")
    regex: str | None = Field(default=None, description="Matches this regular expression.")
    prefix: str | None = Field(default=None, description="Starts with this text.")
    missing: bool | None = Field(default=None, description="true: null; false: not null.")

    @model_validator(mode="after")
    def _one_operator_at_least(self) -> Condition:
        if all(v is None for v in (self.equals, self.in_, self.regex, self.prefix, self.missing)):
            raise ValueError("a condition needs an operator: equals, in, regex, prefix or missing")
        return self

    @field_validator("regex")
    @classmethod
    def _portable_regex(cls, value: str | None) -> str | None:
        if value is not None:
            check_regex(value)
        return value


class Rule(BaseModel):
    """An allocation rule: rows matching every condition get the ``set`` owner values."""

    model_config = _strict(numbers_to_text=True)

    name: str = Field(pattern=_NAME, description="Unique name, shown in x_AllocationRule.")
    match: dict[str, Condition] = Field(
        default_factory=dict,
        description="Column (FOCUS or x_) or tag:<key> → condition; all must hold. Empty: "
        "every row.",
    )
    set: dict[OwnerField, str] = Field(description="Owner field → value, e.g. team: ml-infra.")
    priority: int = Field(default=100, description="Smaller is tried first; ties: file order.")
    override: bool = Field(
        default=False,
        description="true: replace values from tags or the source; false: only fill gaps.",
    )

    @field_validator("match")
    @classmethod
    def _known_columns(cls, value: dict[str, Condition]) -> dict[str, Condition]:
        check_match(value)
        if "x_AllocationRule" in value:
            raise ValueError(
                "x_AllocationRule: rules cannot match what allocation writes; match the owner "
                "fields, tags or other columns"
            )
        return value

    def value(self, field: str) -> str | None:
        """Return the value this rule sets for owner field ``field`` (None: not set)."""
        return next((v for k, v in self.set.items() if k == field), None)

    @field_validator("set")
    @classmethod
    def _non_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("set needs at least one owner field, e.g. set: {team: ml-infra}")
        if any(not v.strip() for v in value.values()):
            raise ValueError("set values must not be blank")
        return value


class SharedPool(BaseModel):
    """A pool of shared cost (support, networking, a platform cluster, untagged rows)."""

    model_config = _strict(numbers_to_text=True)

    name: str = Field(pattern=_NAME, description="Unique pool name.")
    match: dict[str, Condition] = Field(description="Rows of the pool; all conditions hold.")
    method: Literal["proportional", "even", "weights"] = Field(
        default="proportional",
        description="proportional to each owner's direct EffectiveCost, even, or by weights.",
    )
    weights: dict[str, Decimal] | None = Field(
        default=None, description="Owner → weight (method weights only), e.g. {a: 3, b: 1}."
    )
    among: list[str] | None = Field(
        default=None,
        description="Owners that share the pool (default: every owner with direct cost in "
        "the period). Not used with weights.",
    )

    @field_validator("match")
    @classmethod
    def _known_columns(cls, value: dict[str, Condition]) -> dict[str, Condition]:
        if not value:
            raise ValueError("a shared pool needs at least one condition in match")
        check_match(value)
        return value

    @model_validator(mode="after")
    def _weights_fit_method(self) -> SharedPool:
        if self.method == "weights":
            if not self.weights:
                raise ValueError("method weights needs weights: {owner: weight, ...}")
            if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
                raise ValueError("weights must be zero or more, and add up to more than zero")
            if self.among is not None:
                raise ValueError("among is not used with method weights: weights name owners")
        elif self.weights is not None:
            raise ValueError(f"weights are only read with method weights, not {self.method}")
        return self


def _default_aliases() -> dict[OwnerField, list[str]]:
    return {
        "team": ["team", "owner-team", "squad"],
        "project": ["project", "app", "application"],
        "model": ["model", "model-name", "ml-model"],
        "experiment": ["experiment", "exp"],
        "dataset": ["dataset"],
        "environment": ["environment", "env", "stage"],
        "run_id": ["run-id", "mlflow-run-id"],
    }


class AllocationConfig(BaseModel):
    """Everything allocation reads: tag aliases, rules and shared-cost pools."""

    model_config = _strict()

    tag_aliases: dict[OwnerField, list[str]] = Field(
        default_factory=_default_aliases,
        description="Owner field → tag keys in order of preference. Fields not given keep "
        "their defaults; an empty list turns a field's tags off.",
    )
    rules: list[Rule] = Field(default_factory=list, description="Allocation rules.")
    shared: list[SharedPool] = Field(default_factory=list, description="Shared-cost pools.")

    @field_validator("tag_aliases")
    @classmethod
    def _merge_defaults(cls, value: dict[OwnerField, list[str]]) -> dict[OwnerField, list[str]]:
        for keys in value.values():
            for key in keys:
                check_tag_key(key)
        return {**_default_aliases(), **value}

    def aliases(self, field: str) -> list[str]:
        """Return the tag keys of owner field ``field``, in order of preference."""
        return next((list(v) for k, v in self.tag_aliases.items() if k == field), [])

    @model_validator(mode="after")
    def _unique_names(self) -> AllocationConfig:
        named = (("rule", [r.name for r in self.rules]), ("pool", [p.name for p in self.shared]))
        for kind, names in named:
            duplicate = next((n for n in names if names.count(n) > 1), None)
            if duplicate:
                raise ValueError(f"two {kind}s are named {duplicate!r}; names must be unique")
        return self


def lake_columns() -> dict[str, pa.DataType]:
    """Return the lake's columns (FOCUS and x_) and their Arrow types."""
    # NOTE: imported here so that loading settings does not load pyarrow.
    from aifinops.focus import lake_schema

    return {f.name: f.type for f in lake_schema()}


def check_match(match: dict[str, Condition]) -> None:
    """Refuse unknown columns, and operators a column's type cannot take.

    Raises:
        ValueError: naming the column and the fix (pydantic turns it into a field error).
    """
    import pyarrow as pa

    columns = lake_columns()
    for name, cond in match.items():
        if name.startswith(TAG_PREFIX):
            try:
                check_tag_key(name.removeprefix(TAG_PREFIX))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            continue
        if name not in columns:
            close = [c for c in columns if c.lower() == name.lower()]
            hint = f"did you mean {close[0]}?" if close else "see docs/focus.md for the columns"
            raise ValueError(
                f"{name}: unknown column; use a FOCUS or x_ column, or tag:<key> ({hint})"
            )
        kind = columns[name]
        if (cond.regex is not None or cond.prefix is not None) and not pa.types.is_string(kind):
            raise ValueError(f"{name}: regex and prefix need a text column, and {name} is {kind}")
        values = [cond.equals] if cond.equals is not None else []
        bad = [v for v in [*values, *(cond.in_ or [])] if not literal_fits(kind, v)]
        if bad:
            raise ValueError(
                f"{name}: {bad[0]!r} cannot be compared with a {kind} column"
                + (" (only missing works on times)" if pa.types.is_timestamp(kind) else "")
            )


def literal_fits(kind: pa.DataType, value: Scalar) -> bool:
    """Tell whether an ``equals``/``in`` value can be compared with a ``kind`` column."""
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return isinstance(value, bool)
    if pa.types.is_decimal(kind):
        if isinstance(value, bool):
            return False
        try:
            Decimal(str(value))
        except ArithmeticError:
            return False
        return True
    return bool(pa.types.is_string(kind))


def check_tag_key(key: str) -> None:
    """Refuse tag keys that cannot be matched (blank, quotes, backslashes, control chars) or
    that would break an ``x_AllocationRule`` label (``;``)."""
    if not normalise_key(key):
        raise ValueError(f"tag key {key!r} is blank once {SEPARATORS!r} are removed")
    if any(ch in key for ch in '"\\;') or any(ord(ch) < 32 for ch in key):
        raise ValueError(
            f"tag key {key!r} must not hold quotes, backslashes, ';' or control characters"
        )


def check_regex(pattern: str) -> None:
    """Refuse a regular expression that does not compile or that DuckDB and Spark read apart."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    found = _UNPORTABLE.search(pattern)
    if found:
        raise ValueError(
            f"regular expression {pattern!r} uses {found.group(0)!r}, which DuckDB (RE2) and "
            "Spark (Java) do not read alike: no look-arounds, back-references, possessive "
            "quantifiers or (?i); write [tT] for a letter in either case"
        )


def load_allocation_config(path: Path | None) -> AllocationConfig:
    """Read the ``allocation:`` section of a config file (defaults when ``path`` is None).

    Raises:
        ConfigError: naming ``file:line``, the field, what is wrong and the fix.
    """
    if path is None:
        return AllocationConfig()
    try:
        text = path.read_text(encoding="utf-8")
        loaded = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}:1: the config file must be a mapping of field: value.")
    section = loaded.get("allocation") or {}
    try:
        return AllocationConfig.model_validate(section)
    except ValidationError as exc:
        raise config_error(path, text, exc, root=("allocation",)) from exc


def config_error(
    path: Path, text: str, exc: ValidationError, *, root: tuple[str, ...] = ()
) -> ConfigError:
    """Turn a pydantic error into a ConfigError naming the YAML line of the bad field."""
    first = exc.errors()[0]
    loc = (*root, *(str(p) for p in first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    # A match-level message starts with the column it is about: point at that column's line.
    line = yaml_line(text, (*loc, message.split(":", 1)[0]))
    return ConfigError(
        f"{path}:{line}: {'.'.join(loc)}: {message}. "
        "To fix: correct that field; docs/allocation.md lists every field."
    )


def yaml_line(text: str, loc: tuple[str, ...]) -> int:
    """Return the 1-based line of the deepest YAML node on path ``loc`` (1 when none)."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return 1
    line = 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        key_line, node = child
        line = key_line
    return line


def _child(node: Any, part: str) -> tuple[int, Any] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == part:
                return int(key.start_mark.line) + 1, value
    if isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
        item = node.value[int(part)]
        return int(item.start_mark.line) + 1, item
    return None

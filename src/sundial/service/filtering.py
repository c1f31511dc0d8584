"""A subset of AIP-160 filters: `field = value` and `field != value` terms joined by AND.

Fields are plain names (`name`, `status`) or `labels.<key>`; values are bare words or
double-quoted strings (with `\\"` and `\\\\` escapes)."""

import enum
import re
from collections.abc import Callable, Mapping

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.listing import FilterOp, FilterTerm

MAX_FILTER_LENGTH = 2048

_TOKEN = re.compile(
    r'\s*(?:(?P<op>!=|=)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[A-Za-z0-9_.\-:/]+))'
)

# Normalizes a value for one field (e.g. status names); raises ValueError when invalid.
ValueNormalizer = Callable[[str], str]


def enum_value(enum_cls: type[enum.Enum], proto_prefix: str) -> ValueNormalizer:
    """Normalizes an enum filter value given by short (`PAUSED`) or proto name
    (`AGENT_SCHEDULE_STATUS_PAUSED`) to the domain member name."""
    allowed = [name for name in enum_cls.__members__ if name != "UNSPECIFIED"]

    def normalize(value: str) -> str:
        name = value.upper().removeprefix(proto_prefix)
        if name not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return name

    return normalize


def parse_filter(text: str, fields: Mapping[str, ValueNormalizer | None]) -> tuple[FilterTerm, ...]:
    """The terms of `text`; `fields` lists the filterable fields (plus `labels.<key>`)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _error(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    tokens = _tokenize(text)
    terms: list[FilterTerm] = []
    position = 0
    while position < len(tokens):
        if terms:
            if tokens[position] != ("word", "AND"):
                raise _error(f"expected AND between terms, found {tokens[position][1]!r}")
            position += 1
        if position + 3 > len(tokens):
            raise _error("a term must read `field = value` or `field != value`")
        (field_kind, field), (op_kind, op), (value_kind, value) = tokens[position : position + 3]
        if field_kind != "word" or op_kind != "op" or value_kind == "op":
            raise _error(f"a term must read `field = value`, found {field!r} {op!r} {value!r}")
        terms.append(_term(field, FilterOp(op), value, fields))
        position += 3
    return tuple(terms)


def _term(
    field: str, op: FilterOp, value: str, fields: Mapping[str, ValueNormalizer | None]
) -> FilterTerm:
    if field.startswith("labels."):
        key = field.removeprefix("labels.")
        if not key:
            raise _error("labels filter needs a key: labels.<key> = value")
        return FilterTerm("labels", op, value, key=key)
    if field not in fields:
        allowed = ", ".join([*sorted(fields), "labels.<key>"])
        raise _error(f"cannot filter on {field!r}; filterable fields: {allowed}")
    normalize = fields[field]
    if normalize is not None:
        try:
            value = normalize(value)
        except ValueError as exc:
            raise _error(f"bad value for {field}: {exc}") from None
    return FilterTerm(field, op, value)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(f"unexpected character {text[position:].strip()[:1]!r} in filter")
        if match["op"]:
            tokens.append(("op", match["op"]))
        elif match["string"]:
            tokens.append(("string", re.sub(r"\\(.)", r"\1", match["string"][1:-1])))
        else:
            tokens.append(("word", match["word"]))
        position = match.end()
    return tokens


def _error(description: str) -> InvalidArgumentError:
    return InvalidArgumentError.single("filter", description)

"""Conditions (issue 14): CEL expressions over an objective's `output`, `data`, `status`,
`schedule` and `agent`, and the event's `type` (its wire name: `objective.failed`,
`fire.missed`, or `objective.result` for a result delivery, so that one webhook condition can
tell events apart), compiled when a schedule or webhook is written and evaluated for each
delivery.

The library is `common-expression-language` (Python bindings of the Rust `cel` crate),
chosen against `cel-python` with `bench/cel_libraries.py` (BENCHMARKS.md, "CEL conditions"):
compiling is about 10x faster (8-22 µs against 84-221 µs); evaluating is 1.8-19x faster
(about 230 µs, almost all of it converting a 50-item activation, against 0.4 ms for a
comparison and 4.8 ms for `exists` over 50 items); it follows the spec where cel-python does
not (`output.count == 3` is true when the JSON had 3, a double; cel-python raises "no such
overload"); both report a syntax error's line and column; it is one 6 MB wheel with no
dependency (cel-python brings about 35 MB: lark, google-re2, pendulum, jmespath and a CLI's
typer, rich, prompt-toolkit and pygments, and sets the process-wide recursion limit to 2,500
whenever an Environment is made); and it was released more recently (0.10.0 in 2026-09;
cel-python 0.5.0 in 2026-01, though cel-python has more downloads). Its regular expressions
are the Rust `regex` crate (linear time), and it has no function that can reach a file, the
network or the clock unless Python callables are registered, which this module never does: a
condition cannot do I/O.

What neither library has, and this module therefore adds (a token scan and a bound, the only
hand-written part):

- Checks against the declared variables. cel-go and cel-cpp have a type checker; these two
  libraries accept `nosuch > 1` and `1 + "a"` at compile time. Here the program's free
  variables (`Program.variables()` used outside the macros that bind them) must be among
  the six declared ones, with the position of the first unknown one, and a bare `status`
  compared with a bare string literal must name an objective status (`status == "FAILD"`
  is refused). Other type errors are found when evaluating and come back as an error result.
- A cost bound. Neither has one: the bench's 300 x 300 x 300 nested `all` runs 8.8 s in the
  Rust library (43 s in cel-python for 60^3). CEL has no loops and no recursion: the only
  repetition is a macro (`all`, `exists`, `exists_one`, `map`, `filter`) over a list or map,
  and a list is no longer than the activation's values or a literal list (`commas + 1`),
  times the `+` that can concatenate them (the core library has no `range`, `repeat` or
  `split`, and no function is added). So an evaluation takes at most
  `size x ((pluses + 1) x (elements + commas + 1)) ^ depth` steps, where `size` is the
  expression's token count, `elements` the number of JSON values in the activation and
  `depth` the deepest nesting of macros. `evaluate` computes that bound before running and
  refuses (an error result, never a hang) when it exceeds `COST_LIMIT`, 10^7 steps: one
  `exists` over 200,000 values is bounded at 2.4 x 10^6 and takes 0.17 s (most of it
  converting the values); the bench's 300^3 nested `all` is bounded at 2.6 x 10^10 and
  would take 8.8 s. The bound is pessimistic for nested macros over large outputs (it
  assumes each inner range is as big as the whole activation: two nested `exists` over 1,000
  values are refused); such a condition gets an error saying so rather than a slow delivery
  path.
- Limits at compile time: `MAX_LENGTH` (2 KiB of UTF-8: a condition is a filter, not a
  program, and the cost bound grows with its size), `MAX_NESTING` brackets (the Rust parser
  itself refuses about 100 nested parentheses with an unhelpful message) and
  `MAX_MACRO_DEPTH` nested macros (the exponent of the cost bound).

JSON values (`output`, `data`, and the schedule and agent maps) are converted as CEL
converts `google.protobuf.Value`: every number is a double, whether the dict came from a
Struct (always doubles) or from `json.loads` (ints), so a condition behaves the same on both.
CEL compares ints and doubles (`output.count == 3` is true) but does not mix them in
arithmetic: `output.count + 1` is an error naming the overload, and `output.count + 1.0`
works, as in cel-go.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cel

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.objectives import ObjectiveStatus

MAX_LENGTH = 2048
MAX_NESTING = 32
MAX_MACRO_DEPTH = 3
COST_LIMIT = 10_000_000

VARIABLES = ("output", "data", "status", "schedule", "agent", "type")
# What an event webhook's condition sees (WebhookSpec.condition): the event's dotted type and
# the objective, schedule, agent and fire it is about.
EVENT_VARIABLES = ("type", "objective", "schedule", "agent", "fire")
STATUS_NAMES = frozenset(s.name for s in ObjectiveStatus if s is not ObjectiveStatus.UNSPECIFIED)
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>//[^\n]*)
    |(?P<string>[rRbB]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''
        |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>[0-9][0-9A-Za-z_.]*)
    |(?P<op>==|!=|<=|>=|&&|\|\||.)""",
    re.VERBOSE | re.DOTALL,
)
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    line: int
    column: int


def _tokens(text: str) -> Iterator[_Token]:
    """CEL's lexical structure, enough to skip strings and comments and to find brackets,
    macro calls and identifiers; the library's parser decides what is valid."""
    line, line_start = 1, 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "op"
        if kind not in ("space", "comment"):
            yield _Token(kind, match.group(), line, match.start() - line_start + 1)
        newlines = match.group().count("\n")
        if newlines:
            line += newlines
            line_start = match.start() + match.group().rindex("\n") + 1


@dataclass(frozen=True, slots=True)
class _Shape:
    size: int
    macro_depth: int
    pluses: int
    commas: int
    free: dict[str, _Token]  # first free use of each identifier (not a member, not a call)
    status_literals: list[_Token]


def _shape(field_name: str, text: str) -> _Shape:
    """One pass over the tokens: the nesting limits (checked before the parser sees the
    text), the macro depth, and the identifiers used as variables outside the scope of the
    macros that bind them (`i` in `items.exists(i, i > 1)`)."""
    tokens = list(_tokens(text))
    stack: list[tuple[str, bool, str | None]] = []  # (closer, a macro call?, the name bound)
    depth = deepest = 0
    free: dict[str, _Token] = {}
    status_literals: list[_Token] = []
    for i, token in enumerate(tokens):
        before = tokens[i - 1].text if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "op" and token.text in _OPENERS:
            is_macro = (
                token.text == "(" and before in MACROS and i >= 2 and tokens[i - 2].text == "."
            )
            binds = after.text if is_macro and after is not None and after.kind == "ident" else None
            stack.append((_OPENERS[token.text], is_macro, binds))
            depth += is_macro
            deepest = max(deepest, depth)
            if len(stack) > MAX_NESTING:
                raise _error(field_name, token, f"nested deeper than {MAX_NESTING} brackets")
            if depth > MAX_MACRO_DEPTH:
                raise _error(field_name, token, f"more than {MAX_MACRO_DEPTH} nested macros")
        elif token.kind == "op" and stack and token.text == stack[-1][0]:
            depth -= stack.pop()[1]
        elif token.kind == "ident" and before != ".":
            in_scope = any(name == token.text for _, _, name in stack)
            if not in_scope and (after is None or after.text != "("):
                free.setdefault(token.text, token)
            if token.text == "status" and not in_scope:
                status_literals.extend(_compared_literals(tokens, i))
    pluses = sum(1 for t in tokens if t.kind == "op" and t.text == "+")
    commas = sum(1 for t in tokens if t.kind == "op" and t.text == ",")
    return _Shape(len(tokens), deepest, pluses, commas, free, status_literals)


# Tokens that bind more loosely than `==` on each side of `status == "X"`: only then is the
# comparison between `status` itself and the literal itself (not `"FAIL" + "ED"`).
_LEFT_EDGES = frozenset({"", "&&", "||", "(", "[", "{", ",", "?", ":"})
_RIGHT_EDGES = frozenset({"", "&&", "||", ")", "]", "}", ",", "?", ":"})


def _compared_literals(tokens: list[_Token], at: int) -> list[_Token]:
    """The string literal in `status == "X"`, `status != "X"`, `"X" == status`..."""

    def text(i: int) -> str:
        return tokens[i].text if 0 <= i < len(tokens) else ""

    def is_string(i: int) -> bool:
        return 0 <= i < len(tokens) and tokens[i].kind == "string"

    equality = ("==", "!=")
    found = []
    if (
        text(at - 1) in _LEFT_EDGES
        and text(at + 1) in equality
        and is_string(at + 2)
        and text(at + 3) in _RIGHT_EDGES
    ):
        found.append(tokens[at + 2])
    if (
        text(at + 1) in _RIGHT_EDGES
        and text(at - 1) in equality
        and is_string(at - 2)
        and text(at - 3) in _LEFT_EDGES
    ):
        found.append(tokens[at - 2])
    return found


def _error(field_name: str, token: _Token, message: str) -> InvalidArgumentError:
    return _positioned(field_name, token.line, token.column, message)


def _positioned(field_name: str, line: int, column: int, message: str) -> InvalidArgumentError:
    return InvalidArgumentError.single(field_name, f"line {line}, column {column}: {message}")


def _string_value(literal: str) -> str | None:
    """The value of a plain (not raw, not bytes, not triple-quoted) string literal without
    escapes, else None (then it is not checked)."""
    if literal[:1] not in ("'", '"') or literal.startswith(("'''", '"""')) or "\\" in literal:
        return None
    return literal[1:-1]


@dataclass(frozen=True, slots=True)
class ConditionInput:
    """What a condition sees: the objective's output and data (JSON), its status, the
    schedule and agent as maps (id, name, labels, ...), and the event's wire name."""

    output: Any
    data: Mapping[str, Any]
    status: ObjectiveStatus
    schedule: Mapping[str, Any] = field(default_factory=dict)
    agent: Mapping[str, Any] = field(default_factory=dict)
    type: str = ""


@dataclass(frozen=True, slots=True)
class EventInput:
    """What an event webhook's condition sees (EVENT_VARIABLES): the event's wire name and
    the objective, schedule, agent and fire it is about, as JSON maps (empty when the event
    is about none: `fire` holds the scheduled times, count and reason of a fire or schedule
    event)."""

    type: str
    objective: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Any] = field(default_factory=dict)
    agent: Mapping[str, Any] = field(default_factory=dict)
    fire: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """`matched` is whether to deliver; `error` says why a condition could not be decided
    (then `matched` is False: a condition that errors does not deliver)."""

    matched: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    _program: cel.Program = field(repr=False, compare=False)
    _size: int = field(repr=False, compare=False)
    _macro_depth: int = field(repr=False, compare=False)
    _pluses: int = field(repr=False, compare=False)
    _commas: int = field(repr=False, compare=False)

    def cost_bound(self, elements: int) -> int:
        """The most steps an evaluation can take over an activation of `elements` values: a
        macro's range is at most `(pluses + 1) * (elements + commas + 1)` long (a list of the
        activation, a literal list, or `+` concatenating them), and each step of the deepest
        macro visits at most every token."""
        longest_range = (self._pluses + 1) * (elements + self._commas + 1)
        bound: int = self._size * longest_range**self._macro_depth
        return bound

    def evaluate(self, activation: ConditionInput | EventInput) -> ConditionResult:
        value, error = self.value(activation)
        if error is not None:
            return ConditionResult(False, error)
        if not isinstance(value, bool):
            return ConditionResult(
                False, f"the condition gave {_kind(value)}, not a bool (true or false)"
            )
        return ConditionResult(value)

    def value(self, activation: ConditionInput | EventInput) -> tuple[Any, str | None]:
        """The expression's value (a chain edge's output mapping computes data with it),
        or None and why it could not be computed; bounded as `evaluate` is."""
        counter = [0]
        try:
            values = _values(activation, counter)
        except _NotJsonError as error:
            return None, str(error)
        bound = self.cost_bound(counter[0])
        if bound > COST_LIMIT:
            return None, (
                f"the condition could take {bound} steps over this objective's "
                f"{counter[0]} JSON values, more than the limit of {COST_LIMIT}; "
                "nest fewer macros (all, exists, map, filter)"
            )
        try:
            return self._program.execute(values), None
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            return None, _describe(error)


def compile_condition(
    text: str, field_name: str, variables: Sequence[str] = VARIABLES
) -> Condition:
    """Parse and check `text` against the declared `variables` (a result delivery's by
    default); InvalidArgumentError names `field_name` and the position."""
    if not text.strip():
        raise InvalidArgumentError.single(field_name, "a condition must not be empty")
    if len(text.encode()) > MAX_LENGTH:
        raise InvalidArgumentError.single(
            field_name, f"a condition is at most {MAX_LENGTH} bytes, not {len(text.encode())}"
        )
    shape = _shape(field_name, text)
    try:
        program = cel.compile(text)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise _syntax_error(field_name, error) from None
    unknown = [name for name in program.variables() if name not in variables and name in shape.free]
    if unknown:
        first = min((shape.free[name] for name in unknown), key=lambda t: (t.line, t.column))
        raise _error(
            field_name,
            first,
            f"undeclared variable {first.text!r}; a condition can use {', '.join(variables)}",
        )
    for literal in shape.status_literals:
        value = _string_value(literal.text)
        if value is not None and value not in STATUS_NAMES:
            raise _error(
                field_name,
                literal,
                f"status is never {value!r}; it is one of {', '.join(sorted(STATUS_NAMES))}",
            )
    return Condition(text, program, shape.size, shape.macro_depth, shape.pluses, shape.commas)


def _syntax_error(field_name: str, error: BaseException) -> InvalidArgumentError:
    match = _POSITION.search(str(error))
    if match is None:
        return InvalidArgumentError.single(field_name, f"invalid condition: {_describe(error)}")
    return _positioned(field_name, int(match[1]), int(match[2]), match[3])


class _NotJsonError(Exception):
    pass


def _values(activation: ConditionInput | EventInput, counter: list[int]) -> dict[str, Any]:
    """The CEL activation: VARIABLES of a ConditionInput, EVENT_VARIABLES of an EventInput."""
    if isinstance(activation, EventInput):
        return {
            "type": activation.type,
            "objective": _json(activation.objective, counter),
            "schedule": _json(activation.schedule, counter),
            "agent": _json(activation.agent, counter),
            "fire": _json(activation.fire, counter),
        }
    return {
        "output": _json(activation.output, counter),
        "data": _json(activation.data, counter),
        "status": activation.status.name,
        "schedule": _json(activation.schedule, counter),
        "agent": _json(activation.agent, counter),
        "type": activation.type,
    }


def _json(value: Any, counter: list[int]) -> Any:
    """A JSON value as CEL sees google.protobuf.Value: numbers are doubles; counts values."""
    counter[0] += 1
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJsonError(f"a JSON object key must be a string, not {key!r}")
            out[key] = _json(item, counter)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_json(item, counter) for item in value]
    raise _NotJsonError(f"{type(value).__name__} is not a JSON value")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {str: "a string", float: "a double", int: "an int", list: "a list", dict: "a map"}
    return names.get(type(value), f"a {type(value).__name__}")


def _describe(error: BaseException) -> str:
    if isinstance(error, KeyError):
        return f"no such key: {error.args[0] if error.args else ''}"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

"""google.api.http path templates: parsing, matching a request path, OpenAPI form.

Grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# Multi-segment variables keep an encoded slash encoded (http.proto: "%2F" is left as is).
_ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)
# What may stand between a path and its custom method's verb: `:`, or `%3A` as some clients send.
_VERB_SEPARATORS = (":", "%3A", "%3a")

LITERAL, SINGLE, DEEP = 0, 1, 2  # segment kinds, in order of precedence when routing


class TemplateError(ValueError):
    """A path template that does not follow the google.api.http grammar."""

    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"invalid path template {template!r}: {problem}")


@dataclass(frozen=True, slots=True)
class Segment:
    kind: int
    literal: str = ""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{field.path=...}` capture over the segments [start, end) of the template."""

    field_path: str
    start: int
    end: int
    segments: tuple[Segment, ...]

    @property
    def multi_segment(self) -> bool:
        return len(self.segments) != 1 or self.segments[0].kind != SINGLE


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A parsed template; `match` returns the variables' decoded values, or None."""

    text: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str
    deep_index: int  # where `**` is, or -1

    @classmethod
    def parse(cls, text: str) -> "PathTemplate":
        if not text.startswith("/"):
            raise TemplateError(text, "it must start with '/'")
        body, verb = _split_verb(text)
        segments: list[Segment] = []
        variables: list[Variable] = []
        for part in _split_top_level(body[1:], text):
            if part.startswith("{"):
                if not part.endswith("}"):
                    raise TemplateError(text, f"unterminated variable {part!r}")
                field_path, _, pattern = part[1:-1].partition("=")
                if not _IDENT.match(field_path):
                    raise TemplateError(text, f"bad field path {field_path!r}")
                inner = tuple(_segment(p, text) for p in (pattern or "*").split("/"))
                start = len(segments)
                segments.extend(inner)
                variables.append(Variable(field_path, start, len(segments), inner))
            else:
                segments.append(_segment(part, text))
        deep = [i for i, s in enumerate(segments) if s.kind == DEEP]
        if len(deep) > 1:
            raise TemplateError(text, "at most one '**' is allowed")
        return cls(text, tuple(segments), tuple(variables), verb, deep[0] if deep else -1)

    def match(self, path: str) -> dict[str, str] | None:
        """The variables of `path` (percent-encoded, without the query), or None."""
        parts = split_path(path, self.verb)
        return None if parts is None else self.match_parts(parts)

    def match_parts(self, parts: list[str]) -> dict[str, str] | None:
        """Like `match`, for a path already split by `split_path` with this verb."""
        spans = self._align(parts)
        if spans is None:
            return None
        values: dict[str, str] = {}
        for variable in self.variables:
            first, last = spans[variable.start][0], spans[variable.end - 1][1]
            if variable.multi_segment:
                values[variable.field_path] = _decode_multi(parts[first:last])
            else:
                raw = parts[first]
                values[variable.field_path] = unquote(raw) if "%" in raw else raw
        return values

    def _align(self, parts: list[str]) -> list[tuple[int, int]] | None:
        """For each template segment, the [start, end) of the request parts it covers."""
        segments, deep = self.segments, self.deep_index
        if deep < 0:
            if len(parts) != len(segments):
                return None
            spans = [(i, i + 1) for i in range(len(parts))]
        else:
            if len(parts) < len(segments) - 1:
                return None
            tail = len(parts) - (len(segments) - deep - 1)  # first part after the `**`
            spans = [(i, i + 1) for i in range(deep)]
            spans.append((deep, tail))
            spans += [(i, i + 1) for i in range(tail, len(parts))]
        for segment, (first, _) in zip(segments, spans, strict=True):
            if segment.kind == LITERAL:
                part = parts[first]
                if part != segment.literal and unquote(part) != segment.literal:
                    return None
            elif segment.kind == SINGLE and not parts[first]:
                return None  # `*` matches one whole, non-empty segment
        return spans

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: literal segments win over variables, verbs over none."""
        return (0 if self.verb else 1, *(s.kind for s in self.segments))

    def openapi_path(self, parameter_names: dict[str, str]) -> str:
        """The template as an OpenAPI path: each variable becomes `{name}`."""
        out: list[str] = []
        index = 0
        starts = {v.start: v for v in self.variables}
        while index < len(self.segments):
            variable = starts.get(index)
            if variable is not None:
                out.append("{" + parameter_names[variable.field_path] + "}")
                index = variable.end
                continue
            segment = self.segments[index]
            out.append(segment.literal if segment.kind == LITERAL else "*" * segment.kind)
            index += 1
        return "/" + "/".join(out) + (":" + self.verb if self.verb else "")


def split_path(path: str, verb: str) -> list[str] | None:
    """The segments of `path` once `:verb` is cut off its end; None if it does not end so,
    or is not absolute. The colon may come percent-encoded (`%3A`), as some clients and
    proxies send it."""
    if verb:
        for separator in _VERB_SEPARATORS:
            if path.endswith(separator + verb):
                path = path[: -len(verb) - len(separator)]
                break
        else:
            return None
    if not path.startswith("/"):
        return None
    return path[1:].split("/")


def _decode_multi(parts: list[str]) -> str:
    joined = "/".join(parts)
    if "%" not in joined:
        return joined
    # Decode everything except an encoded slash, which stays as sent.
    return "%2F".join(unquote(piece) for piece in _ENCODED_SLASH.split(joined))


def _segment(part: str, template: str) -> Segment:
    if part == "*":
        return Segment(SINGLE)
    if part == "**":
        return Segment(DEEP)
    if not part or any(c in part for c in "{}=*"):
        raise TemplateError(template, f"bad segment {part!r}")
    return Segment(LITERAL, part)


def _split_verb(text: str) -> tuple[str, str]:
    """Splits `/a/{b}:verb` into (`/a/{b}`, `verb`); a colon inside braces is not a verb."""
    depth = 0
    last_slash = colon = -1
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and char == "/":
            last_slash, colon = index, -1
        elif depth == 0 and char == ":" and colon < 0 and index > last_slash:
            colon = index
    if depth != 0:
        raise TemplateError(text, "unbalanced braces")
    if colon < 0:
        return text, ""
    verb = text[colon + 1 :]
    if not verb or any(c in verb for c in "/{}*:"):
        raise TemplateError(text, f"bad verb {verb!r}")
    return text[:colon], verb


def _split_top_level(body: str, template: str) -> list[str]:
    """Splits on '/' outside braces, so `{name=a/*}` stays one part."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in body:
        if char == "{":
            if depth:
                raise TemplateError(template, "nested variables are not allowed")
            depth = 1
        elif char == "}":
            depth = 0
        if char == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts

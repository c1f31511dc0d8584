"""Reading the YAML or JSON document a `-f FILE` names (`-` is stdin). JSON is YAML, so
one parser reads both; timestamps stay strings (ProtoJSON parses them, and PyYAML would
turn `2026-12-02T15:00:00Z` into a datetime that ProtoJSON refuses)."""

import json
from typing import Any

import click
import yaml

from sundial.cli.errors import CommandError, Decorator

try:  # libyaml's parser, when PyYAML has it: some 30 times faster on a large bundle
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's multi-line message as one line: what is wrong, and where."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split())


def read_document(path: str) -> dict[str, Any]:
    try:
        with click.open_file(path, encoding="utf-8") as file:
            document = yaml.load(file, Loader=_Loader)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CommandError(f"{path} is neither YAML nor JSON: {yaml_problem(error)}") from None
    if not isinstance(document, dict):
        raise CommandError(f"{path}: expected a mapping, got {type(document).__name__}")
    return document


def read_documents(path: str) -> list[Any]:
    """Every YAML document of the file, in order (`---` separated; a *.json file is one
    document, read by the json module, which is faster); an empty document is None."""
    try:
        with click.open_file(path, encoding="utf-8") as file:
            if path.endswith(".json"):
                return [json.load(file)]
            documents = list(yaml.load_all(file, Loader=_Loader))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise CommandError(f"{path} is not JSON: {error.msg} ({where})") from None
    except yaml.YAMLError as error:
        raise CommandError(f"{path} is neither YAML nor JSON: {yaml_problem(error)}") from None
    return documents


def file_option() -> Decorator:
    return click.option(
        "-f", "--file", "file", help="YAML or JSON file with the resource (- for stdin)"
    )

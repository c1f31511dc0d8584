"""How the gateway measures and refuses nesting in a JSON body (gateway/requests.py)."""

import json

import pytest

from sundial.gateway.requests import MAX_JSON_DEPTH, _emptied_past_limit, parse_json


def test_containers_past_the_limit_are_emptied_and_strings_are_left_alone():
    deep = "[" * (MAX_JSON_DEPTH + 3) + '"]["' + "]" * (MAX_JSON_DEPTH + 3)
    text = '{"a": "[{not json", "b": ' + deep + "}"
    value = json.loads(_emptied_past_limit(text))
    assert value["a"] == "[{not json"
    node = value["b"]
    for _ in range(MAX_JSON_DEPTH - 1):
        node = node[0]
    assert node == []


def test_text_within_the_limit_is_unchanged():
    text = '{"a": [[{"b": "}]"}]], "c": "\\"["}'
    assert _emptied_past_limit(text) == text


@pytest.mark.parametrize("depth", [1, 500, 5000])
def test_parse_json_gives_a_value_however_deep_the_body(depth):
    # Past the parser's own limit (about 1,000) the deep part comes back emptied, for
    # build_request to refuse naming the field.
    assert isinstance(parse_json(b"[" * depth + b"]" * depth), list)

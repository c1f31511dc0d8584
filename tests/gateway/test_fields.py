"""Field values from URL text, read as ProtoJSON reads them."""

import pytest

from sundial.gateway.fields import resolve, set_from_text
from sundial.gateway.http_errors import BadRequestError
from tests.gateway.feature_service import message


@pytest.mark.parametrize(
    ("name", "proto_path"),
    [
        ("nested.child.label", "nested.child.label"),
        ("bigWrapper", "big_wrapper"),
        ("big_wrapper", "big_wrapper"),
    ],
)
def test_resolve_takes_proto_and_json_names(name, proto_path):
    fields = resolve(message("Thing").DESCRIPTOR, name, json_names=True)
    assert fields is not None
    assert ".".join(f.name for f in fields) == proto_path


def test_resolve_takes_only_proto_names_for_path_variables():
    assert resolve(message("Thing").DESCRIPTOR, "bigWrapper", json_names=False) is None
    assert resolve(message("Thing").DESCRIPTOR, "count.more", json_names=True) is None


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("count", "-3", {"count": -3}),
        ("flag", "t", {"flag": True}),
        ("flag", "FALSE", {}),
        ("small", "2.5", {"small": 2.5}),
        ("blob", "AQI=", {"blob": b"\x01\x02"}),
        ("blob", "AQI", {"blob": b"\x01\x02"}),
        ("color", "COLOR_GREEN", {"color": 2}),
        ("when", "1970-01-01T00:00:01Z", {"when": {"seconds": 1}}),
        ("wait", "0s", {"wait": {}}),
        ("mask", "a.bC, d", {"mask": {"paths": ["a.b_c", "d"]}}),
        ("maybe_blob", "eA", {"maybe_blob": {"value": b"x"}}),
    ],
)
def test_set_from_text(name, text, expected):
    thing = message("Thing")
    fields = resolve(thing.DESCRIPTOR, name, json_names=True)
    set_from_text(thing, fields, text, name)
    assert thing == message("Thing", **expected)
    for key in expected:
        if thing.DESCRIPTOR.fields_by_name[key].message_type is not None:
            assert thing.HasField(key)  # a WKT set to its zero value is still set


def test_errors_name_the_field_as_the_client_spelled_it():
    thing = message("Thing")
    with pytest.raises(BadRequestError) as caught:
        set_from_text(
            thing, resolve(thing.DESCRIPTOR, "bigWrapper", json_names=True), "x", "bigWrapper"
        )
    assert caught.value.field == "bigWrapper"
    assert caught.value.reason == "INVALID_FIELD_VALUE"

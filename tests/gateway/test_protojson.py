"""The fast encoder writes exactly what json_format.MessageToDict writes."""

import json
import math
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor, json_format, struct_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from sundial.gateway.protojson import ProtoJsonEncoder
from sundial.v1 import agent_schedule_pb2
from tests.gateway.feature_service import message

FieldDescriptor = descriptor.FieldDescriptor
SEED_EXAMPLE = Path(__file__).parents[1] / "fixtures" / "seed_001_agent_schedule.json"
encoder = ProtoJsonEncoder()


def _same_as_json_format(value: Message) -> None:
    """The same JSON as protobuf's own encoder, except that a whole number may be written
    without its `.0` (the same JSON number)."""
    assert _same_json(encoder.encode(value), json_format.MessageToDict(value))


def _same_json(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(_same_json(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same_json, ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


def test_seed_example():
    seed = json.loads(SEED_EXAMPLE.read_text())
    _same_as_json_format(json_format.ParseDict(seed, agent_schedule_pb2.AgentSchedule()))


def test_status_with_details():
    status = status_pb2.Status(code=3, message="bad")
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(reason="R", domain="d", metadata={"k": "v"})
    )
    _same_as_json_format(status)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"big": -(2**63), "ubig": 2**64 - 1, "signed_big": 5, "fixed": 7},
        {"ratio": math.inf, "small": -math.inf},
        {"ratio": math.nan, "small": 0.1},
        {"blob": b"\x00\xff?", "color": 2, "colors": [1, 2, 7]},
        {"color": 9},
        {"when": {"seconds": 1, "nanos": 5000}, "wait": {"seconds": -3, "nanos": -500}},
        {"mask": {"paths": ["a.b_c", "d"]}},
        {"maybe": {}, "big_wrapper": {"value": 3}, "maybe_flag": {}, "maybe_blob": {"value": b"x"}},
        {"labels": {"a": "b"}, "by_number": {3: {"depth": 1}}, "by_flag": {True: "t", False: "f"}},
        {"opt": 0},
        {"extra": {"fields": {"n": {"number_value": 1.0}, "s": {"null_value": 0}}}},
        {"value": {"list_value": {"values": [{"bool_value": True}, {"string_value": "x"}]}}},
        {"value": {}},
        {"list": {"values": [{"struct_value": {}}]}},
        {"children": [{}, {"child": {"label": "x"}}]},
    ],
    ids=str,
)
def test_field_kinds(fields):
    _same_as_json_format(message("Thing", **fields))


def _values(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return _messages(field.message_type, depth + 1)
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values] + [42])
    if kind == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=5)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=5)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if field.cpp_type == FieldDescriptor.CPPTYPE_INT32:
        return st.integers(-(2**31), 2**31 - 1)
    if field.cpp_type == FieldDescriptor.CPPTYPE_UINT32:
        return st.integers(0, 2**32 - 1)
    if field.cpp_type == FieldDescriptor.CPPTYPE_INT64:
        return st.integers(-(2**63), 2**63 - 1)
    return st.integers(0, 2**64 - 1)


# Well-known types whose JSON form has rules of its own; they are covered above.
_SKIPPED = {"google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue"}


def _messages(message_type: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    from google.protobuf import message_factory

    cls = message_factory.GetMessageClass(message_type)
    if message_type.full_name == "google.protobuf.Timestamp":
        return st.builds(
            cls, seconds=st.integers(-62135596800, 253402300799), nanos=st.integers(0, 999_999_999)
        )
    if message_type.full_name == "google.protobuf.Duration":
        return st.integers(-(10**9), 10**9).map(
            lambda s: cls(seconds=s, nanos=(abs(s) % 7) * 1000 * (1 if s >= 0 else -1))
        )
    if message_type.full_name == "google.protobuf.FieldMask":
        return st.lists(st.from_regex(r"[a-z]{1,3}(_[a-z]{1,3})?", fullmatch=True), max_size=3).map(
            lambda paths: cls(paths=paths)
        )
    fields = [f for f in message_type.fields if depth < 2 or f.type != FieldDescriptor.TYPE_MESSAGE]
    fields = [
        f for f in fields if f.message_type is None or f.message_type.full_name not in _SKIPPED
    ]

    @st.composite
    def build(draw: Any) -> Message:
        instance = cls()
        for field in fields:
            if not draw(st.booleans()):
                continue
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key_field = field.message_type.fields_by_name["key"]
                value_field = field.message_type.fields_by_name["value"]
                entries = draw(
                    st.dictionaries(
                        _values(key_field, depth), _values(value_field, depth), max_size=2
                    )
                )
                target = getattr(instance, field.name)
                for key, value in entries.items():
                    if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                        target[key].CopyFrom(value)
                    else:
                        target[key] = value
            elif field.is_repeated:
                values = draw(st.lists(_values(field, depth), max_size=2))
                target = getattr(instance, field.name)
                for value in values:
                    if field.type == FieldDescriptor.TYPE_MESSAGE:
                        target.add().CopyFrom(value)
                    else:
                        target.append(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(instance, field.name).CopyFrom(draw(_values(field, depth)))
            else:
                setattr(instance, field.name, draw(_values(field, depth)))
        return instance

    return build()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_messages(data):
    thing = data.draw(_messages(message("Thing").DESCRIPTOR))
    _same_as_json_format(thing)


def test_value_that_json_cannot_hold_is_an_error():
    with pytest.raises(json_format.SerializeToJsonError):
        encoder.encode(struct_pb2.Value(number_value=math.inf))


@pytest.mark.parametrize(
    ("number", "written"),
    [(3.0, "3"), (-42.0, "-42"), (0.0, "0"), (0.5, "0.5"), (2.0**53, "9007199254740992"),
     (2.0**53 * 4, "3.602879701896397e+16"), (1e300, "1e+300")],
)  # fmt: skip
def test_whole_value_numbers_are_written_as_integers(number, written):
    value = struct_pb2.Value(number_value=number)
    assert json.dumps(encoder.encode(value)) == written

"""The protos' comments by full name, for the OpenAPI document's descriptions.

The `_pb2` modules' descriptors carry no source info, so no comments: scripts/gen.sh also
writes a descriptor set built with `--include_source_info` (gen/sundial/v1/
descriptor_set.binpb), and this reads the leading comment of every service, method,
message, field, enum and enum value from it. protobuf has no API that maps a
SourceCodeInfo path to an element, so the walk over the paths' numbers (the fields of
descriptor.proto) is written out here."""

import functools
import importlib.resources
from collections.abc import Iterable

from google.protobuf import descriptor_pb2

BUNDLED_PACKAGE = "sundial.v1"
BUNDLED_FILE = "descriptor_set.binpb"

# Field numbers in google/protobuf/descriptor.proto, the steps of a SourceCodeInfo path.
_FILE_MESSAGES, _FILE_ENUMS, _FILE_SERVICES = 4, 5, 6
_MESSAGE_FIELDS, _MESSAGE_NESTED, _MESSAGE_ENUMS = 2, 3, 4
_ENUM_VALUES = 2
_SERVICE_METHODS = 2


class ProtoComments:
    """Leading comments keyed by full name: `pkg.Message`, `pkg.Message.field`,
    `pkg.Service.Method`, `pkg.Enum` and `pkg.Enum.VALUE` (the enum's name, then the
    value's, unlike protobuf's own full names of enum values)."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto] = ()) -> None:
        self._comments: dict[str, str] = {}
        for file in files:
            self._add_file(file)

    @classmethod
    def from_descriptor_set(cls, data: bytes) -> "ProtoComments":
        return cls(descriptor_pb2.FileDescriptorSet.FromString(data).file)

    def __call__(self, full_name: str) -> str:
        """The comment of an element, without its `//` markers; "" when it has none."""
        return self._comments.get(full_name, "")

    def _add_file(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        names: dict[tuple[int, ...], str] = {}
        prefix = f"{file.package}." if file.package else ""
        for i, message in enumerate(file.message_type):
            self._name_message(names, (_FILE_MESSAGES, i), prefix + message.name, message)
        for i, enum in enumerate(file.enum_type):
            self._name_enum(names, (_FILE_ENUMS, i), prefix + enum.name, enum)
        for i, service in enumerate(file.service):
            service_name = prefix + service.name
            names[(_FILE_SERVICES, i)] = service_name
            for j, method in enumerate(service.method):
                names[(_FILE_SERVICES, i, _SERVICE_METHODS, j)] = f"{service_name}.{method.name}"
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            text = _clean(location.leading_comments)
            if name is not None and text:
                self._comments[name] = text

    def _name_message(
        self,
        names: dict[tuple[int, ...], str],
        path: tuple[int, ...],
        name: str,
        message: descriptor_pb2.DescriptorProto,
    ) -> None:
        names[path] = name
        for i, field in enumerate(message.field):
            names[(*path, _MESSAGE_FIELDS, i)] = f"{name}.{field.name}"
        for i, nested in enumerate(message.nested_type):
            self._name_message(names, (*path, _MESSAGE_NESTED, i), f"{name}.{nested.name}", nested)
        for i, enum in enumerate(message.enum_type):
            self._name_enum(names, (*path, _MESSAGE_ENUMS, i), f"{name}.{enum.name}", enum)

    @staticmethod
    def _name_enum(
        names: dict[tuple[int, ...], str],
        path: tuple[int, ...],
        name: str,
        enum: descriptor_pb2.EnumDescriptorProto,
    ) -> None:
        names[path] = name
        for i, value in enumerate(enum.value):
            names[(*path, _ENUM_VALUES, i)] = f"{name}.{value.name}"


@functools.cache
def bundled_comments() -> ProtoComments:
    """The comments of the protos in gen/ (and of google.rpc.Status)."""
    resource = importlib.resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE)
    return ProtoComments.from_descriptor_set(resource.read_bytes())


def _clean(comment: str) -> str:
    """`// text` lines as protoc hands them (` text\\n`): the space after each marker and
    the surrounding blank lines gone; line breaks and inner indentation kept."""
    lines = [line.removeprefix(" ").rstrip() for line in comment.splitlines()]
    return "\n".join(lines).strip("\n")

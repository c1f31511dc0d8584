"""Proto comments by full name, from a descriptor set with source info."""

from pathlib import Path

from google.protobuf import descriptor_pb2

from sundial.gateway.proto_comments import BUNDLED_FILE, ProtoComments, bundled_comments

ROOT = Path(__file__).parents[2]


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="demo.proto", package="demo.v1")
    outer = file.message_type.add(name="Outer")
    outer.field.add(name="first")
    outer.field.add(name="second")
    inner = outer.nested_type.add(name="Inner")
    inner.field.add(name="deep")
    outer.enum_type.add(name="Kind").value.add(name="KIND_A")
    file.enum_type.add(name="Color").value.add(name="COLOR_RED")
    service = file.service.add(name="Demo")
    service.method.add(name="Run")
    comments = {
        (4, 0): " An outer message.\n",
        (4, 0, 2, 1): " The second field,\n over two lines.\n",
        (4, 0, 3, 0): " Nested.\n",
        (4, 0, 3, 0, 2, 0): " Deep inside.\n",
        (4, 0, 4, 0): " A nested enum.\n",
        (4, 0, 4, 0, 2, 0): " Its value.\n",
        (5, 0, 2, 0): "Red, with no space after the marker.\n",
        (6, 0): " The service.\n",
        (6, 0, 2, 0): "\n Runs.\n\n   Indented example.\n\n",
        (4, 0, 2, 0): "",  # a location without a comment
    }
    for path, text in comments.items():
        file.source_code_info.location.add(path=path, leading_comments=text)
    # A trailing comment is not a description.
    file.source_code_info.location.add(path=(5, 0), trailing_comments=" trailing\n")
    return file


def test_comments_by_full_name_without_markers():
    comments = ProtoComments([_file()])
    assert comments("demo.v1.Outer") == "An outer message."
    assert comments("demo.v1.Outer.second") == "The second field,\nover two lines."
    assert comments("demo.v1.Outer.Inner") == "Nested."
    assert comments("demo.v1.Outer.Inner.deep") == "Deep inside."
    assert comments("demo.v1.Outer.Kind") == "A nested enum."
    assert comments("demo.v1.Outer.Kind.KIND_A") == "Its value."
    assert comments("demo.v1.Color.COLOR_RED") == "Red, with no space after the marker."
    assert comments("demo.v1.Demo") == "The service."
    assert comments("demo.v1.Demo.Run") == "Runs.\n\n  Indented example."


def test_no_comment_is_empty():
    comments = ProtoComments([_file()])
    assert comments("demo.v1.Outer.first") == ""
    assert comments("demo.v1.Color") == ""
    assert comments("demo.v1.Missing") == ""


def test_bundled_set_holds_every_proto_and_google_rpc_status():
    data = (ROOT / "gen" / "sundial" / "v1" / BUNDLED_FILE).read_bytes()
    names = {f.name for f in descriptor_pb2.FileDescriptorSet.FromString(data).file}
    protos = {f"sundial/v1/{p.name}" for p in (ROOT / "proto" / "sundial" / "v1").glob("*.proto")}
    assert names == protos | {"google/rpc/status.proto"}
    comments = bundled_comments()
    assert comments("sundial.v1.AgentService.GetAgent") == "Gets an agent."
    assert comments("google.rpc.Status.code").startswith("The status code")

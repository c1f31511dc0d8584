"""DESIGN.md section 7: imports point one way, and only api/ and gateway/ touch grpc and the
generated code."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "sundial"
# What each layer may import from sundial (besides itself).
ALLOWED = {
    "domain": set(),
    "timing": {"domain"},
    "engine": {"domain", "timing"},
    "store": {"domain"},
    "service": {"domain", "timing", "engine", "store"},
    "api": {"domain", "service", "v1"},
    "gateway": {"domain", "v1", "api"},
    "cli": {"domain", "service", "store", "settings", "logs", "server", "api"},
}
GRPC_MODULES = (
    "grpc",
    "grpc_health",
    "grpc_reflection",
    "grpc_status",
    "google.protobuf",
    "google.rpc",
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    for path in (SRC / layer).rglob("*.py"):
        for name in _imports(path):
            if name.startswith("sundial."):
                target = name.split(".")[1]
                assert target == layer or target in ALLOWED[layer], f"{path}: imports {name}"
            if layer not in ("api", "gateway"):
                assert not name.startswith(GRPC_MODULES), f"{path}: imports {name}"

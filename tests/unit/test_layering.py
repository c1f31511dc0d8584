"""DESIGN.md section 7: imports point one way; only api/ and gateway/ touch grpc, protobuf
and the generated code, and only store/ touches the database libraries."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "sundial"
# What each layer (a package, or a top-level module) may import from sundial besides itself.
ALLOWED = {
    "domain": set(),
    "timing": {"domain"},
    "engine": {"domain", "timing"},
    "store": {"domain"},
    "service": {"domain", "timing", "engine", "store", "metrics", "tracing"},
    "api": {"domain", "service", "v1", "metrics", "logs", "tracing"},
    "gateway": {"domain", "v1", "api", "metrics"},
    "cli": {
        "domain",
        "service",
        "store",
        "settings",
        "logs",
        "server",
        "rest_front",
        "heap",
        "api",
        "mcp",
    },
    # A client of the gRPC API, through api/json_client.py (DESIGN.md section 9).
    "mcp": {"api"},
    "logs": set(),
    "heap": set(),
    "metrics": set(),
    "tracing": set(),
    "settings": {"domain", "service"},
    # The wiring: it may import every layer, but no third-party library of one.
    "server": {
        "domain",
        "timing",
        "engine",
        "store",
        "service",
        "api",
        "gateway",
        "settings",
        "logs",
        "metrics",
        "tracing",
        "rest_front",
    },
    # A REST front apart: the gateway and its settings, and nothing of the database.
    "rest_front": {"gateway", "settings", "metrics"},
}
# Third-party modules only some layers may import.
GRPC_MODULES = (
    "grpc",
    "grpc_health",
    "grpc_reflection",
    "grpc_status",
    "google.protobuf",
    "google.rpc",
)
DATABASE_MODULES = ("sqlalchemy", "alembic", "psycopg")
HTTP_SERVER_MODULES = ("waitress",)
# The CEL library: conditions are compiled and evaluated in one place, domain/conditions.py.
CEL_MODULES = ("cel", "celpy")
TRACING_MODULES = ("opentelemetry",)
# Outgoing webhooks: the HTTP client and the signing library, used by the service layer
# (service/webhooks.py and the modules it is split into).
WEBHOOK_MODULES = ("httpx", "httpcore", "standardwebhooks")
# The MCP SDK and the ASGI stack it serves HTTP with.
MCP_MODULES = ("mcp", "starlette", "uvicorn", "pydantic")
THIRD_PARTY_OWNERS = {
    GRPC_MODULES: {"api", "gateway"},
    DATABASE_MODULES: {"store"},
    HTTP_SERVER_MODULES: {"gateway"},
    CEL_MODULES: {"domain"},
    TRACING_MODULES: {"tracing"},
    WEBHOOK_MODULES: {"service"},
    MCP_MODULES: {"mcp"},
}


def _is_under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _files(layer: str) -> list[Path]:
    module = SRC / f"{layer}.py"
    return [module] if module.is_file() else sorted((SRC / layer).rglob("*.py"))


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    parts |= {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert parts == set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    files = _files(layer)
    assert files, f"no modules found for {layer}"
    for path in files:
        for name in _imports(path):
            if name.startswith("sundial."):
                target = name.split(".")[1]
                assert target == layer or target in ALLOWED[layer], f"{path}: imports {name}"
            for modules, owners in THIRD_PARTY_OWNERS.items():
                if _is_under(name, modules):
                    assert layer in owners, f"{path}: imports {name}"

"""The web console as the gateway serves it at /console/: the index for the folder, the
hashed bundle with a long cache, same-origin-only headers, and the REST routes untouched."""

import gzip
import json
import re

import pytest

from sundial.gateway.app import GatewayApp
from sundial.gateway.console_assets import ASSET_FOLDER, ConsoleAssets
from sundial.gateway.routes import routes_of
from tests.gateway.feature_service import service

# The budget for the console's first load (index, bundle, stylesheet), gzipped.
FIRST_LOAD_BUDGET = 300 * 1024


class _Forwarder:
    def call(self, route, request, metadata, timeout):
        raise AssertionError("a console request must not become an RPC")


def _app(console: ConsoleAssets | None) -> GatewayApp:
    return GatewayApp(
        routes_of([service()]),
        _Forwarder(),
        openapi_document=b"{}",
        readiness=lambda: True,
        console=console,
    )


@pytest.fixture(scope="module")
def built() -> GatewayApp:
    return _app(ConsoleAssets())


def _header(reply, name):
    return dict(reply.headers).get(name)


def _asset_paths(index: bytes) -> list[str]:
    return re.findall(r'(?:src|href)="(assets/[^"]+)"', index.decode())


def test_the_index_is_served_for_the_folder(built):
    reply = built.handle("GET", "/console/", [], b"")
    assert reply.status == 200
    assert reply.content_type == "text/html; charset=utf-8"
    assert b'<div id="app">' in reply.body
    assert _header(reply, "Cache-Control") == "no-cache"
    csp = _header(reply, "Content-Security-Policy")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert _header(reply, "X-Content-Type-Options") == "nosniff"


def test_the_folder_without_its_slash_redirects_keeping_the_query(built):
    reply = built.handle("GET", "/console?x=1", [], b"")
    assert (reply.status, _header(reply, "Location")) == (308, "/console/?x=1")


def test_every_file_the_index_names_is_served_with_its_type_and_a_long_cache(built):
    index = built.handle("GET", "/console/", [], b"").body
    paths = _asset_paths(index)
    assert {path.rsplit(".", 1)[1] for path in paths} == {"js", "css"}
    for path in paths:
        reply = built.handle("GET", f"/console/{path}", [], b"")
        assert reply.status == 200, path
        expected = "text/javascript" if path.endswith(".js") else "text/css"
        assert reply.content_type == f"{expected}; charset=utf-8"
        assert _header(reply, "Cache-Control") == "public, max-age=31536000, immutable"


def test_the_first_load_is_within_its_budget_gzipped():
    index = (ASSET_FOLDER / "index.html").read_bytes()
    files = [index, *((ASSET_FOLDER / path).read_bytes() for path in _asset_paths(index))]
    assert sum(len(gzip.compress(body)) for body in files) < FIRST_LOAD_BUDGET


def test_a_file_the_browser_has_is_not_modified(built):
    first = built.handle("GET", "/console/", [], b"")
    again = built.handle("GET", "/console/", [("If-None-Match", _header(first, "ETag"))], b"")
    assert (again.status, again.body) == (304, b"")
    other = built.handle("GET", "/console/", [("If-None-Match", '"something-else"')], b"")
    assert other.status == 200


def test_a_large_file_is_gzipped_for_a_client_that_takes_it(built):
    index = built.handle("GET", "/console/", [], b"").body
    script = next(path for path in _asset_paths(index) if path.endswith(".js"))
    reply = built.handle("GET", f"/console/{script}", [("Accept-Encoding", "gzip")], b"")
    assert _header(reply, "Content-Encoding") == "gzip"
    assert gzip.decompress(reply.body) == (ASSET_FOLDER / script).read_bytes()
    assert "Accept-Encoding" in _header(reply, "Vary")


@pytest.mark.parametrize(
    "path",
    ["/console/assets/main-OLD.js", "/console/nothing.html", "/console/../pyproject.toml"],
    ids=["stale-bundle", "unknown-page", "dot-dot"],
)
def test_a_file_not_built_is_not_found(built, path):
    reply = built.handle("GET", path, [], b"")
    assert reply.status == 404
    assert json.loads(reply.body)["code"] == 5


def test_the_console_is_read_only(built):
    reply = built.handle("POST", "/console/", [], b"{}")
    assert (reply.status, _header(reply, "Allow")) == (405, "GET, HEAD")


def test_a_gateway_without_the_console_does_not_answer_for_it():
    assert _app(None).handle("GET", "/console/", [], b"").status == 404


def test_paths_that_only_start_like_the_console_stay_rest_routes(built):
    reply = built.handle("GET", "/consoles", [], b"")
    assert reply.status == 404
    assert json.loads(reply.body)["details"][0]["reason"] == "ROUTE_NOT_FOUND"


def test_assets_are_read_from_the_folder_given(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "assets" / "a-1.js").write_text("export {}")
    (tmp_path / "notes.txt").write_text("not a console file type")
    assets = ConsoleAssets(tmp_path)
    assert assets.available
    assert assets.find("/console/assets/a-1.js").content_type.startswith("text/javascript")
    assert assets.find("/console/notes.txt") is None
    assert not ConsoleAssets(tmp_path / "missing").available

"""Whose key a tool call carries: over HTTP (headers given) only the request's bearer key,
never the process's own; over stdio (no headers) the process's."""

import pytest

from sundial.api.call_errors import ApiError
from sundial.mcp.upstream import Upstream, bearer_key

PROCESS_KEY = "sdl_the-process-own-key-0123456789"


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer sdl_abc", "sdl_abc"),
        ("bearer   sdl_abc  ", "sdl_abc"),
        ("Basic dXNlcjpwdw==", ""),
        ("Bearer", ""),
        (None, ""),
    ],
    ids=["bearer", "any-case-and-spaces", "basic", "no-key", "no-header"],
)
def test_bearer_key(header, key):
    assert bearer_key({} if header is None else {"authorization": header}) == key


def test_an_http_request_without_its_own_key_never_gets_the_process_key():
    upstream = Upstream("127.0.0.1:1", "ws_1", PROCESS_KEY)
    with pytest.raises(ApiError) as refused, upstream.connect({"host": "x"}):
        pass
    assert refused.value.code == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in refused.value.message


def test_stdio_without_a_key_or_a_workspace_says_what_to_set():
    with pytest.raises(ApiError) as no_key, Upstream("127.0.0.1:1", "ws_1").connect(None):
        pass
    assert "SUNDIAL_API_KEY" in no_key.value.message
    with pytest.raises(ApiError) as no_workspace, Upstream("127.0.0.1:1", "", "k").connect(None):
        pass
    assert no_workspace.value.code == "FAILED_PRECONDITION"
    assert "--workspace" in no_workspace.value.message


def test_a_request_may_name_its_workspace():
    upstream = Upstream("127.0.0.1:1", "ws_default")
    headers = {"authorization": "Bearer sdl_k", "sundial-workspace": "ws_other"}
    with upstream.connect(headers) as api:
        assert api.workspace == "ws_other"
    with upstream.connect({"authorization": "Bearer sdl_k"}) as api:
        assert api.workspace == "ws_default"

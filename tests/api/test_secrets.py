"""Secrets (API key secrets and tokens) never reach the logs or the database in plain text,
over gRPC or REST, whether the call succeeds or fails."""

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import MetaData, create_engine, select

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.logs import JsonFormatter
from sundial.service.authentication import hash_secret
from sundial.service.tokens import JwtSettings
from sundial.v1 import (
    access_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
    workspace_service_pb2,
    workspace_service_pb2_grpc,
)
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET
from tests.support.jwts import AUDIENCE, ISSUER, TokenIssuer
from tests.support.servers import running, server_settings

from .conftest import START


class _Capture(logging.Handler):
    """Every record of every logger, rendered as the JSON log lines would be (with extras)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self._json.format(record))
        self.lines.append(logging.Formatter().format(record))


@pytest.fixture
def capture() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_secret_in_logs_or_database(database_url: str, tmp_path: Path, capture: _Capture):
    issuer = TokenIssuer()
    clock = FakeClock(START)
    settings = server_settings(
        database_url,
        http_address="127.0.0.1:0",
        jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, keys_file=issuer.write_jwks(tmp_path)),
    )
    with running(settings, clock) as server:
        account = server.bootstrap.account.id
        target = f"127.0.0.1:{server.port}"
        with authorized_channel(target, ADMIN_SECRET) as channel:
            keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
            made = keys.CreateApiKey(
                api_key_service_pb2.CreateApiKeyRequest(
                    account_id=account,
                    metadata=metadata_pb2.CreateResourceMetadata(name="ci"),
                    spec=api_key_pb2.ApiKeySpec(role=access_pb2.ROLE_VIEWER),
                )
            )
        key_secret = made.info.secret
        token = issuer.mint(
            now=clock.now(), extra={"sundial_account_id": account, "sundial_role": "viewer"}
        )
        bad_token = issuer.mint(now=clock.now(), audience="elsewhere")
        near_miss = key_secret[:-1] + ("A" if key_secret[-1] != "A" else "B")
        secrets = [ADMIN_SECRET, key_secret, token, bad_token, near_miss]

        request = workspace_service_pb2.ListWorkspacesRequest(account_id=account)
        for secret in secrets:
            with authorized_channel(target, secret) as channel:
                stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
                with contextlib.suppress(grpc.RpcError):
                    stub.ListWorkspaces(request)
            call(
                server.http_port,
                "GET",
                f"/v1/accounts/{account}/workspaces",
                headers={"Authorization": f"Bearer {secret}"},
            )
        with authorized_channel(target, ADMIN_SECRET) as channel:
            api_key_service_pb2_grpc.ApiKeyServiceStub(channel).RevokeApiKey(
                api_key_service_pb2.RevokeApiKeyRequest(
                    account_id=account, api_key_id=made.metadata.id
                )
            )

    logs = "\n".join(capture.lines)
    assert "ListWorkspaces" in logs  # the calls were logged: the search looked at them
    stored = _everything_stored(database_url)
    assert hash_secret(key_secret) in stored  # the digest is there: the search looked at it
    for secret in secrets:
        assert secret not in logs
        assert secret not in stored
        assert secret.split(".")[-1] not in stored  # not even a JWT's signature


def _everything_stored(database_url: str) -> str:
    """Every row of every table as text, and for SQLite the raw bytes of its files too."""
    engine = create_engine(database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            rows = [
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in connection.execute(select(table))
            ]
    finally:
        engine.dispose()
    text = "\n".join(rows)
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                text += file.read_bytes().decode("latin-1")
    return text

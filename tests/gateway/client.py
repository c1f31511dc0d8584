"""A plain HTTP client for the gateway tests (the standard library's http.client)."""

import http.client
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def reason(self) -> str:
        """The ErrorInfo reason of an error body."""
        details = self.json().get("details", [])
        return next((d["reason"] for d in details if d["@type"].endswith("ErrorInfo")), "")

    @property
    def violations(self) -> dict[str, str]:
        """The BadRequest field violations of an error body."""
        for detail in self.json().get("details", []):
            if detail["@type"].endswith("BadRequest"):
                return {v["field"]: v["description"] for v in detail["fieldViolations"]}
        return {}


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request on a fresh connection; `body` is JSON-encoded unless it is bytes."""
    headers = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()

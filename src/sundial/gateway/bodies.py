"""ProtoJSON bodies of the requests Sundial sends out: objectives posted to PUSH agents and
the events and results posted to webhooks. They read as the REST API's answers do (same
encoder), and are made here because the service layer, which writes them into the outbox,
cannot import gen/: the server hands these functions to it."""

from typing import Any

from sundial.api.converters import to_proto
from sundial.domain.objectives import Objective
from sundial.gateway.protojson import ProtoJsonEncoder
from sundial.v1 import objective_pb2

_encoder = ProtoJsonEncoder()


def objective_json(objective: Objective) -> dict[str, Any]:
    """The objective as the REST API shows it (GET .../objectives/{id})."""
    encoded: dict[str, Any] = _encoder.encode(to_proto(objective, objective_pb2.Objective()))
    return encoded

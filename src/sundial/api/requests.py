"""Request fields every servicer reads the same way."""

from datetime import datetime, timedelta
from typing import Protocol

from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from sundial.api.converters import duration_from_proto, timestamp_from_proto
from sundial.service.pagination import PageRequest


class _ListRequest(Protocol):
    page_size: int
    page_token: str
    filter: str
    order_by: str


def page_request(request: _ListRequest) -> PageRequest:
    return page_request_of(request.page_size, request.page_token, request.filter, request.order_by)


def page_request_of(
    page_size: int, page_token: str, filter_text: str, order_by: str = ""
) -> PageRequest:
    return PageRequest(
        page_size=page_size, page_token=page_token, filter=filter_text, order_by=order_by
    )


def optional_duration(request: Message, field: str) -> timedelta | None:
    """The Duration field `field` of `request`, or None when unset."""
    if not request.HasField(field):
        return None
    return duration_from_proto(getattr(request, field), field)


def optional_timestamp(request: Message, field: str) -> datetime | None:
    """The Timestamp field `field` of `request`, or None when unset."""
    if not request.HasField(field):
        return None
    return timestamp_from_proto(getattr(request, field), field)


def update_mask_of(mask: field_mask_pb2.FieldMask) -> list[str] | None:
    """The mask's paths; None when the client sent none (update every populated field)."""
    return list(mask.paths) or None

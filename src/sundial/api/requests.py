"""Request fields every servicer reads the same way."""

from typing import Protocol

from google.protobuf import field_mask_pb2

from sundial.service.pagination import PageRequest


class _ListRequest(Protocol):
    page_size: int
    page_token: str
    filter: str
    order_by: str


def page_request(request: _ListRequest) -> PageRequest:
    return PageRequest(
        page_size=request.page_size,
        page_token=request.page_token,
        filter=request.filter,
        order_by=request.order_by,
    )


def update_mask_of(mask: field_mask_pb2.FieldMask) -> list[str] | None:
    """The mask's paths; None when the client sent none (update every populated field)."""
    return list(mask.paths) or None

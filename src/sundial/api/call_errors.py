"""What a failed call through sundial.api.json_client raises. Kept apart from the client
so that code handling these errors need not import grpc."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class ApiError(Exception):
    """A call that failed: `code` is the gRPC status code's name (`NOT_FOUND`), and
    `violations` the fields a google.rpc.BadRequest detail named."""

    def __init__(
        self, code: str, message: str, violations: tuple[FieldViolation, ...] = ()
    ) -> None:
        self.code = code
        self.message = message
        self.violations = violations
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """`INVALID_ARGUMENT: spec.schedule.cronExpressions[0]: ...` (or the message when
        no field is named)."""
        if self.violations:
            parts = [f"{v.field}: {v.description}" for v in self.violations]
            return f"{self.code}: " + "; ".join(parts)
        return f"{self.code}: {self.message}"


class RequestDocumentError(ValueError):
    """A request dict that is not ProtoJSON of the method's request message."""

"""Request validation that is not about time (the time engine validates schedule rules).

Each check appends FieldViolations naming the request path of the bad field, so a client
sees every problem at once."""

import json
import re
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

import jsonschema

from sundial.domain.agents import AgentSpec
from sundial.domain.conditions import compile_condition
from sundial.domain.errors import FieldViolation, InvalidArgumentError
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import (
    MAX_CATCHUP_WINDOW,
    MAX_EXECUTION_TIMEOUT,
    MAX_RETRY_BACKOFF,
    AgentScheduleSpec,
)
from sundial.domain.webhooks import ResultDelivery

MAX_NAME_LENGTH = 256
MAX_KEY_LENGTH = 256
MAX_LABELS = 64
MAX_LABEL_KEY_LENGTH = 63
MAX_LABEL_VALUE_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 4096
MAX_INITIAL_MESSAGE_LENGTH = 100_000
MAX_DATA_BYTES = 64 * 1024
MAX_SCHEMA_BYTES = 64 * 1024
MAX_VARIATIONS = 100
MAX_RETRY_ATTEMPTS = 100
MAX_REQUEST_ID_LENGTH = 128
MAX_DELIVERIES = 10
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_.\-/]*$")
_VARIATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_REQUEST_ID = re.compile(r"^[\x21-\x7e]+$")
# Unicode's control characters (category Cc: U+0000-U+001F and U+007F-U+009F) but tab, line
# feed and carriage return; one regex search instead of a category lookup per character.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Violations:
    """Collects field violations; `raise_if_any` raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def extend(self, error: InvalidArgumentError) -> None:
        self.items.extend(error.violations)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgumentError(self.items)


def check_metadata(
    violations: Violations, metadata: MetadataInput, *, prefix: str = "metadata"
) -> None:
    if not metadata.name.strip():
        violations.add(f"{prefix}.name", "name is required")
    _check_text(violations, f"{prefix}.name", metadata.name, MAX_NAME_LENGTH)
    _check_text(violations, f"{prefix}.bundle_key", metadata.bundle_key, MAX_KEY_LENGTH)
    _check_text(violations, f"{prefix}.external_id", metadata.external_id, MAX_KEY_LENGTH)
    if len(metadata.labels) > MAX_LABELS:
        violations.add(
            f"{prefix}.labels", f"at most {MAX_LABELS} labels, got {len(metadata.labels)}"
        )
    for key, value in sorted(metadata.labels.items()):
        path = f"{prefix}.labels[{key}]"
        if len(key) > MAX_LABEL_KEY_LENGTH or not _LABEL_KEY.match(key):
            violations.add(
                path,
                f"label key {key!r} must be 1-{MAX_LABEL_KEY_LENGTH} characters: a lowercase "
                "letter, then lowercase letters, digits, '_', '-', '.' or '/'",
            )
        _check_text(violations, path, value, MAX_LABEL_VALUE_LENGTH)


def check_request_id(violations: Violations, request_id: str) -> None:
    if request_id and (
        len(request_id) > MAX_REQUEST_ID_LENGTH or not _REQUEST_ID.match(request_id)
    ):
        violations.add(
            "request_id",
            f"request_id must be 1-{MAX_REQUEST_ID_LENGTH} printable ASCII characters "
            "without spaces (a UUID is a good choice)",
        )


def check_pause_reason(reason: str) -> None:
    """A pause reason becomes the schedule's notes, so it has their limits."""
    violations = Violations()
    _check_text(violations, "reason", reason, MAX_DESCRIPTION_LENGTH)
    violations.raise_if_any()


def check_agent_spec(violations: Violations, spec: AgentSpec, *, prefix: str = "spec") -> None:
    _check_text(violations, f"{prefix}.description", spec.description, MAX_DESCRIPTION_LENGTH)
    if spec.input_data_schema is not None:
        path = f"{prefix}.input_data_schema"
        if json_size(spec.input_data_schema) > MAX_SCHEMA_BYTES:
            violations.add(path, f"input_data_schema is larger than {MAX_SCHEMA_BYTES} bytes")
        else:
            try:
                jsonschema.validators.validator_for(spec.input_data_schema).check_schema(
                    spec.input_data_schema
                )
            except jsonschema.SchemaError as exc:
                violations.add(path, f"not a valid JSON Schema: {exc.message}")
    if len(spec.variations) > MAX_VARIATIONS:
        violations.add(f"{prefix}.variations", f"at most {MAX_VARIATIONS} variations")
    seen: set[str] = set()
    for index, variation in enumerate(spec.variations):
        path = f"{prefix}.variations[{index}]"
        if not _VARIATION_ID.match(variation.id):
            violations.add(
                f"{path}.id",
                f"variation id {variation.id!r} must be 1-64 letters, digits, '_' or '-'",
            )
        elif variation.id in seen:
            violations.add(f"{path}.id", f"variation id {variation.id!r} is used twice")
        seen.add(variation.id)
        _check_text(violations, f"{path}.name", variation.name, MAX_NAME_LENGTH)
        if variation.weight < 0:
            violations.add(f"{path}.weight", f"weight must be >= 0, got {variation.weight}")
    check_deliveries(violations, spec.deliveries, prefix=prefix)


def check_schedule_spec(
    violations: Violations, spec: AgentScheduleSpec, agent: AgentSpec, *, prefix: str = "spec"
) -> None:
    """Everything but `spec.schedule`, which the time engine checks."""
    if not spec.initial_message.strip():
        violations.add(f"{prefix}.initial_message", "initial_message is required")
    _check_text(
        violations, f"{prefix}.initial_message", spec.initial_message, MAX_INITIAL_MESSAGE_LENGTH
    )
    _check_data(violations, f"{prefix}.data", spec.data, agent.input_data_schema)
    if spec.variation_id and spec.variation_id not in {v.id for v in agent.variations}:
        known = ", ".join(v.id for v in agent.variations) or "none"
        violations.add(
            f"{prefix}.variation_id",
            f"the agent has no variation {spec.variation_id!r} (its variations: {known})",
        )
    _check_duration(
        violations,
        f"{prefix}.catchup_window",
        spec.catchup_window,
        MAX_CATCHUP_WINDOW,
        allow_zero=True,
    )
    _check_duration(
        violations, f"{prefix}.execution_timeout", spec.execution_timeout, MAX_EXECUTION_TIMEOUT
    )
    if spec.max_fires < 0:
        violations.add(f"{prefix}.max_fires", f"max_fires must be >= 0, got {spec.max_fires}")
    _check_text(violations, f"{prefix}.notes", spec.notes, MAX_DESCRIPTION_LENGTH)
    check_deliveries(violations, spec.deliveries, prefix=prefix)
    retry = spec.retry_policy
    if retry is None:
        return
    path = f"{prefix}.retry_policy"
    if not 0 <= retry.max_attempts <= MAX_RETRY_ATTEMPTS:
        violations.add(
            f"{path}.max_attempts",
            f"max_attempts must be 0-{MAX_RETRY_ATTEMPTS}, got {retry.max_attempts}",
        )
    _check_duration(violations, f"{path}.initial_backoff", retry.initial_backoff, MAX_RETRY_BACKOFF)
    _check_duration(violations, f"{path}.max_backoff", retry.max_backoff, MAX_RETRY_BACKOFF)
    if retry.initial_backoff and retry.max_backoff and retry.max_backoff < retry.initial_backoff:
        violations.add(f"{path}.max_backoff", "max_backoff must be >= initial_backoff")
    if retry.backoff_multiplier != 0 and not 1.0 <= retry.backoff_multiplier <= 100.0:
        violations.add(
            f"{path}.backoff_multiplier",
            f"backoff_multiplier must be 0 (default 2.0) or 1-100, got {retry.backoff_multiplier}",
        )


def check_deliveries(
    violations: Violations, deliveries: Sequence[ResultDelivery], *, prefix: str = "spec"
) -> None:
    """A schedule's or agent's result deliveries, but whether their webhooks exist (that
    needs the database: check_delivery_webhooks)."""
    if len(deliveries) > MAX_DELIVERIES:
        violations.add(
            f"{prefix}.deliveries", f"at most {MAX_DELIVERIES} deliveries, got {len(deliveries)}"
        )
    seen: set[str] = set()
    for index, delivery in enumerate(deliveries):
        path = f"{prefix}.deliveries[{index}]"
        if not delivery.webhook_id:
            violations.add(f"{path}.webhook_id", "webhook_id is required")
        elif delivery.webhook_id in seen:
            violations.add(f"{path}.webhook_id", f"webhook {delivery.webhook_id!r} is listed twice")
        seen.add(delivery.webhook_id)
        if delivery.condition:
            try:
                compile_condition(delivery.condition, f"{path}.condition")
            except InvalidArgumentError as error:
                violations.extend(error)


def named_webhooks(deliveries: Sequence[ResultDelivery]) -> set[str]:
    """The webhook ids result deliveries name (what check_delivery_webhooks looks up)."""
    return {delivery.webhook_id for delivery in deliveries if delivery.webhook_id}


def check_delivery_webhooks(
    violations: Violations,
    deliveries: Sequence[ResultDelivery],
    existing: Collection[str],
    *,
    prefix: str = "spec",
) -> None:
    """Each delivery names a webhook of the workspace (`existing`: those found)."""
    for index, delivery in enumerate(deliveries):
        if delivery.webhook_id and delivery.webhook_id not in existing:
            violations.add(
                f"{prefix}.deliveries[{index}].webhook_id",
                f"the workspace has no webhook {delivery.webhook_id!r}",
            )


def _check_data(
    violations: Violations, path: str, data: Any, schema: dict[str, Any] | None
) -> None:
    if data is None:
        return
    if json_size(data) > MAX_DATA_BYTES:
        violations.add(path, f"data is larger than {MAX_DATA_BYTES} bytes of JSON")
        return
    if schema is None:
        return
    validator = jsonschema.validators.validator_for(schema)(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        violations.add(
            f"{path}{where}", f"does not satisfy the agent's input_data_schema: {error.message}"
        )


def _check_duration(
    violations: Violations,
    path: str,
    value: timedelta | None,
    maximum: timedelta,
    *,
    allow_zero: bool = False,
) -> None:
    if value is None:
        return
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        violations.add(path, f"must be {bound}, got {value.total_seconds()}s")
    elif value > maximum:
        violations.add(
            path,
            f"must be at most {maximum.days} days ({int(maximum.total_seconds())}s), "
            f"got {value.total_seconds():.0f}s",
        )


def _check_text(violations: Violations, path: str, value: str, limit: int) -> None:
    if len(value) > limit:
        violations.add(path, f"at most {limit} characters, got {len(value)}")
    elif _CONTROL.search(value):
        violations.add(path, "must not contain control characters")


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON."""
    return len(json.dumps(value, separators=(",", ":")).encode())

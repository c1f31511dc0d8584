"""Webhook use cases (sundial.v1.WebhookService): the webhooks of a workspace and the
deliveries made for them. Sending is the dispatcher's (service/webhooks.py sends one attempt).

A webhook's signing secret is made here and shown only in the answers of Create and
RotateWebhookSecret; every other answer has its last four characters (`secret_hint`)."""

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.domain.webhooks import (
    Delivery,
    DeliveryStatus,
    EventType,
    Webhook,
    WebhookInfo,
    WebhookSpec,
    WebhookState,
)
from sundial.service.filtering import ValueNormalizer, enum_value
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.listing import page_of, prepare_query
from sundial.service.notifier import Notifier
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import require_workspace
from sundial.service.updates import Writable, check_etag, merge_update, new_metadata
from sundial.service.validation import Violations, check_metadata, check_request_id
from sundial.service.webhook_checks import check_disable_reason, check_webhook_spec
from sundial.service.webhook_signing import generate_secret
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

# Changes to where Sundial sends and with which secret are worth a line each (never the
# secret itself); reads are in the access log.
logger = logging.getLogger("sundial.webhooks")
# The webhook id that lists (or gets) the deliveries of every webhook (AIP-159).
ALL_WEBHOOKS = "-"
SECRET_HINT_LENGTH = 4
_WEBHOOK_FILTERS = {"name": None, "external_id": None, "bundle_key": None}
_DELIVERY_FILTERS: dict[str, ValueNormalizer | None] = {
    "status": enum_value(DeliveryStatus, "DELIVERY_STATUS_"),
    "objective_id": None,
    "schedule_id": None,
    "event_type": enum_value(EventType, "EVENT_TYPE_"),
}


class WebhookResourceService:
    """`allow_http` and `allow_private` relax the URL checks (http URLs; IP literals of
    loopback and private networks) for development and tests, as the sender's guard does."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        allow_http: bool = False,
        allow_private: bool = False,
        notifier: Notifier | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        # Redeliver and enable make deliveries due now: the dispatcher is woken.
        self._notifier = notifier or Notifier()
        self._allow_http = allow_http
        self._allow_private = allow_private

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        metadata: MetadataInput,
        spec: WebhookSpec,
        *,
        request_id: str = "",
        validate_only: bool = False,
    ) -> Webhook:
        """The new webhook WITH its secret; a replayed request id returns it without."""
        self._check(metadata, spec, request_id)

        if validate_only:
            with UnitOfWork(self._database, write=False) as uow:
                require_workspace(uow, principal, workspace_id)
                _check_filters_exist(uow, workspace_id, spec)
            now = self._clock.now()
            return Webhook(
                metadata=new_metadata(principal, workspace_id, "", metadata, now),
                spec=spec,
                info=WebhookInfo(state=WebhookState.ENABLED),
            )

        key = request_key(workspace_id, "CreateWebhook", request_id, metadata, spec)
        return create_or_replay(
            key, lambda: self._create_once(principal, key, workspace_id, metadata, spec)
        )

    def _create_once(
        self,
        principal: Principal,
        key: RequestKey,
        workspace_id: str,
        metadata: MetadataInput,
        spec: WebhookSpec,
    ) -> Webhook:
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                # The secret was shown to the first call only.
                return require_webhook(uow, principal, workspace_id, replayed_id)
            require_workspace(uow, principal, workspace_id)
            _check_filters_exist(uow, workspace_id, spec)
            webhook_id = new_id(IdPrefix.WEBHOOK)
            secret = generate_secret()
            now = self._clock.now()
            uow.webhooks.add(
                Webhook(
                    metadata=new_metadata(principal, workspace_id, webhook_id, metadata, now),
                    spec=spec,
                    info=WebhookInfo(secret=secret, state=WebhookState.ENABLED),
                )
            )
            record_request(uow, self._clock, key, webhook_id)
            created = require_webhook(uow, principal, workspace_id, webhook_id)
            uow.commit()
        # Only the host: a URL's path or query is often a credential (Slack's are).
        logger.info(
            "webhook %s created in workspace %s by %s, posting to %s",
            webhook_id,
            workspace_id,
            principal.profile_id,
            urlsplit(spec.url).hostname,
        )
        return _with_secret(created, secret)

    def get(self, principal: Principal, workspace_id: str, webhook_id: str) -> Webhook:
        with UnitOfWork(self._database, write=False) as uow:
            return require_webhook(uow, principal, workspace_id, webhook_id)

    def list_webhooks(
        self, principal: Principal, workspace_id: str, request: PageRequest
    ) -> Page[Webhook]:
        prepared = prepare_query(request, _WEBHOOK_FILTERS, scope=("webhooks", workspace_id))
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            return page_of(prepared, uow.webhooks.list(workspace_id, prepared.query))

    def update(
        self,
        principal: Principal,
        workspace_id: str,
        webhook_id: str,
        metadata: MetadataInput,
        spec: WebhookSpec,
        *,
        update_mask: list[str] | None,
        etag: str = "",
    ) -> Webhook:
        with UnitOfWork(self._database, write=True) as uow:
            current = require_webhook(uow, principal, workspace_id, webhook_id, for_update=True)
            check_etag(current.metadata, etag)
            updated = merge_update(
                Writable.of(current.metadata, current.spec), Writable(metadata, spec), update_mask
            )
            self._check(updated.metadata, updated.spec)
            _check_filters_exist(uow, workspace_id, updated.spec)
            webhook = replace(
                current,
                metadata=updated.apply_to(current.metadata, self._clock.now()),
                spec=updated.spec,
            )
            uow.webhooks.update(webhook)
            uow.commit()
        return self.get(principal, workspace_id, webhook_id)

    def delete(
        self, principal: Principal, workspace_id: str, webhook_id: str, *, etag: str = ""
    ) -> None:
        with UnitOfWork(self._database, write=True) as uow:
            webhook = require_webhook(uow, principal, workspace_id, webhook_id, for_update=True)
            check_etag(webhook.metadata, etag)
            referrers = uow.webhooks.referrers(workspace_id, webhook_id)
            if referrers:
                raise FailedPreconditionError(
                    f"webhook {webhook_id!r} is named in the deliveries of "
                    f"{', '.join(referrers)}; remove it there first",
                    reason="WEBHOOK_IN_USE",
                )
            uow.webhooks.delete(workspace_id, webhook_id)
            uow.commit()
        logger.info("webhook %s deleted by %s", webhook_id, principal.profile_id)

    def rotate_secret(self, principal: Principal, workspace_id: str, webhook_id: str) -> Webhook:
        """The webhook WITH its new secret; deliveries from now on are signed with it."""
        secret = generate_secret()
        with UnitOfWork(self._database, write=True) as uow:
            require_webhook(uow, principal, workspace_id, webhook_id, for_update=True)
            uow.webhooks.set_secret(webhook_id, secret, now=self._clock.now())
            rotated = require_webhook(uow, principal, workspace_id, webhook_id)
            uow.commit()
        logger.info(
            "webhook %s has a new signing secret (...%s), rotated by %s",
            webhook_id,
            rotated.info.secret_hint,
            principal.profile_id,
        )
        return _with_secret(rotated, secret)

    def enable(self, principal: Principal, workspace_id: str, webhook_id: str) -> Webhook:
        return self._set_state(principal, workspace_id, webhook_id, WebhookState.ENABLED, "")

    def disable(
        self, principal: Principal, workspace_id: str, webhook_id: str, *, reason: str = ""
    ) -> Webhook:
        check_disable_reason(reason)
        return self._set_state(principal, workspace_id, webhook_id, WebhookState.DISABLED, reason)

    def _set_state(
        self,
        principal: Principal,
        workspace_id: str,
        webhook_id: str,
        state: WebhookState,
        reason: str,
    ) -> Webhook:
        with UnitOfWork(self._database, write=True) as uow:
            require_webhook(uow, principal, workspace_id, webhook_id, for_update=True)
            uow.webhooks.set_state(webhook_id, state, reason=reason, now=self._clock.now())
            changed = require_webhook(uow, principal, workspace_id, webhook_id)
            uow.commit()
        if state is WebhookState.ENABLED:
            self._notifier.deliveries_written()
        logger.info(
            "webhook %s %s by %s%s",
            webhook_id,
            state.name.lower(),
            principal.profile_id,
            f": {reason}" if reason else "",
        )
        return changed

    def list_deliveries(
        self, principal: Principal, workspace_id: str, webhook_id: str, request: PageRequest
    ) -> Page[Delivery]:
        """Newest first; `webhook_id` `-` lists the deliveries of every webhook."""
        prepared = prepare_query(
            request,
            _DELIVERY_FILTERS,
            scope=("deliveries", workspace_id, webhook_id),
            newest_first=True,
        )
        with UnitOfWork(self._database, write=False) as uow:
            if webhook_id == ALL_WEBHOOKS:
                require_workspace(uow, principal, workspace_id)
                rows = uow.deliveries.list(workspace_id, None, prepared.query)
            else:
                require_webhook(uow, principal, workspace_id, webhook_id)
                rows = uow.deliveries.list(workspace_id, webhook_id, prepared.query)
            return page_of(prepared, rows)

    def get_delivery(
        self, principal: Principal, workspace_id: str, webhook_id: str, delivery_id: str
    ) -> Delivery:
        with UnitOfWork(self._database, write=False) as uow:
            return require_delivery(uow, principal, workspace_id, webhook_id, delivery_id)

    def redeliver(
        self, principal: Principal, workspace_id: str, webhook_id: str, delivery_id: str
    ) -> Delivery:
        """PENDING again with its next attempt now and a new retry window, whatever its
        status; its id (the `webhook-id` receivers drop duplicates by) and body stay."""
        with UnitOfWork(self._database, write=True) as uow:
            require_delivery(uow, principal, workspace_id, webhook_id, delivery_id)
            uow.deliveries.redeliver(delivery_id, self._clock.now())
            redelivered = require_delivery(uow, principal, workspace_id, webhook_id, delivery_id)
            uow.commit()
        self._notifier.deliveries_written()
        logger.info(
            "delivery %s to webhook %s redelivered by %s (after %d attempt(s))",
            delivery_id,
            redelivered.spec.webhook_id,
            principal.profile_id,
            redelivered.info.attempts,
        )
        return redelivered

    def _check(self, metadata: MetadataInput, spec: WebhookSpec, request_id: str = "") -> None:
        violations = Violations()
        check_metadata(violations, metadata)
        check_request_id(violations, request_id)
        check_webhook_spec(
            violations, spec, allow_http=self._allow_http, allow_private=self._allow_private
        )
        violations.raise_if_any()


def require_webhook(
    uow: UnitOfWork,
    principal: Principal,
    workspace_id: str,
    webhook_id: str,
    *,
    for_update: bool = False,
) -> Webhook:
    """The webhook (without its secret), if it exists in a workspace of the principal's
    account; NOT_FOUND otherwise."""
    require_workspace(uow, principal, workspace_id)
    webhook = uow.webhooks.get(workspace_id, webhook_id, for_update=for_update)
    if webhook is None:
        raise NotFoundError("webhook", webhook_id)
    return webhook


def require_delivery(
    uow: UnitOfWork, principal: Principal, workspace_id: str, webhook_id: str, delivery_id: str
) -> Delivery:
    """The delivery, if it is one of the webhook's (any webhook's for `-`); NOT_FOUND
    otherwise, also when it belongs to another webhook than the one named."""
    require_workspace(uow, principal, workspace_id)
    delivery = uow.deliveries.get(workspace_id, delivery_id)
    if delivery is None or webhook_id not in (ALL_WEBHOOKS, delivery.spec.webhook_id):
        raise NotFoundError("delivery", delivery_id)
    return delivery


def _check_filters_exist(uow: UnitOfWork, workspace_id: str, spec: WebhookSpec) -> None:
    """INVALID_ARGUMENT naming each of `agent_ids` and `schedule_ids` that is not in the
    workspace: a filter on a resource that does not exist would match nothing, in silence."""
    violations = Violations()
    for index, agent_id in enumerate(spec.agent_ids):
        if uow.agents.spec_of(workspace_id, agent_id) is None:
            violations.add(f"spec.agent_ids[{index}]", f"no agent {agent_id!r} in the workspace")
    if spec.schedule_ids:
        found = {s.metadata.id for s in uow.schedules.get_many(workspace_id, spec.schedule_ids)}
        for index, schedule_id in enumerate(spec.schedule_ids):
            if schedule_id not in found:
                violations.add(
                    f"spec.schedule_ids[{index}]", f"no schedule {schedule_id!r} in the workspace"
                )
    violations.raise_if_any()


def _with_secret(webhook: Webhook, secret: str) -> Webhook:
    return replace(webhook, info=replace(webhook.info, secret=secret))

"""sundial.v1.WebhookService."""

import grpc
from google.protobuf import empty_pb2

from sundial.api.converters import from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import page_request_of, update_mask_of
from sundial.domain.metadata import MetadataInput
from sundial.domain.webhooks import Delivery, Webhook, WebhookSpec
from sundial.service.webhook_resources import WebhookResourceService
from sundial.v1 import webhook_pb2, webhook_service_pb2, webhook_service_pb2_grpc

pb = webhook_service_pb2


class WebhookServicer(webhook_service_pb2_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: WebhookResourceService, principal: PrincipalResolver) -> None:
        self._webhooks = webhooks
        self._principal = principal

    def CreateWebhook(
        self, request: pb.CreateWebhookRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.create(
            self._principal(context),
            request.workspace_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, WebhookSpec, "spec"),
            request_id=request.request_id,
            validate_only=request.validate_only,
        )
        return webhook_to_proto(webhook)

    def GetWebhook(
        self, request: pb.GetWebhookRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.get(
            self._principal(context), request.workspace_id, request.webhook_id
        )
        return webhook_to_proto(webhook)

    def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: grpc.ServicerContext
    ) -> pb.ListWebhooksResponse:
        page = self._webhooks.list_webhooks(
            self._principal(context),
            request.workspace_id,
            page_request_of(request.page_size, request.page_token, request.filter),
        )
        return pb.ListWebhooksResponse(
            webhooks=[webhook_to_proto(webhook) for webhook in page.items],
            next_page_token=page.next_page_token,
        )

    def UpdateWebhook(
        self, request: pb.UpdateWebhookRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.update(
            self._principal(context),
            request.workspace_id,
            request.webhook_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, WebhookSpec, "spec"),
            update_mask=update_mask_of(request.update_mask),
            etag=request.etag,
        )
        return webhook_to_proto(webhook)

    def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._webhooks.delete(
            self._principal(context), request.workspace_id, request.webhook_id, etag=request.etag
        )
        return empty_pb2.Empty()

    def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.rotate_secret(
            self._principal(context), request.workspace_id, request.webhook_id
        )
        return webhook_to_proto(webhook)

    def EnableWebhook(
        self, request: pb.EnableWebhookRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.enable(
            self._principal(context), request.workspace_id, request.webhook_id
        )
        return webhook_to_proto(webhook)

    def DisableWebhook(
        self, request: pb.DisableWebhookRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Webhook:
        webhook = self._webhooks.disable(
            self._principal(context),
            request.workspace_id,
            request.webhook_id,
            reason=request.reason,
        )
        return webhook_to_proto(webhook)

    def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> pb.ListDeliveriesResponse:
        page = self._webhooks.list_deliveries(
            self._principal(context),
            request.workspace_id,
            request.webhook_id,
            page_request_of(request.page_size, request.page_token, request.filter),
        )
        return pb.ListDeliveriesResponse(
            deliveries=[delivery_to_proto(delivery) for delivery in page.items],
            next_page_token=page.next_page_token,
        )

    def GetDelivery(
        self, request: pb.GetDeliveryRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Delivery:
        delivery = self._webhooks.get_delivery(
            self._principal(context), request.workspace_id, request.webhook_id, request.delivery_id
        )
        return delivery_to_proto(delivery)

    def RedeliverDelivery(
        self, request: pb.RedeliverDeliveryRequest, context: grpc.ServicerContext
    ) -> webhook_pb2.Delivery:
        delivery = self._webhooks.redeliver(
            self._principal(context), request.workspace_id, request.webhook_id, request.delivery_id
        )
        return delivery_to_proto(delivery)


def webhook_to_proto(webhook: Webhook) -> webhook_pb2.Webhook:
    return to_proto(webhook, webhook_pb2.Webhook())


def delivery_to_proto(delivery: Delivery) -> webhook_pb2.Delivery:
    return to_proto(delivery, webhook_pb2.Delivery())

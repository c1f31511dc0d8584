"""/readyz of a REST front apart (`sundial serve --roles rest`, or `create_app` under a WSGI
server): it is ready when the gRPC server it forwards to says it serves, so that a load
balancer stops sending requests to a front whose upstream is down or draining."""

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# A readiness probe that waits longer than this would itself time out at the balancer.
HEALTH_TIMEOUT_SECONDS = 2.0


class UpstreamHealth:
    """True while the upstream's grpc.health.v1 answers SERVING (the whole server: the
    empty service name)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._health = health_pb2_grpc.HealthStub(channel)

    def __call__(self) -> bool:
        try:
            answer = self._health.Check(
                health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT_SECONDS
            )
        except grpc.RpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

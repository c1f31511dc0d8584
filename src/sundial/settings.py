"""Server settings, from flags and SUNDIAL_* environment variables."""

from dataclasses import dataclass
from datetime import timedelta

DEFAULT_DATABASE_URL = "sqlite:///./sundial.db"
DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    grpc_address: str = DEFAULT_GRPC_ADDRESS
    # How long in-flight calls may take to finish after shutdown begins.
    shutdown_grace: timedelta = timedelta(seconds=10)
    # How long health answers NOT_SERVING before the server stops accepting calls, so that
    # load balancers that poll health see it and move traffic away first.
    drain_delay: timedelta = timedelta(seconds=1)
    max_workers: int = 16
    min_fire_interval: timedelta = timedelta(seconds=1)
    migrate: bool = True

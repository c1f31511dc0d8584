"""Webhook deliveries: the dispatcher's throughput against a bare httpx loop posting the
same payloads to the same receiver, and the delay from the commit that writes an outbox row
to the receiver at a steady rate; SQLite in a temporary directory, one webhook, measured in
the same run.

Targets: the dispatcher reaches 50% of the bare loop's deliveries/s, and at 200 events/s
for 30 s the delay's p99 is at most 250 ms.

- Throughput: `--deliveries` rows are written (not timed), then the dispatcher's thread
  (`service.dispatcher`, as `sundial serve` runs it: take with a lease, send signed, record
  each attempt in its transaction) is woken and timed until every row is DELIVERED. The
  baseline posts the same JSON bodies with one pooled `httpx.Client` from as many threads
  as the dispatcher has slots: no database, no signature. Each runs `--rounds` times, taking
  turns; the figures are the medians.
- Delay: a writer commits one row every 1/`--rate` s (on a fixed timetable, so a slow commit
  does not lower the rate) through the outbox's repository, then calls
  `Notifier.deliveries_written()` as the outbox writers do after their commit; the receiver
  notes when each `webhook-id` arrived. Delay = arrival - commit, wall clock, one machine.

The receiver (bench/delivery_receiver.py) runs in its own process.

Run: .venv/bin/python bench/delivery.py [--deliveries 3000] [--rounds 3] [--rate 200]
     [--seconds 30] [--concurrency 16] [--quick]"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from sundial.domain.clock import SystemClock
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.metadata import MetadataInput, ResourceMetadata
from sundial.domain.webhooks import (
    Delivery,
    DeliveryInfo,
    DeliverySpec,
    DeliveryStatus,
    EventType,
    WebhookFormat,
    WebhookSpec,
)
from sundial.service.dispatcher import DEFAULT_CONCURRENCY, DeliveryDispatcher
from sundial.service.notifier import Notifier
from sundial.service.tenancy import TenancyService
from sundial.service.webhook_resources import WebhookResourceService
from sundial.service.webhooks import WebhookSender
from sundial.store import migrate
from sundial.store.database import Database
from sundial.store.models import DeliveryRow
from sundial.store.unit_of_work import UnitOfWork

HERE = Path(__file__).resolve().parent
THROUGHPUT_GOAL = 0.50
DELAY_GOAL_SECONDS = 0.250
# Bounds how long the bench waits for what it sent (it fails, not hangs).
DRAIN_SECONDS = 120
# An objective.succeeded event as the outbox renders it (about 600 bytes).
BODY: dict[str, Any] = {
    "type": "objective.succeeded",
    "timestamp": "2026-12-03T14:00:00Z",
    "data": {
        "objective": {
            "metadata": {
                "id": "obj_01JBENCHBENCHBENCHBENCHBENC",
                "workspaceId": "ws_01JBENCHBENCHBENCHBENCHBENC",
                "createTime": "2026-12-03T14:00:00Z",
            },
            "spec": {
                "scheduleId": "sched_01JBENCHBENCHBENCHBENCHBEN",
                "agentId": "agent_01JBENCHBENCHBENCHBENCHBEN",
                "message": "Summarize yesterday's tickets for the on-call channel",
                "data": {"ticket": 42, "labels": ["ops", "daily"]},
                "scheduledTime": "2026-12-03T14:00:00Z",
            },
            "info": {
                "status": "OBJECTIVE_STATUS_SUCCEEDED",
                "attempt": 1,
                "output": {"summary": "12 tickets closed, 3 opened", "ok": True},
            },
        }
    },
}


@dataclass(frozen=True)
class Scene:
    database: Database
    account_id: str
    workspace_id: str
    webhook_id: str


def _receiver() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "delivery_receiver.py")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _arrivals(port: int) -> dict[str, float]:
    """What the receiver noted since the last call (it forgets them)."""
    answer = httpx.get(f"http://127.0.0.1:{port}/arrivals", timeout=30)
    answer.raise_for_status()
    return {key: float(value) for key, value in answer.json().items()}


def _scene(directory: Path, port: int) -> Scene:
    url = f"sqlite:///{directory / 'delivery.sqlite'}"
    migrate.upgrade(url)
    database = Database(url)
    clock = SystemClock()
    boot = TenancyService(database, clock).bootstrap()
    webhook = WebhookResourceService(database, clock, allow_http=True, allow_private=True).create(
        boot.principal,
        boot.default_workspace.id,
        MetadataInput(name="bench"),
        WebhookSpec(
            url=f"http://127.0.0.1:{port}/hook", event_types=(EventType.OBJECTIVE_SUCCEEDED,)
        ),
    )
    return Scene(
        database, boot.principal.account_id, boot.default_workspace.id, webhook.metadata.id
    )


def _write(scene: Scene, count: int) -> list[str]:
    """`count` PENDING deliveries in one transaction, as the outbox writes them."""
    now = datetime.now(UTC)
    deliveries = [
        Delivery(
            metadata=ResourceMetadata(
                id=new_id(IdPrefix.DELIVERY),
                account_id=scene.account_id,
                workspace_id=scene.workspace_id,
            ),
            spec=DeliverySpec(
                webhook_id=scene.webhook_id,
                event_type=EventType.OBJECTIVE_SUCCEEDED,
                format=WebhookFormat.JSON,
                body=BODY,
            ),
            info=DeliveryInfo(status=DeliveryStatus.PENDING),
        )
        for _ in range(count)
    ]
    with UnitOfWork(scene.database, write=True) as uow:
        uow.outbox.add(deliveries, now)
        uow.commit()
    return [delivery.metadata.id for delivery in deliveries]


def _delivered(scene: Scene) -> int:
    with UnitOfWork(scene.database, write=False) as uow:
        statement = select(func.count()).where(DeliveryRow.status == DeliveryStatus.DELIVERED.name)
        return int(uow.session.execute(statement).scalar_one())


def _dispatcher(scene: Scene, sender: WebhookSender, concurrency: int) -> DeliveryDispatcher:
    return DeliveryDispatcher(scene.database, SystemClock(), sender, concurrency=concurrency)


def dispatcher_rate(scene: Scene, port: int, count: int, concurrency: int) -> float:
    """Deliveries per second of the dispatcher's thread draining `count` due rows."""
    before = _delivered(scene)
    _write(scene, count)
    pause = threading.Event()
    with WebhookSender(
        SystemClock(), allow_private_targets=True, max_concurrency=concurrency
    ) as sender:
        dispatcher = _dispatcher(scene, sender, concurrency)
        started = time.perf_counter()
        dispatcher.start()
        try:
            deadline = started + DRAIN_SECONDS
            while _delivered(scene) < before + count:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the dispatcher did not deliver every row in time")
                pause.wait(0.05)
            elapsed = time.perf_counter() - started
        finally:
            dispatcher.stop()
    _arrivals(port)
    return count / elapsed


def bare_rate(port: int, count: int, concurrency: int) -> float:
    """Deliveries per second of a bare httpx loop posting the same bodies, no database."""
    body = json.dumps(BODY, separators=(",", ":")).encode()
    url = f"http://127.0.0.1:{port}/hook"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, trust_env=False) as client:

        def post(index: int) -> None:
            headers = {"content-type": "application/json", "x-bench-id": f"bare-{index}"}
            client.post(url, content=body, headers=headers, timeout=10).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(post, range(count)))
        elapsed = time.perf_counter() - started
    _arrivals(port)
    return count / elapsed


@dataclass(frozen=True)
class Delay:
    written: int
    arrived: int
    p50: float
    p99: float
    worst: float


def steady_delay(scene: Scene, port: int, rate: int, seconds: int, concurrency: int) -> Delay:
    """The delay from each row's commit to its arrival, `rate` rows a second."""
    _arrivals(port)
    committed: dict[str, float] = {}
    notifier = Notifier()
    with WebhookSender(
        SystemClock(), allow_private_targets=True, max_concurrency=concurrency
    ) as sender:
        dispatcher = _dispatcher(scene, sender, concurrency)
        notifier.on_deliveries_written(dispatcher.wake)
        dispatcher.start()
        try:
            pause = threading.Event()
            start = time.perf_counter()
            total = rate * seconds
            for index in range(total):
                wait = start + index / rate - time.perf_counter()
                if wait > 0:
                    pause.wait(wait)
                [delivery_id] = _write(scene, 1)
                committed[delivery_id] = time.time()
                notifier.deliveries_written()
            arrivals: dict[str, float] = {}
            deadline = time.perf_counter() + DRAIN_SECONDS
            while len(arrivals) < total and time.perf_counter() < deadline:
                pause.wait(0.2)
                arrivals.update(_arrivals(port))
        finally:
            dispatcher.stop()
    delays = sorted(arrivals[key] - committed[key] for key in committed if key in arrivals)
    return Delay(
        written=len(committed),
        arrived=len(delays),
        p50=statistics.median(delays),
        p99=delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        worst=delays[-1],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--quick", action="store_true", help="a short run, to check the bench")
    args = parser.parse_args()
    if args.quick:
        args.deliveries, args.rounds, args.seconds = 300, 1, 3
    receiver, port = _receiver()
    try:
        with tempfile.TemporaryDirectory() as directory:
            scene = _scene(Path(directory), port)
            dispatched, bare = [], []
            for _ in range(args.rounds):
                bare.append(bare_rate(port, args.deliveries, args.concurrency))
                dispatched.append(dispatcher_rate(scene, port, args.deliveries, args.concurrency))
            delay = steady_delay(scene, port, args.rate, args.seconds, args.concurrency)
            scene.database.dispose()
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)
    ours, theirs = statistics.median(dispatched), statistics.median(bare)
    print(
        f"throughput ({args.deliveries} deliveries, {args.concurrency} in flight, median of "
        f"{args.rounds}):"
    )
    print(f"  dispatcher      {ours:8.0f}/s   rounds {[round(r) for r in dispatched]}")
    print(f"  bare httpx loop {theirs:8.0f}/s   rounds {[round(r) for r in bare]}")
    verdict = "ok" if ours / theirs >= THROUGHPUT_GOAL else "BELOW GOAL"
    print(f"  ratio {ours / theirs:.0%} (goal >= {THROUGHPUT_GOAL:.0%}): {verdict}")
    print(f"delay commit -> receiver at {args.rate}/s for {args.seconds} s:")
    print(f"  arrived {delay.arrived} of {delay.written}")
    print(
        f"  p50 {delay.p50 * 1000:.1f} ms, p99 {delay.p99 * 1000:.1f} ms, "
        f"max {delay.worst * 1000:.1f} ms"
    )
    verdict = "ok" if delay.p99 <= DELAY_GOAL_SECONDS else "ABOVE GOAL"
    print(f"  p99 goal <= {DELAY_GOAL_SECONDS * 1000:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()

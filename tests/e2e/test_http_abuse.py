"""The issue's abuse test (issue 13), against a real `sundial serve`: 500 idle keep-alive
connections, 50 clients sending their headers a byte a second, and 300 expensive List
calls abandoned by their clients, while a normal client's Get keeps answering quickly and
never fails; then a clean shutdown. Real time on loopback, with explicit generous bounds."""

import json
import signal
import socket

import pytest

from tests.gateway.client import call
from tests.gateway.served import sundial_serve
from tests.support.auth import AUTHORIZATION
from tests.support.http_abuse import Abuse, run_abuse

# The bound on the normal client's p99 while the abuse goes on.
P99_BOUND_SECONDS = 0.050
SCHEDULES = 100
SCHEDULE = {
    "metadata": {"name": "abuse"},
    "spec": {
        "initialMessage": "x" * 2000,
        "schedule": {"calendars": [{"minute": [{"start": 0, "end": 59}]}], "timezone": "UTC"},
    },
}


@pytest.mark.slow(seconds=25)
def test_idle_slow_and_abandoned_clients_do_not_slow_a_normal_client(tmp_path, sqlite_template):
    database = tmp_path / "sundial.db"
    database.write_bytes(sqlite_template.read_bytes())
    with sundial_serve(
        f"sqlite:///{database}", "--http-header-timeout", "2", "--drain-delay", "0"
    ) as served:
        headers = {"Authorization": AUTHORIZATION}
        agents = f"/v1/workspaces/{served.workspace}/agents"
        agent = call(served.rest_port, "POST", agents, {"metadata": {"name": "a"}}, headers)
        agent_path = f"{agents}/{agent.json()['metadata']['id']}"
        for _ in range(SCHEDULES):
            created = call(served.rest_port, "POST", f"{agent_path}/schedules", SCHEDULE, headers)
            assert created.status == 200, created.body
        expensive = (
            f"GET {agent_path}/schedules?pageSize=1000 HTTP/1.1\r\nHost: abuse\r\n"
            f"Authorization: {AUTHORIZATION}\r\n\r\n"
        ).encode()

        def get_agent(connection):
            connection.request("GET", agent_path, headers=headers)
            response = connection.getresponse()
            json.loads(response.read())
            return response.status

        report = run_abuse(served.rest_port, normal_call=get_agent, expensive_request=expensive)

        print(report.summary())
        assert report.failures == []
        assert report.idle_opened == Abuse().idle
        assert report.percentile(0.99) < P99_BOUND_SECONDS, report.summary()
        assert report.slow_still_open == 0, report.summary()

        served.popen.send_signal(signal.SIGTERM)
        assert served.popen.wait(timeout=60) == 0
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", served.rest_port)) != 0

"""A worker's calls over REST, against a real server on each database: Complete and Fail
repeated after their answer was lost answer 200 with the objective, another outcome stays
400 FAILED_PRECONDITION, and `:release` gives a claimed objective back."""

from google.rpc import code_pb2

from tests.gateway.test_rest_api import _create_schedule


def _claimed(rest, worker="w1"):
    """A fresh objective of a new agent, claimed by `worker`; (its path, the objective)."""
    agent_id = rest.create_agent()
    schedule = _create_schedule(rest, agent_id)
    schedule_path = f"{rest.schedules(agent_id)}/{schedule['metadata']['id']}"
    assert rest("POST", f"{schedule_path}:trigger", {}).status == 200
    objectives = f"{rest.agents()}/{agent_id}/objectives"
    reply = rest("POST", f"{objectives}:claim", {"workerId": worker, "leaseDuration": "30s"})
    assert reply.status == 200, reply.body
    [objective] = reply.json()["objectives"]
    return f"{objectives}/{objective['metadata']['id']}", objective


def test_a_repeated_complete_answers_200_with_the_objective(rest):
    path, _ = _claimed(rest)
    body = {"workerId": "w1", "output": {"answer": 42}}
    first = rest("POST", f"{path}:complete", body)
    assert first.status == 200, first.body

    again = rest("POST", f"{path}:complete", body)

    assert again.status == 200, again.body
    assert again.json() == first.json()
    assert again.json()["info"]["status"] == "OBJECTIVE_STATUS_SUCCEEDED"
    other = rest("POST", f"{path}:complete", {"workerId": "w1", "output": {"answer": 43}})
    assert other.status == 400
    assert other.json()["code"] == code_pb2.FAILED_PRECONDITION
    assert other.reason == "LEASE_NOT_HELD"


def test_a_repeated_fail_answers_200_and_a_complete_after_it_400(rest):
    path, _ = _claimed(rest)
    body = {"workerId": "w1", "error": "boom"}
    first = rest("POST", f"{path}:fail", body)
    assert first.status == 200, first.body
    again = rest("POST", f"{path}:fail", body)
    assert again.status == 200, again.body
    assert again.json() == first.json()
    late = rest("POST", f"{path}:complete", {"workerId": "w1"})
    assert late.status == 400
    assert late.reason == "LEASE_NOT_HELD"


def test_release_gives_the_objective_back_and_only_its_holder_may(rest):
    path, objective = _claimed(rest)
    refused = rest("POST", f"{path}:release", {"workerId": "w2"})
    assert refused.status == 400
    assert refused.json()["code"] == code_pb2.FAILED_PRECONDITION
    assert refused.reason == "LEASE_NOT_HELD"

    released = rest("POST", f"{path}:release", {"workerId": "w1"})

    assert released.status == 200, released.body
    info = released.json()["info"]
    assert info["status"] == "OBJECTIVE_STATUS_PENDING"
    assert "workerId" not in info
    assert "leaseExpiresAt" not in info
    assert info["attempt"] == objective["info"]["attempt"]
    assert rest("POST", f"{path}:release", {"workerId": "w1"}).reason == "LEASE_NOT_HELD"

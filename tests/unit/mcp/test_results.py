"""The flat, seed-000-shaped summaries the tools answer, from the API's ProtoJSON."""

from sundial.mcp.results import run_detail, schedule_summary


def test_a_cron_only_schedule_shows_its_cron_strings_and_others_their_words():
    cron = {"spec": {"schedule": {"cronExpressions": ["0 8 * * 1", "0 9 * * 5"]}}}
    words = {
        "spec": {"schedule": {"cronExpressions": ["0 8 * * 1"], "endTime": "2027-01-01T00:00:00Z"}},
        "info": {"description": "every Monday at 08:00 until 2027-01-01"},
    }
    assert schedule_summary(cron).cadence == "0 8 * * 1; 0 9 * * 5"
    assert schedule_summary(words).cadence == "every Monday at 08:00 until 2027-01-01"


def test_statuses_are_lower_case_and_a_paused_schedule_is_not_enabled():
    summary = schedule_summary(
        {
            "metadata": {"id": "sched_1", "name": "n", "etag": "e1"},
            "spec": {"status": "AGENT_SCHEDULE_STATUS_PAUSED", "initialMessage": "m"},
            "info": {"lastObjectiveStatus": "OBJECTIVE_STATUS_TIMED_OUT", "totalFires": 4},
        }
    )
    assert (summary.status, summary.enabled) == ("paused", False)
    assert summary.last_run_status == "timed_out"
    assert (summary.total_runs, summary.timezone, summary.etag) == (4, "UTC", "e1")
    assert summary.next_run_at is None


def test_a_run_without_output_says_so_and_one_with_a_falsy_output_has_it():
    empty = run_detail({"info": {"status": "OBJECTIVE_STATUS_RUNNING"}})
    assert (empty.status, empty.has_output, empty.output) == ("running", False, None)
    zero = run_detail({"info": {"status": "OBJECTIVE_STATUS_SUCCEEDED", "output": 0}})
    assert (zero.has_output, zero.output) == (True, 0)

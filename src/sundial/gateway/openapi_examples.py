"""The README's REST/JSON examples, shown in the OpenAPI document: on schemas (by full
name) and on request bodies (by operationId). Names that no route uses are left out of
the document; tests/gateway/test_openapi.py checks that each one lands, and redocly lint
that each one fits its schema."""

from typing import Any

_CRON_SPEC = {
    "initialMessage": "Summarize yesterday",
    "schedule": {"cronExpressions": ["0 9 * * 1-5"], "timezone": "America/New_York"},
}
_CALENDAR_SPEC = {
    "initialMessage": "Summarize yesterday's tickets",
    "schedule": {
        "calendars": [{"dayOfWeek": [{"start": 1, "end": 5}], "hour": [{"start": 9}]}],
        "timezone": "America/New_York",
    },
    "overlapPolicy": "OVERLAP_POLICY_SKIP",
}
_METADATA = {"name": "weekday-digest", "labels": {"team": "platform"}}

SCHEMA_EXAMPLES: dict[str, Any] = {
    "sundial.v1.AgentScheduleSpec": _CRON_SPEC,
    "sundial.v1.AgentScheduleSpecSchedule": _CALENDAR_SPEC["schedule"],
    "sundial.v1.CreateResourceMetadata": _METADATA,
}

# operationId -> example name -> {"summary": ..., "value": ...} (an OpenAPI Example Object)
REQUEST_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "AgentService_CreateAgent": {
        "digest": {"summary": "An agent named digest", "value": {"metadata": {"name": "digest"}}}
    },
    "AgentScheduleService_CreateAgentSchedule": {
        "cron": {
            "summary": "Weekdays at 09:00 in New York, by a cron expression",
            "value": {"metadata": _METADATA, "spec": _CRON_SPEC},
        },
        "calendar": {
            "summary": "The same by a calendar rule, skipping a fire while one runs",
            "value": {"metadata": _METADATA, "spec": _CALENDAR_SPEC},
        },
    },
    "AgentScheduleService_UpdateAgentSchedule": {
        "notes": {
            "summary": "Change the notes only",
            "value": {"spec": {"notes": "on call"}, "updateMask": "spec.notes"},
        }
    },
    "WebhookService_CreateWebhook": {
        "failures": {
            "summary": "Failed and timed-out objectives, posted to an https endpoint",
            "value": {
                "metadata": {"name": "failures"},
                "spec": {
                    "url": "https://hooks.example.com/sundial",
                    "eventTypes": ["EVENT_TYPE_OBJECTIVE_FAILED", "EVENT_TYPE_OBJECTIVE_TIMED_OUT"],
                },
            },
        }
    },
    "AgentScheduleService_PauseAgentSchedule": {
        "holiday": {
            "summary": "Pause, with the reason in spec.notes",
            "value": {"reason": "holiday"},
        }
    },
    "AgentScheduleService_ParseSchedule": {
        "words": {
            "summary": "Weekdays at 09:00 in Los Angeles, in words",
            "value": {"text": "every weekday at 9am Pacific"},
        }
    },
}

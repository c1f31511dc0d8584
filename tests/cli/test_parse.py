"""`sundial parse TEXT` against a real server: the rules, description and next fire times
of schedule text, and the error naming the words the grammar could not read."""

from tests.cli.conftest import Sundial, as_json, failed, ok

# A Friday: the next weekday 09:00 in Berlin is Monday, after the change to summer time.
FRIDAY = "2026-03-27T12:00:00Z"


def test_parse_prints_description_rules_and_next_fires(sundial: Sundial):
    shown = ok(sundial("parse", "every weekday at 9am", "--timezone", "Europe/Berlin",
                       "--reference", FRIDAY, "-n", "2"))  # fmt: skip
    assert "at 09:00 on Monday through Friday, in Europe/Berlin" in shown
    assert "PARSE_METHOD_GRAMMAR" in shown
    assert '"timezone":"Europe/Berlin"' in shown
    table = shown[shown.index("NEXT FIRES") :]
    fires = [line.strip() for line in table.splitlines() if line.strip().startswith("2026")]
    assert fires == ["2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"]


def test_parse_as_json_is_the_response_with_next_fire_times(sundial: Sundial):
    document = as_json(sundial("parse", "0 12 * * *", "--reference", FRIDAY, "-n", "1",
                               "-o", "json"))  # fmt: skip
    assert document["method"] == "PARSE_METHOD_CRON"
    assert document["schedule"] == {"cronExpressions": ["0 12 * * *"]}
    assert document["description"] == "at 12:00 every day, in UTC"
    assert document["confidence"] == 1
    assert document["nextFireTimes"] == ["2026-03-28T12:00:00Z"]


def test_parse_of_text_it_cannot_read_names_the_words(sundial: Sundial):
    message = failed(sundial("parse", "every weekday at 9 on mars"), 2)
    assert "INVALID_ARGUMENT" in message
    assert '"on mars" at character 20' in message

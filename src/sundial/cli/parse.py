"""`sundial parse TEXT`: schedule text (or a cron string) read by the server's grammar
(ParseSchedule), shown with its description, confidence, the rules to pass to `schedules
create --file`, and the next fire times of those rules (PreviewSchedule). With `-o
json|yaml` it prints the ParseSchedule response plus `nextFireTimes`."""

import json
from typing import Any

import click

from sundial.cli.errors import SundialCommand
from sundial.cli.output import display, print_document, print_fields, print_many
from sundial.cli.output import field_column as column
from sundial.cli.schedule_flags import TimestampType
from sundial.cli.schedules import next_fires
from sundial.cli.session import Session, client_command


@click.command("parse", cls=SundialCommand)
@click.argument("text", nargs=-1, required=True)
@click.option("--timezone", "-z", help="zone when the text names none (IANA, or e.g. Pacific)")
@click.option(
    "--reference", type=TimestampType(), help='what "tomorrow" counts from (default: now)'
)
@click.option("-n", "--count", type=click.IntRange(1, 100), default=5, show_default=True,
              help="next fire times to show")  # fmt: skip
@client_command
def parse_command(
    session: Session,
    text: tuple[str, ...],
    timezone: str | None,
    reference: str | None,
    count: int,
) -> int:
    """What schedule TEXT means, e.g. `sundial parse every weekday at 9am --timezone
    Europe/Berlin`: its rules, an English description and the next fire times."""
    request: dict[str, Any] = {"text": " ".join(text)}
    if timezone:
        request["timezone"] = timezone
    if reference:
        request["referenceTime"] = reference
    parsed = session.call("AgentScheduleService.ParseSchedule", request)
    rules = parsed.get("schedule", {})
    upcoming = next_fires(session, rules, "", count, reference).get("fireTimes", [])
    if session.output != "table":
        print_document(session.output, {**parsed, "nextFireTimes": upcoming})
        return 0
    print_fields(
        "Schedule",
        [
            ("Description", display(parsed.get("description"))),
            ("Confidence", f"{parsed.get('confidence', 0):g}"),
            ("Method", display(parsed.get("method"))),
            ("Rules", json.dumps(rules, separators=(",", ":"))),
        ],
    )
    click.echo()
    print_many("table", [{"time": time} for time in upcoming], (column("NEXT FIRES", "time"),))
    if not upcoming:
        click.echo("no next fire times (the rules ran out)")
    return 0

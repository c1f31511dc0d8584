"""The schedule grammar: English schedule text (or a cron string) to ScheduleRules.

Deterministic and local: a tokenizer and a hand-written reader of clauses, no model and no
network. A text is rules separated by ";" (as descriptions write them); each rule is a run
of clauses ("every weekday", "at 9am", "in December", "the last friday of each quarter",
"every 90 minutes", "tomorrow at noon"), and the clauses that apply to the whole schedule
(a zone, "except ...", "from/starting ...", "until ...", jitter, DST handling) may come
anywhere. Fields a rule leaves open follow the calendar defaults: finer than the finest
field given, the minimum ("every monday" is Monday 00:00); coarser, every value.

Words that fit no clause are collected, with their position, into one InvalidArgumentError
on `text`; nothing is guessed around them. Where the grammar assumes something the text
did not say (a time of day, a weekday), the confidence drops below 1."""

import re
from datetime import datetime

from sundial.domain.errors import FieldViolation, InvalidArgumentError
from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ParsedSchedule,
    ParseMethod,
    ScheduleRules,
)
from sundial.timing.compiler import compile_schedule
from sundial.timing.cron import CronSyntaxError, parse_cron
from sundial.timing.descriptions import describe_rules
from sundial.timing.phrase_cadences import CadenceClauses
from sundial.timing.phrase_rules import Draft
from sundial.timing.phrase_words import FILLER, THROUGH
from sundial.timing.recurrences import HOURS
from sundial.timing.zone_names import LONGEST_NAME_WORDS, resolve_zone

MAX_TEXT_LENGTH = 1000


def parse_schedule(text: str, *, timezone: str = "", reference: datetime) -> ParsedSchedule:
    """The rules `text` means. `timezone` (IANA or a name resolve_zone knows) applies when
    the text names none; `reference` is the instant relative words count from."""
    default_zone = ""
    if timezone.strip():
        resolved = resolve_zone(timezone)
        if resolved is None:
            raise InvalidArgumentError.single("timezone", f"unknown time zone {timezone!r}")
        default_zone = resolved
    stripped = text.strip()
    if not stripped:
        raise InvalidArgumentError.single("text", "text is required")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise InvalidArgumentError.single(
            "text", f"text must be at most {MAX_TEXT_LENGTH} characters, got {len(stripped)}"
        )
    cron = _as_cron(stripped)
    if cron is not None:
        rules = ScheduleRules(cron_expressions=(cron,), timezone=default_zone)
        return ParsedSchedule(rules, _checked_description(rules), 1.0, ParseMethod.CRON)
    try:
        reader = _Reader(stripped, default_zone, reference)
        rules, confidence = reader.read()
        if reader.zone_given and reader.zone != default_zone:
            # "tomorrow" and "next monday" are days in the zone the text names, wherever it
            # names it: read again knowing the zone.
            rules, confidence = _Reader(stripped, reader.zone, reference).read()
    except OverflowError:
        raise InvalidArgumentError.single(
            "text", f'"{stripped}" reaches past the years 2 to 9998 that schedules hold'
        ) from None
    return ParsedSchedule(rules, _checked_description(rules), confidence, ParseMethod.GRAMMAR)


def _checked_description(rules: ScheduleRules) -> str:
    """The description of rules the text means, once they are known to be valid ("on
    february 30" reads, but never fires): what is wrong with them is reported on `text`."""
    try:
        compile_schedule(rules)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(
            [FieldViolation("text", violation.description) for violation in error.violations]
        ) from None
    return describe_rules(rules)


_CRON_FIELD = re.compile(r"[0-9*?/,\-LW#]+|[A-Za-z]{3}(?:[-,][A-Za-z]{3})*")


def _as_cron(text: str) -> str | None:
    if text.startswith("@"):
        try:
            parse_cron(text)
        except CronSyntaxError:
            return None
        return text
    fields = text.split()
    if len(fields) not in (5, 6) or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return None
    if not any(c.isdigit() or c == "*" for c in text):
        return None
    try:
        parse_cron(text)
    except CronSyntaxError:
        return None
    return text


class _Reader(CadenceClauses):
    """The clauses of schedule text, read left to right into drafts (timing.phrase_rules)."""

    def __init__(self, text: str, zone: str, reference: datetime) -> None:
        super().__init__(text, zone, reference)
        self.zone_given = False
        self.unknown: list[int] = []

    def read(self) -> tuple[ScheduleRules, float]:
        while self.pos < len(self.tokens):
            start = self.pos
            # A clause that read nothing did not understand the word either.
            if not self.clause() or self.pos == start:
                self.pos = start
                self.unknown.append(self.pos)
                self.pos += 1
        if self.unknown:
            raise InvalidArgumentError.single("text", self._unknown_message())
        return self._rules(), round(self.confidence, 2)

    def _unknown_message(self) -> str:
        groups: list[list[int]] = []
        for index in self.unknown:
            between = self.tokens[groups[-1][-1] + 1 : index] if groups else None
            if between is not None and all(t.text in FILLER for t in between):
                groups[-1].append(index)
            else:
                groups.append([index])
        parts = []
        for group in groups:
            first, last = self.tokens[group[0]], self.tokens[group[-1]]
            begin = first.start
            end = last.start + len(last.text)
            parts.append(f'"{self.text[begin:end]}" at character {begin + 1}')
        return "could not understand " + ", ".join(parts)

    def clause(self) -> bool:
        word = self.word()
        token = self.peek()
        assert token is not None
        if word == ";":
            self.pos += 1
            self.excluding = False
            if not self.drafts[-1].empty():
                self.drafts.append(Draft())
            return True
        if word in (",", "and", "of") or word in FILLER:
            self.pos += 1
            return True
        if word in ("except", "excluding", "but") and self.except_clause():
            return True
        if self.excluding and word in ("holidays", "holiday"):
            # No holiday calendar: the months or days named with it are what is excluded.
            self.pos += 1
            self.assume(0.5)
            return True
        for reader in (
            self.zone_clause,
            self.window_clause,
            self.jitter_clause,
            self.dst_clause,
            self.every_clause,
            self.offset_clause,
            self.adverb_clause,
            self.times_a_clause,
            self.at_clause,
            self.during_clause,
            self.between_clause,
            self.day_clause,
            self.in_clause,
            self.date_clause,
            self.time_clause,
        ):
            start = self.pos
            if reader():
                return True
            self.pos = start
        if word == "at":
            self.pos += 1
            return True
        return False

    def except_clause(self) -> bool:
        self.pos += 1
        self.accept("not")
        self.accept("for")
        self.exclusions.append(Draft())
        self.excluding = True
        return True

    def zone_clause(self) -> bool:
        self.accept_any("in", "at")
        token = self.peek()
        if token is None:
            return False
        for length in range(LONGEST_NAME_WORDS, 0, -1):
            words = self.tokens[self.pos : self.pos + length]
            if len(words) < length or any(w.kind not in ("word", "zone") for w in words):
                continue
            zone = resolve_zone(" ".join(w.text for w in words))
            if zone is None:
                continue
            self.pos += length
            self.accept("time", "zone") or self.accept_any("time", "timezone")
            self.accept("time")
            self.zone = zone
            self.zone_given = True
            return True
        return False

    def window_clause(self) -> bool:
        word = self.accept_any("from", "starting", "beginning", "until", "till", "ending")
        if not word:
            return False
        self.accept("on")
        if word in ("from", "starting", "beginning"):
            if word != "from" and self.accept("at"):
                at = self.clock()
                if at is None:
                    return False
                self.draft.starting_at = (at[0], at[1])
                return True
            moment = self.moment()
            if moment is None:
                if word == "from":
                    return self.range_from()
                return False
            self.start = moment
            return True
        moment = self.moment()
        if moment is None:
            return False
        self.end = moment
        return True

    def range_from(self) -> bool:
        first = self.clock(bare=True)
        if first is None or not self.accept_any(*THROUGH):
            return False
        last = self.clock(bare=True)
        if last is None:
            return False
        return self._set_window(first, last)
        return True

    def _set_window(self, first: tuple[int, int, int], last: tuple[int, int, int]) -> bool:
        """ "from 9am to 5pm": both ends included; an end before the start is not read."""
        if last[:2] < first[:2]:
            return False
        self.draft.window = ((first[0], first[1]), (last[0], last[1]))
        return True

    def jitter_clause(self) -> bool:
        if not self.accept("with"):
            return False
        if self.accept("jitter"):
            self.accept("of")
            self.accept("up", "to")
            amount = self.duration()
        else:
            self.accept("up", "to")
            amount = self.duration()
            if not (self.accept("of", "jitter") or self.accept("jitter")):
                return False
        if amount is None:
            return False
        self.jitter = amount
        return True

    def dst_clause(self) -> bool:
        if self.accept("skipping", "wall", "-", "clock", "times", "a", "dst", "change", "skips"):
            self.gap = DstGapPolicy.SKIP
            return True
        if self.accept(
            "firing", "twice", "at", "wall", "-", "clock", "times", "a", "dst", "change", "repeats"
        ):
            self.overlap = DstOverlapPolicy.BOTH
            return True
        return False

    def at_clause(self) -> bool:
        if not self.accept("at"):
            return False
        draft = self.draft
        for word, target in (("second", "seconds"), ("minute", "minutes")):
            if self.accept(word) or self.accept(word + "s"):
                values = self.number_set(0, 59)
                if values is None:
                    return False
                setattr(draft, target, values)
                if target == "minutes":
                    self.accept("of", "every", "hour") and self._set_hours_all()
                return True
        instants = self.instant_list()
        if instants:
            draft.instants.extend(instants)
            return True
        times = self.clock_list(bare=True)
        if not times:
            return False
        draft.times.extend(times)
        return True

    def _set_hours_all(self) -> bool:
        self.draft.hours = HOURS
        return True

    def during_clause(self) -> bool:
        if self.accept("on", "the", "hour"):
            if self.draft.minutes is None:
                self.draft.minutes = frozenset({0})
            return True
        if self.accept("during", "business", "hours") or self.accept("during", "working", "hours"):
            self.draft.window = ((9, 0), (17, 0))
            self.assume(0.8)
            return True
        if not (self.accept("during", "hour") or self.accept("during", "hours")):
            return False
        values = self.number_set(0, 23)
        if values is None:
            return False
        self.draft.hours = values
        return True

    def between_clause(self) -> bool:
        if not self.accept("between"):
            return False
        first = self.clock(bare=True)
        if first is None or not self.accept("and"):
            return False
        last = self.clock(bare=True)
        if last is None:
            return False
        return self._set_window(first, last)
        return True

    def time_clause(self) -> bool:
        first = self.clock()
        if first is None:
            return False
        if self.word() in THROUGH:
            start = self.pos
            self.pos += 1
            last = self.clock(bare=True)
            if last is not None and self._set_window(first, last):
                return True
            self.pos = start
        self.draft.times.append(first)
        while True:
            start = self.pos
            if not self.accept_any(",", "and"):
                break
            more = self.clock()
            if more is None:
                self.pos = start
                break
            self.draft.times.append(more)
        return True

    def date_clause(self) -> bool:
        once = self.accept("once")
        self.accept("on")
        moment = self.moment()
        if moment is None:
            return once
        if isinstance(moment, datetime):
            self.draft.instants.append(moment)
        else:
            self.draft.dates.append(moment)
        return True

"""Time zone names people write ("Pacific", "PT", "CET", "Berlin time", "Tokyo") mapped to
IANA zones, so a schedule follows the zone's DST rules rather than a fixed offset: "PST" in
July still means Los Angeles, at UTC-7."""

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

_COMMON = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "zulu": "UTC",
    "universal": "UTC",
    "pacific": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "mountain": "America/Denver",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "arizona": "America/Phoenix",
    "central": "America/Chicago",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "eastern": "America/New_York",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "hst": "Pacific/Honolulu",
    "bst": "Europe/London",
    "uk": "Europe/London",
    "wet": "Europe/Lisbon",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "germany": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "japan": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "korea": "Asia/Seoul",
    "china": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "new zealand": "Pacific/Auckland",
}
# Zone words that are also ordinary words of the grammar, so never read as a zone.
_NOT_ZONES = frozenset({"at", "on", "in", "to", "and", "of", "the", "march", "may"})
LONGEST_NAME_WORDS = 3


@lru_cache(maxsize=1)
def _known() -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        city = zone.rsplit("/", 1)[-1].replace("_", " ").lower()
        if "/" in zone and city not in _NOT_ZONES:
            names.setdefault(city, zone)
        names[zone.lower()] = zone
    names.update(_COMMON)
    return names


def resolve_zone(name: str) -> str | None:
    """The IANA zone a name means (case and underscores do not matter), or None."""
    words = " ".join(name.replace("_", " ").split()).lower()
    if not words:
        return None
    zone = _known().get(words) or _known().get(name.strip().lower())
    if zone is None:
        return None
    ZoneInfo(zone)  # every mapped name is a zone this machine's tz database has
    return zone

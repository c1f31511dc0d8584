"""Deterministic jitter: a fire's delay is a hash of (schedule id, nominal time), so every
replica and every preview computes the same actual fire time."""

from hashlib import blake2b

_PERSON = b"sundial-jitter"


def jitter_delay_ms(schedule_id: str, nominal: int, jitter_ms: int, gap_ms: int | None) -> int:
    """Whole milliseconds in [0, min(jitter_ms, gap_ms)): uniform, stable across processes.

    `nominal` is the fire's epoch second; `gap_ms` is the time to the next nominal fire (None
    when there is none), so a delayed fire never reaches the next one."""
    span = jitter_ms if gap_ms is None else min(jitter_ms, gap_ms)
    if span <= 0:
        return 0
    digest = blake2b(f"{schedule_id}\x1f{nominal}".encode(), digest_size=8, person=_PERSON)
    # Multiply-shift maps the 64-bit hash onto [0, span) without modulo bias.
    return (int.from_bytes(digest.digest(), "big") * span) >> 64

"""Choosing an agent variation for a fire whose schedule names none."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.agents import (
    AgentSpec,
    AgentVariation,
    VariationSelectionMode,
    choose_variation,
)

NOMINAL = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ABC = (AgentVariation(id="a"), AgentVariation(id="b"), AgentVariation(id="c"))
Mode = VariationSelectionMode


def _choose(spec: AgentSpec, sequence: int = 0, nominal: datetime = NOMINAL) -> str:
    return choose_variation(spec, schedule_id="sched_1", nominal=nominal, sequence=sequence)


@pytest.mark.parametrize("mode", list(Mode))
def test_an_agent_without_variations_chooses_none(mode):
    assert _choose(AgentSpec(variation_selection_mode=mode)) == ""


@pytest.mark.parametrize("mode", [Mode.UNSPECIFIED, Mode.FIRST])
def test_first_is_the_default(mode):
    spec = AgentSpec(variations=ABC, variation_selection_mode=mode)
    assert {_choose(spec, sequence) for sequence in range(10)} == {"a"}


def test_round_robin_cycles_in_order():
    spec = AgentSpec(variations=ABC, variation_selection_mode=Mode.ROUND_ROBIN)
    assert [_choose(spec, sequence) for sequence in range(7)] == list("abcabca")


def test_weighted_random_follows_the_weights_and_repeats_itself():
    spec = AgentSpec(
        variations=(AgentVariation(id="light", weight=1), AgentVariation(id="heavy", weight=3)),
        variation_selection_mode=Mode.WEIGHTED_RANDOM,
    )
    nominals = [NOMINAL + timedelta(minutes=m) for m in range(4000)]
    drawn = Counter(_choose(spec, nominal=n) for n in nominals)
    assert 0.2 < drawn["light"] / 4000 < 0.3
    # The same fire (schedule, nominal time) gets the same variation, e.g. after a crash.
    assert [_choose(spec, nominal=n) for n in nominals[:50]] == [
        _choose(spec, sequence=99, nominal=n) for n in nominals[:50]
    ]


def test_a_zero_weight_counts_as_one():
    spec = AgentSpec(
        variations=(AgentVariation(id="x", weight=0), AgentVariation(id="y", weight=0)),
        variation_selection_mode=Mode.WEIGHTED_RANDOM,
    )
    drawn = Counter(_choose(spec, nominal=NOMINAL + timedelta(hours=h)) for h in range(400))
    assert set(drawn) == {"x", "y"}
    assert 0.4 < drawn["x"] / 400 < 0.6

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.listing import FilterOp, FilterTerm
from sundial.service.filtering import parse_filter

FIELDS = {"name": None, "status": str.upper}


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", ()),
        ("name = a", (FilterTerm("name", FilterOp.EQ, "a"),)),
        ('name != "a b \\"c\\""', (FilterTerm("name", FilterOp.NE, 'a b "c"'),)),
        (
            "status=paused AND labels.team = x",
            (
                FilterTerm("status", FilterOp.EQ, "PAUSED"),
                FilterTerm("labels", FilterOp.EQ, "x", key="team"),
            ),
        ),
    ],
    ids=["empty", "eq", "quoted-ne", "and-label"],
)
def test_parse(text, terms):
    assert parse_filter(text, FIELDS) == terms


@pytest.mark.parametrize(
    "text", ["name", "name = a b", "name = a AND", "x = 1", "labels. = a", "name ~ a", "a" * 3000]
)
def test_rejects(text):
    with pytest.raises(InvalidArgumentError) as caught:
        parse_filter(text, FIELDS)
    assert caught.value.violations[0].field == "filter"

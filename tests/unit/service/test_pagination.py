import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.service.pagination import decode_page_token, effective_page_size, encode_page_token


@pytest.mark.parametrize(
    ("given", "effective"), [(0, 50), (1, 1), (1000, 1000), (1001, 1000), (10**9, 1000)]
)
def test_page_size(given, effective):
    assert effective_page_size(given) == effective


def test_negative_page_size_is_invalid():
    with pytest.raises(InvalidArgumentError):
        effective_page_size(-1)


def test_token_round_trips_only_for_its_query():
    token = encode_page_token("sched_01", "q1")
    assert decode_page_token(token, "q1") == "sched_01"
    assert decode_page_token("", "q1") == ""
    with pytest.raises(InvalidArgumentError):
        decode_page_token(token, "q2")
    with pytest.raises(InvalidArgumentError):
        decode_page_token("%%%", "q1")

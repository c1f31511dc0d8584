"""Text checks of service.validation."""

import unicodedata

from sundial.domain.metadata import MetadataInput
from sundial.service.validation import Violations, check_metadata


def _refused(text: str) -> bool:
    violations = Violations()
    check_metadata(violations, MetadataInput(name="n", external_id=text))
    return [v.field for v in violations.items] == ["metadata.external_id"]


def test_control_characters_are_exactly_unicode_category_cc_but_tab_and_newlines():
    # Category Cc lies in the first 160 code points; the rest of the first block of scripts
    # and punctuation (U+2028 and U+2029 are separators, not controls), and the last code
    # points of each plane, must pass.
    codes = [*range(0x3000), *(plane * 0x10000 + 0xFFFD for plane in range(17))]
    wrong = [
        hex(code)
        for code in codes
        if _refused(chr(code))
        != (unicodedata.category(chr(code)) == "Cc" and chr(code) not in "\t\n\r")
    ]
    assert wrong == []


def test_a_control_character_anywhere_in_the_text_is_refused():
    assert _refused("tab\tand newline\n are fine, a bell \x07 is not")
    assert not _refused("tab\tand newline\r\n are fine, é and 日本 too")

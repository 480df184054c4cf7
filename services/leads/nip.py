"""Polish NIP (tax identification number): format and checksum."""

from __future__ import annotations

import re

_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_SEPARATORS = re.compile(r"[\s\-.]")


class InvalidNip(ValueError):
    """Not a valid NIP; the message is safe to show."""


def normalise_nip(raw: str) -> str:
    """The 10 digits of a NIP given with or without separators or a ``PL`` prefix.

    The tenth digit is the sum of the first nine times their weights, modulo 11; a remainder
    of 10 is never issued, so such numbers are invalid too.
    """
    value = _SEPARATORS.sub("", raw.strip()).upper()
    if value.startswith("PL"):
        value = value[2:]
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        raise InvalidNip("must be 10 digits")
    digits = [int(c) for c in value]
    checksum = sum(w * d for w, d in zip(_WEIGHTS, digits, strict=False)) % 11
    if checksum == 10 or checksum != digits[9]:
        raise InvalidNip("has a wrong check digit")
    return value

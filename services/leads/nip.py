"""Polish NIP (tax identification number): format and checksum."""

from __future__ import annotations

import re

_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_SEPARATORS = re.compile(r"[\s\-.]")


class InvalidNip(ValueError):
    """Not a valid NIP; the message is safe to show."""


def check_digit(first_nine: str) -> int | None:
    """The tenth digit of a NIP beginning with these nine digits: their sum times the weights,
    modulo 11. None when the remainder is 10: no NIP is issued with such a beginning."""
    remainder = sum(w * int(d) for w, d in zip(_WEIGHTS, first_nine, strict=True)) % 11
    return None if remainder == 10 else remainder


def _bare(raw: str) -> str:
    """What is left of a NIP as written without its separators and ``PL`` prefix."""
    value = _SEPARATORS.sub("", raw.strip()).upper()
    return value.removeprefix("PL")


def normalise_nip(raw: str) -> str:
    """The 10 digits of a NIP given with or without separators or a ``PL`` prefix.

    The tenth digit must be the :func:`check_digit` of the first nine.
    """
    value = _bare(raw)
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        raise InvalidNip("must be 10 digits")
    if check_digit(value[:9]) != int(value[9]):
        raise InvalidNip("has a wrong check digit")
    return value


def nip_digits(search: str) -> str | None:
    """The digits of a search typed as a NIP or part of one ("526-025", "PL 5260250274"), to
    find it among the stored ten digits; None for any other search, or under three digits."""
    value = _bare(search)
    return value if len(value) >= 3 and value.isascii() and value.isdigit() else None

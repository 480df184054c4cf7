"""Normalisation of contact data: email, phone (E.164), company domain, company name key.

Everything here is pure and fast: a CSV import runs it on every row.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber

from crmkit import values

DEFAULT_REGION = "PL"

# Free-mail providers: their domain says nothing about the lead's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "proton.me", "protonmail.com", "gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com",
        "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "hey.com",
        "wp.pl", "o2.pl", "onet.pl", "op.pl", "interia.pl", "interia.eu", "poczta.fm",
        "gazeta.pl", "tlen.pl", "vp.pl", "autograf.pl", "buziaczek.pl", "int.pl", "spoko.pl",
    }
)

_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().\/\u00a0]")
_INTERNATIONAL = re.compile(r"^\+([1-9]\d{6,16})$")
_NATIONAL = re.compile(r"^[1-9]\d{4,14}$")
_LEGAL_FORMS = re.compile(
    r"\b(?:sp\s*z\s*o\s*o|spolka\s+z\s+ograniczona\s+odpowiedzialnoscia|sp\s*k|sp\s*j|"
    r"s\s*a|s\s*c|sp\s*p|ltd|limited|llc|inc|corp|corporation|gmbh|ag|plc|bv|oy|ab|sarl|"
    r"srl|spa|co)\b"
)
_NON_WORD = re.compile(r"[^\w]+")
_POLISH = str.maketrans("ąćęłńóśźż", "acelnoszz")


class NormalisationError(ValueError):
    """A value cannot be normalised; the message is safe to show to the user."""


def normalise_email(raw: str | None) -> str | None:
    """Trimmed, lower-cased email; ``None`` when empty; ``NormalisationError`` when invalid."""
    if raw is None:
        return None
    value = raw.strip().strip("<>").strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    if not value:
        return None
    if len(value) > 254 or ".." in value or not _EMAIL.match(value):
        raise NormalisationError("is not a valid email address")
    local = value.split("@", 1)[0]
    if len(local) > 64 or local.startswith(".") or local.endswith("."):
        raise NormalisationError("is not a valid email address")
    return value


@lru_cache(maxsize=512)
def _region_has_no_national_prefix(region: str) -> int | None:
    """The country code of ``region`` when its national numbers are dialled as they are
    (no trunk prefix to strip, e.g. PL); ``None`` otherwise."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.national_prefix_for_parsing is not None:
        return None
    code: int | None = metadata.country_code
    return code


@lru_cache(maxsize=512)
def _trunk_prefixes(country_code: int) -> tuple[re.Pattern[str], ...]:
    """What ``phonenumbers`` strips as a trunk prefix after this country code (RU's 8,
    NANP's 1), for every region that uses the code."""
    patterns = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = (
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(country_code)
            if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
            else phonenumbers.PhoneMetadata.metadata_for_region(region)
        )
        if metadata is not None and metadata.national_prefix_for_parsing:
            patterns.append(re.compile(metadata.national_prefix_for_parsing))
    return tuple(patterns)


def _split_country_code(digits: str) -> tuple[int, str] | None:
    # Country codes are prefix-free, so at most one of the 1-3 digit prefixes is assigned.
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[length:]
    return None


def _fast_parse(cleaned: str, region: str) -> tuple[int, str] | None:
    """(country code, national digits) of the common, unambiguous shapes, without
    ``phonenumbers.parse`` (which costs ~20 us a call and dominates a large import) nor a
    ``PhoneNumber``. The national digits never start with 0. ``None`` sends the value to the
    full parser."""
    match = _INTERNATIONAL.match(cleaned)
    if match:
        split = _split_country_code(match.group(1))
        if split is None or not split[1] or split[1][0] == "0":
            return None
        # Digits after the code that read as the country's trunk prefix are stripped by
        # phonenumbers (+7 8..., +1 1...): the full parser decides.
        if any(p.match(split[1]) for p in _trunk_prefixes(split[0])):
            return None
        return split
    if _NATIONAL.match(cleaned):
        code = _region_has_no_national_prefix(region)
        # Digits that begin with the region's own country code may be an international
        # number without its "+" (phonenumbers then strips the code): the full parser decides.
        if code is None or cleaned.startswith(str(code)):
            return None
        return code, cleaned
    return None


@lru_cache(maxsize=4096)
def _possible_length(country_code: int, digits: int) -> bool:
    """``phonenumbers.is_possible_number`` for a number of that country and length."""
    sample = PhoneNumber(country_code=country_code, national_number=int("1" * digits))
    return bool(phonenumbers.is_possible_number(sample))


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of a phone number, national numbers read in ``region``; ``None`` when empty.

    Validation is by ``phonenumbers.is_possible_number`` (length and shape for the country),
    deliberately lenient: numbering plans change faster than the library's range tables, and
    refusing a real lead's new number range costs more than keeping an unusual one.
    """
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        return None
    cleaned = _PHONE_PUNCTUATION.sub("", value)
    fast = _fast_parse(cleaned, region)
    if fast is not None:
        # A fast-parsed number has no leading zero or extension: whether it is possible
        # depends on its country and length only, and its E.164 form is its digits.
        code, national = fast
        if not _possible_length(code, len(national)):
            raise NormalisationError("is not a valid phone number")
        return f"+{code}{national}"
    try:
        number = phonenumbers.parse(value, region.upper())
    except NumberParseException:
        raise NormalisationError("is not a valid phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise NormalisationError("is not a valid phone number")
    if number.italian_leading_zero or number.extension:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"+{number.country_code}{number.national_number}"


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def domain_from_website(raw: str | None) -> str | None:
    """``https://www.Example.com/about`` -> ``example.com``; ``None`` when empty or unusable."""
    if raw is None:
        return None
    value = raw.strip().lower()
    if not value:
        return None
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    if value.startswith("www."):
        value = value[4:]
    if not _DOMAIN.match(value):
        return None
    return value


def domain_from_email(email: str | None) -> str | None:
    """The company domain of a normalised email; ``None`` for free-mail providers."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1]
    if domain.startswith("www."):
        domain = domain[4:]
    if domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def company_domain(email: str | None, website: str | None) -> str | None:
    """The website's domain, else the email's (unless free mail)."""
    return domain_from_website(website) or domain_from_email(email)


def company_key(name: str | None) -> str | None:
    """A comparison key for company names: case, Polish diacritics, punctuation and legal
    forms ignored ("ACME Sp. z o.o." == "acme")."""
    if name is None:
        return None
    value = name.casefold().translate(_POLISH)
    value = _NON_WORD.sub(" ", value)
    value = _LEGAL_FORMS.sub(" ", value)
    value = " ".join(value.split())
    return value or None


def clean_multiline(raw: str | None, *, max_length: int) -> str | None:
    """Trimmed text that keeps its line breaks and tabs (a lead's notes, typed in a text box
    or a CSV cell over several lines); ``None`` when empty. Otherwise the kit's rule."""
    if raw is None or not raw.strip():
        return None
    try:
        return values.clean_text(raw.replace("\r\n", "\n"), max_length=max_length,
                                 multiline=True)
    except values.InvalidValue as error:
        raise NormalisationError(error.problems[0][1]) from None


def clean_text(raw: str | None, *, max_length: int) -> str | None:
    """Trimmed text with inner whitespace collapsed; ``None`` when empty. The kit's rule
    for text (:func:`crmkit.values.clean_text`) otherwise: no control characters (NUL
    included), no lone surrogates."""
    if raw is None:
        return None
    value = " ".join(raw.split())
    if not value:
        return None
    if len(value) > max_length:
        raise NormalisationError(f"is longer than {max_length} characters")
    try:
        return values.clean_text(value, max_length=max_length)
    except values.InvalidValue as error:
        raise NormalisationError(error.problems[0][1]) from None

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.leads import normalise
from services.leads.normalise import NormalisationError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jan.Kowalski@Firma.PL ", "jan.kowalski@firma.pl"),
        ("<anna@example.com>", "anna@example.com"),
        ("mailto:Bob@Example.com", "bob@example.com"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalise.normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["not-an-email", "a@b", "jan@@firma.pl", "jan kowalski@firma.pl", "a..b@x.pl", "@x.pl"]
)
def test_invalid_email_is_refused(raw):
    with pytest.raises(NormalisationError):
        normalise.normalise_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("601 234 567", "PL", "+48601234567"),
        ("+48 601-234-567", "PL", "+48601234567"),
        ("0048 601 234 567", "PL", "+48601234567"),
        ("(22) 123 45 67", "PL", "+48221234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("+1 (415) 555-2671", "PL", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("", "PL", None),
    ],
)
def test_phone_to_e164(raw, region, expected):
    assert normalise.normalise_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "abc", "+48 12", "+999 123 456 789"])
def test_invalid_phone_is_refused(raw):
    with pytest.raises(NormalisationError):
        normalise.normalise_phone(raw, "PL")


@given(
    digits=st.text(alphabet="0123456789", min_size=5, max_size=15),
    plus=st.sampled_from(["", "+", "00"]),
    region=st.sampled_from(["PL", "DE", "GB", "US", "FR", "IT"]),
)
# A trunk prefix after the country code, which phonenumbers strips (RU's 8, NANP's 1).
@example(digits="780482774992", plus="+", region="FR")
@example(digits="118788026015", plus="+", region="GB")
def test_fast_path_agrees_with_phonenumbers(digits, plus, region):
    raw = plus + digits
    try:
        expected = phonenumbers.parse(raw, region)
        ok = phonenumbers.is_possible_number(expected)
    except phonenumbers.NumberParseException:
        ok = False
    if not ok:
        with pytest.raises(NormalisationError):
            normalise.normalise_phone(raw, region)
    else:
        assert normalise.normalise_phone(raw, region) == phonenumbers.format_number(
            expected, phonenumbers.PhoneNumberFormat.E164
        )


@pytest.mark.parametrize(
    ("email", "website", "expected"),
    [
        ("jan@acme.pl", None, "acme.pl"),
        ("jan@gmail.com", None, None),
        ("jan@wp.pl", "https://www.Acme.com/kontakt?x=1", "acme.com"),
        (None, "acme.de:8080/path", "acme.de"),
        (None, "not a site", None),
        (None, None, None),
    ],
)
def test_company_domain(email, website, expected):
    assert normalise.company_domain(email, website) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACME Sp. z o.o.", "acme"),
        ("Żabka S.A.", "zabka"),
        ("Acme  Ltd.", "ACME"),
        ("Kowalski i Syn sp.j.", "kowalski i syn"),
    ],
)
def test_company_key_ignores_case_diacritics_and_legal_form(a, b):
    assert normalise.company_key(a) == normalise.company_key(b)


def test_company_key_keeps_different_companies_apart():
    assert normalise.company_key("Acme") != normalise.company_key("Acme Logistics")
    assert normalise.company_key("  ") is None

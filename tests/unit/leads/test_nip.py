import pytest

from services.leads.nip import InvalidNip, check_digit, normalise_nip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234563218", "1234563218"),
        ("123-456-32-18", "1234563218"),
        ("PL 123 456 32 18", "1234563218"),
        ("5260250274", "5260250274"),
    ],
)
def test_valid_nip_is_normalised(raw, expected):
    assert normalise_nip(raw) == expected


@pytest.mark.parametrize("raw", ["1234563219", "123456321", "12345632181", "abcdefghij", ""])
def test_invalid_nip_is_refused(raw):
    with pytest.raises(InvalidNip):
        normalise_nip(raw)


def test_checksum_remainder_ten_is_never_valid():
    # 100000016: 1*6 + 1*6 + 6*7 = 54 = 11*4 + 10, worked by hand so the test does not repeat
    # the rule it checks. No tenth digit makes such a number valid.
    prefix = "100000016"
    assert check_digit(prefix) is None
    for d in range(10):
        with pytest.raises(InvalidNip, match="wrong check digit"):
            normalise_nip(prefix + str(d))


@pytest.mark.parametrize("seed", [0, 5, 10**8 - 1, 526025027, 10**9 - 1, 2**128 - 1, 10**27 + 7])
def test_the_browser_tests_nips_are_valid_and_made_at_once(seed):
    # The browser tests make a client's NIP from a random seed. Seeds ending in 000000000-
    # 099999999 (one in ten) used to step up to the next number without a leading 0: up to
    # 10^8 steps, and a fresh-clone run timed out on one.
    from tests.e2e.web.conftest import nip

    made = nip(seed)
    assert normalise_nip(made) == made and made[0] != "0"
    assert nip(seed) == made

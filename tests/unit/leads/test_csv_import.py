import pytest

from services.leads.csv_import import CsvFormatError, decode, detect_delimiter, parse_csv


def test_polish_headers_semicolons_and_bom():
    data = (
        "\ufeffFirma;Osoba kontaktowa;E-mail;Telefon;Źródło;Strona WWW\r\n"
        "ACME Sp. z o.o.;Jan Kowalski;JAN@ACME.PL;601 234 567;targi;www.acme.pl\r\n"
    ).encode()
    parsed = parse_csv(decode(data), "PL")
    assert set(parsed.columns) == {"company", "contact_name", "email", "phone", "source",
                                   "website"}
    [row] = parsed.rows
    assert row.line == 2
    assert (row.fields.email, row.fields.phone, row.fields.domain, row.fields.source) == (
        "jan@acme.pl", "+48601234567", "acme.pl", "targi"
    )


def test_english_headers_case_insensitive_with_commas_and_quotes():
    text = (
        'COMPANY,Contact Person,EMAIL,phone,Notes,Unknown\n'
        '"Acme, Inc.",Bob,bob@acme.com,,"a\nb",x\n'
    )
    parsed = parse_csv(text, "PL")
    assert parsed.ignored_columns == ["Unknown"]
    [row] = parsed.rows
    assert row.fields.company == "Acme, Inc." and row.fields.notes == "a\nb"  # lines kept


def test_invalid_rows_carry_line_number_and_reason():
    text = "company;email;phone\nA;bad-email;\n\nB;b@b.pl;12\n;;\nC;c@c.pl;601234567\n"
    parsed = parse_csv(text, "PL")
    assert [(r.line, r.reason.split()[0]) for r in parsed.invalid] == [(2, "email"), (4, "phone")]
    assert [r.line for r in parsed.rows] == [6]


def test_row_with_too_many_values_is_invalid():
    parsed = parse_csv("company,email\nA,a@a.pl,extra\n", "PL")
    assert parsed.invalid and "values" in parsed.invalid[0].reason


@pytest.mark.parametrize(
    "text", ["", "email,phone\na@a.pl,1\n", "company,firma\nA,B\n"]
)
def test_unusable_files_are_refused(text):
    with pytest.raises(CsvFormatError):
        parse_csv(text, "PL")


def test_non_utf8_is_refused():
    with pytest.raises(CsvFormatError):
        decode("Firma;Źródło".encode("cp1250"))


def test_delimiter_detection():
    assert detect_delimiter("a;b;c") == ";"
    assert detect_delimiter("a,b;c,d") == ","
    assert detect_delimiter("a") == ","

"""Offer templates: checked on upload with the place of each problem, rendered from the merge
data into real files (golden: the DOCX opened with python-docx, the PDF read with pypdf),
every value escaped and nothing evaluated."""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal

import docx
import pypdf
import pytest

from services.documents import merge as m
from services.documents import rendering as r

CLIENT = "Żabka <script>alert(1)</script> Sp. z o.o."
NIP = "5260250274"


def deal() -> m.DealFacts:
    return m.DealFacts(
        opportunity_id=uuid.uuid4(), name="Flota 2027", amount=Decimal("50000"), currency="PLN",
        client_name=CLIENT, client_nip=NIP, client_address="ul. Prosta 1, 00-001 Warszawa",
        contact=m.Party(name="Anna Nowak", email="anna@example.com"),
        owner=m.Party(name="Jan Kowalski"),
    )


def items(count: int = 3) -> list[m.LineItem]:
    return [m.LineItem(product=f"Lokalizator GPS model {i}", quantity=Decimal(i), unit="szt.",
                       unit_price=Decimal("199.99"), vat_rate="8" if i % 3 == 0 else "23",
                       discount=Decimal(5) if i == 1 else Decimal(0))
            for i in range(1, count + 1)]


def merge(count: int = 3, locale: str = "pl_PL") -> dict[str, object]:
    facts = m.OfferFacts(number="OF/2026/12/0007", title="Oferta", revision=1,
                         valid_until=date(2027, 1, 5), currency="PLN", today=date(2026, 12, 6),
                         org_name="Acme CRM", locale=locale)
    return m.merge_data(deal(), facts, items(count), {"delivery": "2 tygodnie"})


def docx_template(*extra: str) -> bytes:
    document = docx.Document()
    document.add_paragraph("Oferta {{ offer.number }} dla {{ client.name }}, NIP {{ client.nip }}")
    table = document.add_table(rows=4, cols=4)
    table.rows[0].cells[0].text = "Produkt"
    table.rows[1].cells[0].text = "{%tr for item in items %}"
    cells = table.rows[2].cells
    cells[0].text = "{{ item.product }}"
    cells[1].text = "{{ item.quantity }} {{ item.unit }}"
    cells[2].text = "{{ item.net }}"
    cells[3].text = "{{ item.gross }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph("Razem netto {{ totals.net }}, VAT {{ totals.vat }}, "
                           "brutto {{ totals.gross }} ({{ totals.in_words }})")
    document.add_paragraph("Dostawa: {{ custom.delivery }}")
    for text in extra:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML = """<html><body>
<h1>Oferta {{ offer.number }}</h1>
<p>{{ client.name }}, NIP {{ client.nip }}</p>
<table>{% for item in items %}
<tr><td>{{ item.product }}</td><td>{{ item.quantity }}</td><td>{{ item.net }}</td></tr>
{% endfor %}</table>
{% for rate in totals.by_rate %}<p>VAT {{ rate.rate }}: {{ rate.vat }}</p>{% endfor %}
<p>Razem brutto: {{ totals.gross }}</p>
</body></html>"""


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


# --- line items and totals ----------------------------------------------------------------


def test_totals_per_vat_rate_and_overall_as_polish_offers_show_them() -> None:
    lines = [
        m.LineItem("A", Decimal(3), "szt.", Decimal("10.01"), "23", Decimal(10)),  # 27.03
        m.LineItem("B", Decimal("1.5"), "h", Decimal("200"), "8"),  # 300.00
        m.LineItem("C", Decimal(1), "szt.", Decimal("99.99"), "23"),  # 99.99
        m.LineItem("D", Decimal(1), "szt.", Decimal("50"), "zw"),
    ]
    sums = m.totals(lines)
    assert [(t.vat_rate, t.net, t.vat, t.gross) for t in sums.by_rate] == [
        ("23", Decimal("127.02"), Decimal("29.21"), Decimal("156.23")),
        ("8", Decimal("300.00"), Decimal("24.00"), Decimal("324.00")),
        ("zw", Decimal("50"), Decimal("0.00"), Decimal("50.00")),
    ]
    assert (sums.net, sums.vat, sums.gross) == (
        Decimal("477.02"), Decimal("53.21"), Decimal("530.23"))


def test_line_items_are_checked_with_every_problem_named() -> None:
    from crmkit.errors import ProblemCollector

    problems = ProblemCollector()
    m.check_items([
        m.LineItemInput("", "0", "1.001", "22.5"),
        m.LineItemInput("ok", "1", "10", "zw", discount="101"),
    ], problems)
    assert {".".join(p.path) for p in problems.problems} == {
        "items.0.product", "items.0.quantity", "items.0.unitPrice", "items.0.vatRate",
        "items.1.discount"}


def test_money_dates_and_the_amount_in_words_in_the_orgs_locale() -> None:
    polish = merge()
    assert polish["totals"]["gross"] == "1\xa0373,63\xa0zł"  # type: ignore[index]
    assert polish["totals"]["in_words"] == (  # type: ignore[index]
        "tysiąc trzysta siedemdziesiąt trzy złote, sześćdziesiąt trzy grosze")
    assert polish["offer"]["valid_until"] == "5 stycznia 2027"  # type: ignore[index]
    english = merge(locale="en_GB")
    assert english["totals"]["gross"] == "PLN\xa01,373.63"  # type: ignore[index]
    assert english["totals"]["in_words"].startswith("one thousand")  # type: ignore[index]


# --- checking templates -------------------------------------------------------------------


def test_a_good_template_of_each_format_has_no_problems() -> None:
    assert r.check_template(docx_template(), r.DOCX_MEDIA_TYPE) == []
    assert r.check_template(HTML.encode(), "text/html") == []
    assert r.check_template(b"Offer ${offer_number} for ${client_name}", "text/plain") == []


def test_html_template_errors_name_their_line() -> None:
    broken = b"<p>{{ client.name }}</p>\n<p>{% if %}</p>"
    assert [str(p) for p in r.check_template(broken, "text/html")] == [
        "line 2: Expected an expression, got 'end of statement block'"]
    unknown = (b"<p>{{ client.nam }}</p>\n{% for x in items %}{{ x.pric }}{% endfor %}\n"
               b"{{ totally }}")
    problems = [str(p) for p in r.check_template(unknown, "text/html")]
    assert problems[0].startswith("line 1: 'client.nam' is not a merge field (known: address,")
    assert problems[1].startswith("line 2: 'x.pric' is not a merge field (known: discount,")
    assert problems[2].startswith("line 3: 'totally' is not a merge field")


def test_docx_template_errors_name_the_paragraph_or_table_cell() -> None:
    problems = [str(p) for p in r.check_template(
        docx_template("{{ client.nipp }}", "{% for x in %}"), r.DOCX_MEDIA_TYPE)]
    assert problems == ["paragraph 5: Expected an expression, got 'end of statement block'"]
    document = docx.Document(io.BytesIO(docx_template()))
    document.tables[0].rows[2].cells[2].text = "{{ item.nett }}"
    out = io.BytesIO()
    document.save(out)
    problems = [str(p) for p in r.check_template(out.getvalue(), r.DOCX_MEDIA_TYPE)]
    assert len(problems) == 1
    assert problems[0].startswith("table 1, row 3, cell 3: 'item.nett' is not a merge field")
    assert [str(p) for p in r.check_template(b"not a zip", r.DOCX_MEDIA_TYPE)] == [
        "document: is not a Word (DOCX) document"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Price: $5", "line 1, column 8: is an invalid placeholder (write $$ for a dollar sign)"),
        ("ok\nbad ${not valid}",
         "line 2, column 5: is an invalid placeholder (write $$ for a dollar sign)"),
        ("\x00${a}", "document: an offer template must not contain NUL characters"),
    ],
)
def test_a_plain_text_template_is_refused_with_the_place_of_the_error(
    text: str, problem: str
) -> None:
    assert [str(p) for p in r.check_template(text.encode(), "text/plain")] == [problem]
    assert [str(p) for p in r.check_template(b"\xff\xfe", "text/plain")] == [
        "document: an offer template must be UTF-8 text"]


# --- rendering: golden files --------------------------------------------------------------


def test_a_docx_offer_shows_the_client_nip_line_items_and_totals() -> None:
    rendered = r.render(docx_template(), r.DOCX_MEDIA_TYPE, merge(20))
    assert rendered.media_type == r.DOCX_MEDIA_TYPE
    text = docx_text(rendered.data)
    assert f"Oferta OF/2026/12/0007 dla {CLIENT}, NIP {NIP}" in text
    assert text.count("Lokalizator GPS model") == 20
    assert "Lokalizator GPS model 20" in text and "20 szt." in text
    totals = m.totals(items(20))
    assert f"brutto {merge(20)['totals']['gross']}" in text  # type: ignore[index]
    assert totals.gross == totals.net + totals.vat
    assert "Dostawa: 2 tygodnie" in text
    assert "{{" not in text and "{%" not in text
    assert CLIENT in rendered.text  # the search text


def test_an_html_offer_becomes_a_pdf_showing_the_client_nip_line_items_and_totals() -> None:
    data = merge(20)
    rendered = r.render(HTML.encode(), "text/html", data)
    assert rendered.media_type == r.PDF_MEDIA_TYPE and rendered.data.startswith(b"%PDF")
    text = pdf_text(rendered.data)
    assert "Oferta OF/2026/12/0007" in text
    assert CLIENT in text and f"NIP {NIP}" in text  # the value as text, not markup
    assert "Lokalizator GPS model 20" in text
    gross = data["totals"]["gross"]  # type: ignore[index]
    assert f"Razem brutto: {gross}".replace("\xa0", " ") in text.replace("\xa0", " ")
    assert "VAT 23%" in text and "VAT 8%" in text


def test_merge_values_are_escaped_in_html_templates() -> None:
    html = r.render_html("<p>{{ client.name }}</p><p>{{ custom.delivery }}</p>",
                         {**merge(), "custom": {"delivery": "<img src=x onerror=alert(1)>"}})
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_template_cannot_reach_python_internals_or_local_files() -> None:
    with pytest.raises(r.RenderError):
        r.render_html("{{ client.name.__class__.__mro__ }}", merge())
    with pytest.raises(r.RenderError):
        r.render_html("{{ ''.__class__.__subclasses__() }}", merge())
    local = r.render(b'<p>x</p><img src="file:///etc/hostname"><link rel="stylesheet" '
                     b'href="file:///etc/passwd">', "text/html", merge())
    assert local.data.startswith(b"%PDF")  # rendered without what it may not fetch
    assert "root:" not in pdf_text(local.data)


def test_a_plain_text_offer_uses_the_flattened_merge_data_and_the_reps_values() -> None:
    rendered = r.render(b"Offer ${offer_number} for ${client_name}: ${delivery}, "
                        b"${totals_gross}. Costs $$5 extra.", "text/plain", merge(),
                        {"delivery": "{{ 7*7 }} ${x}"})
    assert rendered.text == (f"Offer OF/2026/12/0007 for {CLIENT}: {{{{ 7*7 }}}} ${{x}}, "
                             "1\xa0373,63\xa0zł. Costs $5 extra.")
    with pytest.raises(r.MissingValues) as missing:
        r.render(b"${client_name} ${product} ${price}", "text/plain", merge())
    assert missing.value.names == ["product", "price"]

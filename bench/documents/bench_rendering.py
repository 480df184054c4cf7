"""Offer rendering benchmark (not a test): an offer with 20 line items rendered from a DOCX
template (docxtpl) and from an HTML template to PDF (WeasyPrint), merge data included (totals
per VAT rate, Babel formatting, the amount in words). No database: the render is what a
``draftOffer`` or ``issueOffer`` adds to a transaction.

Run: .venv/bin/python -m bench.documents.bench_rendering [--rounds 30] [--items 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import docx

from bench.servers import machine, today
from services.documents import merge as m
from services.documents import rendering as r

HTML = """<html><head><style>
body { font-family: DejaVu Sans, sans-serif; font-size: 10pt }
table { border-collapse: collapse; width: 100% } td, th { border: 1px solid #999; padding: 3px }
</style></head><body>
<h1>Oferta {{ offer.number }}</h1>
<p>{{ client.name }}, NIP {{ client.nip }}, {{ client.address }}</p>
<p>Osoba kontaktowa: {{ client.contact.name }}; opiekun: {{ owner.name }}</p>
<table><tr><th>Lp.</th><th>Produkt</th><th>Ilość</th><th>Cena netto</th><th>VAT</th>
<th>Netto</th><th>Brutto</th></tr>
{% for item in items %}<tr><td>{{ item.position }}</td><td>{{ item.product }}</td>
<td>{{ item.quantity }} {{ item.unit }}</td><td>{{ item.unit_price }}</td>
<td>{{ item.vat_rate }}</td><td>{{ item.net }}</td><td>{{ item.gross }}</td></tr>{% endfor %}
</table>
{% for rate in totals.by_rate %}<p>VAT {{ rate.rate }}: netto {{ rate.net }},
VAT {{ rate.vat }}, brutto {{ rate.gross }}</p>{% endfor %}
<p><b>Razem brutto: {{ totals.gross }}</b> ({{ totals.in_words }})</p>
<p>Oferta ważna do {{ offer.valid_until }}.</p></body></html>"""


def docx_template() -> bytes:
    document = docx.Document()
    document.add_heading("Oferta {{ offer.number }}", level=1)
    document.add_paragraph("{{ client.name }}, NIP {{ client.nip }}, {{ client.address }}")
    table = document.add_table(rows=4, cols=7)
    for cell, title in zip(table.rows[0].cells, ("Lp.", "Produkt", "Ilość", "Cena netto",
                                                 "VAT", "Netto", "Brutto"), strict=True):
        cell.text = title
    table.rows[1].cells[0].text = "{%tr for item in items %}"
    for cell, field in zip(table.rows[2].cells, ("position", "product", "quantity",
                                                 "unit_price", "vat_rate", "net", "gross"),
                           strict=True):
        cell.text = "{{ item." + field + " }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph("Razem brutto: {{ totals.gross }} ({{ totals.in_words }})")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def merge_data(count: int) -> dict[str, object]:
    deal = m.DealFacts(opportunity_id=uuid.uuid4(), name="Flota 2027", currency="PLN",
                       client_name="Żabka Polska Sp. z o.o.", client_nip="5260250274",
                       client_address="ul. Prosta 1, 00-001 Warszawa",
                       contact=m.Party(name="Anna Nowak"), owner=m.Party(name="Jan Kowalski"))
    items = [m.LineItem(f"Lokalizator GPS model {i}", Decimal(i), "szt.", Decimal("199.99"),
                        "8" if i % 4 == 0 else "23", Decimal(5) if i % 5 == 0 else Decimal(0))
             for i in range(1, count + 1)]
    facts = m.OfferFacts(number="OF/2026/12/0007", title="Oferta", revision=1,
                         valid_until=date.today() + timedelta(days=30), currency="PLN",
                         today=date.today())
    return m.merge_data(deal, facts, items)


def timed(rounds: int, render: Callable[[], r.Rendered]) -> tuple[float, list[float], int]:
    start = time.perf_counter()
    size = len(render().data)
    first = time.perf_counter() - start
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        render()
        samples.append(time.perf_counter() - start)
    return first, samples, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--items", type=int, default=20)
    args = parser.parse_args()
    docx_source, html_source = docx_template(), HTML.encode()

    def as_docx() -> r.Rendered:
        return r.render(docx_source, r.DOCX_MEDIA_TYPE, merge_data(args.items))

    def as_pdf() -> r.Rendered:
        return r.render(html_source, "text/html", merge_data(args.items))

    print(f"{today()}, {machine()}; {args.items} line items, {args.rounds} rounds after one")
    for name, render in (("DOCX (docxtpl)", as_docx), ("PDF (WeasyPrint)", as_pdf)):
        first, samples, size = timed(args.rounds, render)
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(f"{name}: first {first * 1000:.0f} ms, p50 {statistics.median(samples) * 1000:.0f}"
              f" ms, p95 {p95 * 1000:.0f} ms, {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()

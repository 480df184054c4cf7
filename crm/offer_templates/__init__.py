"""The demo organisation's offer templates: an HTML one (rendered to PDF), kept as a file, and
a DOCX one, written with python-docx when the demo is seeded (a binary file in the repository
could not be reviewed). Both use the merge fields of the documents service's offers."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from docx.shared import Pt

HTML_TEMPLATE = Path(__file__).with_name("offer.html")
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COLUMNS = (
    ("#", "{{ item.position }}"),
    ("Product", "{{ item.product }}"),
    ("Quantity", "{{ item.quantity }} {{ item.unit }}"),
    ("Unit net price", "{{ item.unit_price }}"),
    ("Discount", "{{ item.discount }}"),
    ("VAT", "{{ item.vat_rate }}"),
    ("Net", "{{ item.net }}"),
    ("Gross", "{{ item.gross }}"),
)


def html_template() -> bytes:
    return HTML_TEMPLATE.read_bytes()


def docx_template() -> bytes:
    """An offer in Word: the client, the line items in a table (a row repeated per item), the
    totals per VAT rate and overall, in words, and who prepared it."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading("Offer {{ offer.number }}", level=1)
    document.add_paragraph("{{ client.name }}, NIP {{ client.nip }}")
    document.add_paragraph("{{ client.address }}")
    document.add_paragraph("Attn. {{ client.contact.name }}")
    document.add_paragraph("Date: {{ today }}. Valid until: {{ offer.valid_until }}. "
                           "Revision {{ offer.revision }}.")
    document.add_paragraph("{{ offer.title }} for the deal {{ deal.name }}.")
    table = document.add_table(rows=4, cols=len(COLUMNS))
    table.style = "Table Grid"
    for cell, (title, _) in zip(table.rows[0].cells, COLUMNS, strict=True):
        cell.text = title
    table.rows[1].cells[0].text = "{%tr for item in items %}"
    for cell, (_, field) in zip(table.rows[2].cells, COLUMNS, strict=True):
        cell.text = field
    table.rows[3].cells[0].text = "{%tr endfor %}"
    document.add_paragraph("{%p for rate in totals.by_rate %}")
    document.add_paragraph("VAT {{ rate.rate }}: net {{ rate.net }}, VAT {{ rate.vat }}, "
                           "gross {{ rate.gross }}")
    document.add_paragraph("{%p endfor %}")
    total = document.add_paragraph()
    total.add_run("Total: net {{ totals.net }}, VAT {{ totals.vat }}, "
                  "gross {{ totals.gross }}").bold = True
    document.add_paragraph("In words: {{ totals.in_words }}")
    document.add_paragraph("Prepared by {{ owner.name }}, {{ owner.email }}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

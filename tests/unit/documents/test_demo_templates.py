"""The demo organisation's offer templates (``crm.offer_templates``) pass the upload check and
render real files showing the client, the line items and the totals."""

from __future__ import annotations

from crm import offer_templates as demo
from services.documents import domain as d
from services.documents import rendering as r

from .test_rendering import CLIENT, NIP, docx_text, merge, pdf_text


def test_the_demo_templates_have_no_problems() -> None:
    assert d.template_problems(demo.docx_template(), demo.DOCX_MEDIA_TYPE) == []
    assert d.template_problems(demo.html_template(), "text/html") == []


def test_the_demo_docx_template_renders_a_word_offer() -> None:
    data = merge(5, locale="en")
    rendered = r.render(demo.docx_template(), demo.DOCX_MEDIA_TYPE, data)
    text = docx_text(rendered.data)
    assert f"{CLIENT}, NIP {NIP}" in text
    assert text.count("Lokalizator GPS model") == 5
    assert f"gross {data['totals']['gross']}" in text  # type: ignore[index]
    assert "VAT 23%: net" in text and "VAT 8%: net" in text
    assert "{{" not in text and "{%" not in text


def test_the_demo_html_template_renders_a_pdf_offer() -> None:
    data = merge(5, locale="en")
    rendered = r.render(demo.html_template(), "text/html", data)
    assert rendered.data.startswith(b"%PDF")
    text = pdf_text(rendered.data).replace("\xa0", " ")
    assert CLIENT in text and f"NIP {NIP}" in text
    assert "Lokalizator GPS model 5" in text
    assert str(data["totals"]["gross"]).replace("\xa0", " ") in text  # type: ignore[index]

"""Offer templates: which merge fields they may use, checking one on upload (errors name the
place), and rendering one with an offer's merge data. No IO: bytes in, bytes out.

Three formats, told apart by the template's media type:

- **DOCX** (docxtpl: Jinja2 inside Word) renders to a DOCX file;
- **HTML** (Jinja2) renders to a PDF file through WeasyPrint;
- **plain text** keeps ``string.Template`` (``${name}``), filled from the merge data flattened
  to ``client_name``, ``offer_number``, ... and the rep's own values.

Jinja2 runs sandboxed (a template reaches only the merge data, never Python internals) with
autoescape, so a value such as ``<script>`` comes out as text in the HTML and as text in the
Word XML. WeasyPrint fetches nothing but ``data:`` URLs: a template cannot read local files or
call out.
"""

from __future__ import annotations

import io
import re
import string
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MEDIA_TYPE = "application/pdf"
TEXT_MEDIA_TYPE = "text/plain"


class TemplateFormat(StrEnum):
    DOCX = "DOCX"
    HTML = "HTML"
    TEXT = "TEXT"

    @property
    def output_media_type(self) -> str:
        return {
            TemplateFormat.DOCX: DOCX_MEDIA_TYPE,
            TemplateFormat.HTML: PDF_MEDIA_TYPE,
            TemplateFormat.TEXT: TEXT_MEDIA_TYPE,
        }[self]


def template_format(media_type: str) -> TemplateFormat:
    """The format of a template of this media type (anything else textual is plain text)."""
    media = media_type.split(";", 1)[0].strip().lower()
    if media == DOCX_MEDIA_TYPE:
        return TemplateFormat.DOCX
    if media in ("text/html", "application/xhtml+xml"):
        return TemplateFormat.HTML
    return TemplateFormat.TEXT


# --- the merge fields ---------------------------------------------------------------------

Fields = Mapping[str, "Fields | None"]
"""A merge field's sub-fields (None: a value, no sub-fields)."""

_CONTACT: Fields = {"name": None, "email": None, "phone": None, "position": None}
_AMOUNTS: Fields = {"net": None, "vat": None, "gross": None}
ITEM_FIELDS: Fields = {
    "position": None, "product": None, "quantity": None, "unit": None, "unit_price": None,
    "discount": None, "vat_rate": None, **_AMOUNTS,
}
RATE_FIELDS: Fields = {"rate": None, **_AMOUNTS}
MERGE_FIELDS: Fields = {
    "deal": {"name": None, "amount": None, "currency": None, "expected_close_date": None,
             "stage": None},
    "client": {"name": None, "nip": None, "address": None, "contact": _CONTACT},
    "owner": {"name": None, "email": None, "phone": None},
    "org": {"name": None},
    "today": None,
    "offer": {"number": None, "title": None, "revision": None, "valid_until": None,
              "currency": None},
    "items": ITEM_FIELDS,
    "totals": {**_AMOUNTS, "by_rate": RATE_FIELDS, "in_words": None},
    "custom": None,
}
"""What a template may use. ``items`` and ``totals.by_rate`` are lists (loop over them);
``custom`` holds the rep's own values (``custom.delivery``), whatever their names."""
LISTS = {("items",): ITEM_FIELDS, ("totals", "by_rate"): RATE_FIELDS}
OPEN = {("custom",)}


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"client": {"name": "X"}}`` -> ``{"client_name": "X"}``: the plain-text names
    (lists are left out)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}_"))
        elif not isinstance(value, list):
            flat[name] = "" if value is None else str(value)
    return flat


# --- problems and their places ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    place: str
    """``line 3`` (HTML), ``paragraph 4`` / ``table 1, row 2, cell 3`` (DOCX),
    ``line 2, column 7`` (plain text)."""
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class RenderError(Exception):
    """A template could not be rendered (its message is fit for the user)."""


class MissingValues(RenderError):
    """A plain-text template names values nobody gave."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"no value for {', '.join('${' + n + '}' for n in names)}")
        self.names = names


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


def check_template(data: bytes, media_type: str) -> list[TemplateProblem]:
    """Why ``data`` cannot serve as an offer template of this media type (empty if it can)."""
    fmt = template_format(media_type)
    if fmt is TemplateFormat.DOCX:
        try:
            lines, places = _docx_lines(data)
        except (zipfile.BadZipFile, KeyError, ValueError):
            return [TemplateProblem("document", "is not a Word (DOCX) document")]
        return _jinja_problems("\n".join(lines), lambda n: places[n - 1] if n <= len(places)
                               else f"paragraph {n}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [TemplateProblem("document", "an offer template must be UTF-8 text")]
    if "\x00" in text:
        return [TemplateProblem("document", "an offer template must not contain NUL characters")]
    if fmt is TemplateFormat.HTML:
        return _jinja_problems(text, lambda n: f"line {n}")
    return [
        TemplateProblem(where, "is an invalid placeholder (write $$ for a dollar sign)")
        for where in _invalid_placeholders(text)
    ]


def _jinja_problems(source: str, place: Any) -> list[TemplateProblem]:
    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as error:
        return [TemplateProblem(place(error.lineno or 1), error.message or "invalid syntax")]
    return [TemplateProblem(place(line), message) for line, message in _unknown_fields(tree)]


def _unknown_fields(tree: nodes.Template) -> list[tuple[int, str]]:
    """Every use of a merge field that does not exist, with its line."""
    found: list[tuple[int, str]] = []
    loops: dict[str, Fields] = {}
    assigned: set[str] = set()
    for node in tree.find_all((nodes.For, nodes.Assign, nodes.Macro, nodes.With)):
        if isinstance(node, nodes.For):
            source = _path(node.iter)
            fields = LISTS.get(source) if source else None
            for target in _names(node.target):
                if fields is not None:
                    loops[target.name] = fields
                else:
                    assigned.add(target.name)
            assigned.add("loop")
        else:
            for target in node.find_all(nodes.Name):
                if target.ctx in ("store", "param"):
                    assigned.add(target.name)
    seen: set[tuple[int, str]] = set()
    for use in tree.find_all((nodes.Getattr, nodes.Name)):
        if isinstance(use, nodes.Name) and use.ctx != "load":
            continue
        path = _path(use)
        if path is None:
            continue
        problem = _field_problem(path, loops, assigned)
        if problem is not None and (use.lineno, problem) not in seen:
            seen.add((use.lineno, problem))
            found.append((use.lineno, problem))
    return sorted(found)


def _names(node: nodes.Node) -> list[nodes.Name]:
    """The names a loop binds (``x`` or ``a, b``)."""
    return [node] if isinstance(node, nodes.Name) else list(node.find_all(nodes.Name))


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """``client.contact.name`` as ``("client", "contact", "name")``; None if not a plain
    dotted name."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    parts.append(node.name)
    return tuple(reversed(parts))


def _field_problem(
    path: tuple[str, ...], loops: Mapping[str, Fields], assigned: set[str]
) -> str | None:
    head = path[0]
    if head in assigned:
        return None
    fields: Fields | None
    known: tuple[str, ...]
    if head in loops:
        fields, known = loops[head], (head,)
    elif head in MERGE_FIELDS:
        fields, known = MERGE_FIELDS[head], (head,)
    else:
        return f"'{head}' is not a merge field (known: {', '.join(sorted(MERGE_FIELDS))})"
    for part in path[1:]:
        if known in OPEN:
            return None
        if fields is None or part not in fields:
            name = ".".join((*known, part))
            if fields is None:
                return f"'{name}': '{'.'.join(known)}' has no fields"
            return f"'{name}' is not a merge field (known: {', '.join(sorted(fields))})"
        fields, known = fields[part], (*known, part)
    return None


def _invalid_placeholders(text: str) -> list[str]:
    found = []
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            start = match.start()
            line = text.count("\n", 0, start) + 1
            column = start - (text.rfind("\n", 0, start) + 1) + 1
            found.append(f"line {line}, column {column}")
    return found


# --- DOCX: the text of each paragraph, and where it is --------------------------------------

# docxtpl's own tags ({%tr ...%} a table row, {%tc %} a cell, {%p %} a paragraph, {%r %} a run)
# are plain Jinja2 tags once the marker is dropped.
_DOCXTPL_TAG = re.compile(r"\{%-?\s*(?:tr|tc|p|r)\s")
_DOCXTPL_VAR = re.compile(r"\{\{\s*(?:r|p|tr|tc)\s")


def _docx_lines(data: bytes) -> tuple[list[str], list[str]]:
    """Every paragraph's text (headers, body, tables, footers) with its place, as docxtpl
    sees it (runs joined)."""
    from docx import Document  # a heavy import, needed only for DOCX templates

    document = Document(io.BytesIO(data))
    lines: list[str] = []
    places: list[str] = []

    def add(text: str, place: str) -> None:
        text = _DOCXTPL_TAG.sub("{% ", _DOCXTPL_VAR.sub("{{ ", text))
        for part in text.split("\n") or [""]:
            lines.append(part)
            places.append(place)

    for number, section in enumerate(document.sections, 1):
        for index, paragraph in enumerate(section.header.paragraphs, 1):
            add(paragraph.text, f"header {number}, paragraph {index}")
    body = document.element.body
    paragraph_no = table_no = 0
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph_no += 1
            add("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")),
                f"paragraph {paragraph_no}")
        elif tag == "tbl":
            table_no += 1
            for row_no, row in enumerate(_children(child, "tr"), 1):
                for cell_no, cell in enumerate(_children(row, "tc"), 1):
                    for paragraph in _children(cell, "p"):
                        add("".join(t.text or "" for t in paragraph.iter()
                                    if t.tag.endswith("}t")),
                            f"table {table_no}, row {row_no}, cell {cell_no}")
    for number, section in enumerate(document.sections, 1):
        for index, paragraph in enumerate(section.footer.paragraphs, 1):
            add(paragraph.text, f"footer {number}, paragraph {index}")
    return lines, places


def _children(element: Any, tag: str) -> Iterator[Any]:
    return (c for c in element.iterchildren() if c.tag.rsplit("}", 1)[-1] == tag)


# --- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    media_type: str
    text: str
    """The offer's text, for search."""


def render(template: bytes, media_type: str, merge: Mapping[str, Any],
           values: Mapping[str, str] | None = None) -> Rendered:
    """The offer file: DOCX from a DOCX template, PDF from an HTML one, text from text.

    ``values`` (plain text only) are the rep's own ``${name}`` values, over the merge data.
    ``RenderError`` says why a template cannot be rendered.
    """
    fmt = template_format(media_type)
    if fmt is TemplateFormat.DOCX:
        return _render_docx(template, merge)
    try:
        source = template.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError("the template is not UTF-8 text") from None
    if fmt is TemplateFormat.HTML:
        return _render_html(source, merge)
    names = {**flatten(merge), **(values or {})}
    missing = [n for n in dict.fromkeys(string.Template(source).get_identifiers())
               if n not in names]
    if missing:
        raise MissingValues(missing)
    try:
        text = string.Template(source).substitute(names)
    except ValueError as error:
        raise RenderError(f"invalid placeholder: {error}") from None
    return Rendered(text.encode("utf-8"), TEXT_MEDIA_TYPE, text)


def render_html(source: str, merge: Mapping[str, Any]) -> str:
    """The HTML of an HTML template, every value escaped."""
    try:
        return _environment().from_string(source).render(merge)
    except TemplateError as error:
        raise RenderError(f"the template cannot be rendered: {error.message}") from None


# WeasyPrint (pango, fontconfig) is not safe to run in several threads at once.
_PDF_LOCK = threading.Lock()


def _render_html(source: str, merge: Mapping[str, Any]) -> Rendered:
    from weasyprint import HTML  # loads pango: only when an HTML offer is rendered
    from weasyprint.urls import URLFetcher

    html = render_html(source, merge)
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
    with _PDF_LOCK:
        pdf = HTML(string=html, url_fetcher=fetcher, base_url="data:,").write_pdf()
    assert pdf is not None
    return Rendered(pdf, PDF_MEDIA_TYPE, _html_text(html))


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.S | re.I)


def _html_text(html: str) -> str:
    import html as html_module

    return " ".join(html_module.unescape(_TAG.sub(" ", html)).split())


def _render_docx(template: bytes, merge: Mapping[str, Any]) -> Rendered:
    from docx import Document
    from docxtpl import DocxTemplate

    try:
        document = DocxTemplate(io.BytesIO(template))
        document.render(dict(merge), jinja_env=_environment(), autoescape=True)
        out = io.BytesIO()
        document.save(out)
    except TemplateError as error:
        raise RenderError(f"the template cannot be rendered: {error.message}") from None
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise RenderError("the template is not a Word (DOCX) document") from None
    data = out.getvalue()
    rendered = Document(io.BytesIO(data))
    parts = [p.text for p in rendered.paragraphs]
    for table in rendered.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return Rendered(data, DOCX_MEDIA_TYPE, " ".join(" ".join(parts).split()))

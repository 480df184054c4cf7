"""The sniffed type against the declared one: executables refused, mismatches refused."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.documents.sniffing import ContentRefused, Refusal, check_type

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44) + b"\x80\x00\x00\x00"
EXE = PE + bytes(64) + b"PE\x00\x00" + bytes(200)
ELF = b"\x7fELF\x02\x01\x01" + bytes(100)
MACH_O = b"\xcf\xfa\xed\xfe" + bytes(50)
JAVA_CLASS = b"\xca\xfe\xba\xbe" + bytes(50)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(50)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(50)


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("head", "declared", "accepted"),
    [
        (PDF, "application/pdf", "application/pdf"),
        (PDF, "Application/PDF; charset=binary", "application/pdf"),
        (PNG, "image/png", "image/png"),
        (JPEG, "image/jpg", "image/jpeg"),
        (docx(), DOCX, DOCX),
        (b"Offer for ${client}", "text/plain", "text/plain"),
        (b"# Price list\n\n- CRM: 100 z\xc5\x82", "text/markdown", "text/markdown"),
        (b'{"price": 100}', "application/json", "application/json"),
        (b'{"price": 100}', "text/plain", "text/plain"),
        (b"<!DOCTYPE html><html><body>Offer</body></html>", "text/html", "text/html"),
        (b"a,b\n1,2\n", "text/csv", "text/csv"),
        (bytes(range(1, 40)) * 3, "application/octet-stream", "application/octet-stream"),
    ],
)
def test_accepted(head: bytes, declared: str, accepted: str) -> None:
    assert check_type(head, declared) == accepted


@pytest.mark.parametrize(
    ("head", "declared"),
    [
        (EXE, "application/pdf"),
        (EXE, "application/octet-stream"),
        (EXE, "text/plain"),
        (b"MZ" + bytes(100), "image/png"),
        (ELF, "application/pdf"),
        (MACH_O, "application/octet-stream"),
        (JAVA_CLASS, "application/pdf"),
        (b"#!/bin/sh\nrm -rf /\n", "text/plain"),
        (b"text", "application/x-msdownload"),
        (b"text", "application/x-sh"),
    ],
)
def test_executables_are_refused(head: bytes, declared: str) -> None:
    with pytest.raises(ContentRefused) as refused:
        check_type(head, declared)
    assert refused.value.reason is Refusal.EXECUTABLE
    assert refused.value.message == "executable files are not accepted"


@pytest.mark.parametrize(
    ("head", "declared", "detected"),
    [
        (PNG, "application/pdf", "image/png"),
        (PDF, "text/plain", "application/pdf"),
        (PDF, "application/octet-stream", "application/pdf"),
        (b"plain words", "application/pdf", None),
        (b"plain words", "image/png", None),
        (b"\x00\x01\x02 binary", "text/plain", None),
        (b"\xc3\x28 not utf-8", "text/plain", None),
    ],
)
def test_mismatches_are_refused(head: bytes, declared: str, detected: str | None) -> None:
    with pytest.raises(ContentRefused) as refused:
        check_type(head, declared)
    assert refused.value.reason is Refusal.TYPE_MISMATCH
    assert refused.value.detected == detected
    assert refused.value.message.startswith(f"the content is declared as {declared.lower()}")

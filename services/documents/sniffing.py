"""The real type of a file, sniffed from its first bytes (puremagic's signatures), held
against the type the uploader declared: executables are refused, and so is content whose
signature is not the declared type's. No IO: it reads the bytes it is given.

A signature names candidates (an OLE2 file may be a .doc or an .msi; a ZIP a .docx or an
.xlsx), so the declared type passes when it is one of them, except that a declared
``application/octet-stream`` never vouches for a file that has a signature. Text has no
signature: a text type passes when the bytes look like text (UTF-8, no NUL)."""

from __future__ import annotations

import codecs
from enum import StrEnum

import puremagic

from crmkit.errors import DomainError

# Enough for every signature puremagic checks at the start of a file (ZIP-based formats are
# told apart by the names of their first members).
SNIFF_BYTES = 64 * 1024

EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-elf",
        "application/vnd.microsoft.portable-executable",
        "application/x-msi",
        "application/x-ms-installer",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-bat",
        "application/java-archive",
        "application/java-vm",
        "application/x-java-applet",
    }
)
EXECUTABLE_EXTENSIONS = frozenset(
    {".exe", ".dll", ".com", ".scr", ".sys", ".cpl", ".ocx", ".drv", ".msi", ".class",
     ".appimage", ".elf", ".so", ".dylib", ".pif", ".386"}
)
EXECUTABLE_WORDS = ("executable", "mach-o", "elf ", "installer", "bytecode", "dll")
TEXT_TYPES = frozenset({"application/json", "application/xml", "image/svg+xml"})
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf":
           "application/pdf", "text/xml": "application/xml"}
OCTET_STREAM = "application/octet-stream"


class Refusal(StrEnum):
    EXECUTABLE = "EXECUTABLE"
    TYPE_MISMATCH = "TYPE_MISMATCH"


class ContentRefused(DomainError):
    """The bytes are not what they were declared to be, or are a program."""

    def __init__(self, reason: Refusal, declared: str, detected: str | None) -> None:
        if reason is Refusal.EXECUTABLE:
            message = "executable files are not accepted"
        else:
            found = f"looks like {detected}" if detected else "has no recognisable type"
            message = f"the content is declared as {declared} but {found}"
        super().__init__(message)
        self.reason = reason
        self.declared = declared
        self.detected = detected


def canonical(media_type: str) -> str:
    bare = media_type.split(";", 1)[0].strip().lower()
    return ALIASES.get(bare, bare)


def is_text_type(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in TEXT_TYPES or (
        media_type.endswith(("+json", "+xml"))
    )


def looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the head is fine
    except UnicodeDecodeError:
        return False
    return True


def check_type(head: bytes, declared: str) -> str:
    """The declared type (canonical) when ``head``, the first :data:`SNIFF_BYTES` of the
    content, may be it; :class:`ContentRefused` otherwise."""
    media = canonical(declared)
    if media in EXECUTABLE_TYPES or head.startswith(b"#!"):
        raise ContentRefused(Refusal.EXECUTABLE, media, None)
    try:
        candidates = puremagic.magic_string(head) if head else []
    except puremagic.PureError:
        candidates = []
    types = {canonical(c.mime_type) for c in candidates if c.mime_type}
    if media != OCTET_STREAM and media in types:
        return media
    if any(_executable(c.extension, c.name) for c in candidates):
        raise ContentRefused(Refusal.EXECUTABLE, media, None)
    if is_text_type(media) and all(is_text_type(t) for t in types) and looks_like_text(head):
        return media  # text has no signature; one text type read as another is no harm
    if media == OCTET_STREAM and not candidates:
        return media
    detected = next((canonical(c.mime_type) for c in candidates if c.mime_type), None)
    detected = detected or next((c.name for c in candidates if c.name), None)
    raise ContentRefused(Refusal.TYPE_MISMATCH, media, detected)


def _executable(extension: str, name: str) -> bool:
    lowered = name.lower()
    return extension.lower() in EXECUTABLE_EXTENSIONS or any(
        word in lowered for word in EXECUTABLE_WORDS
    )

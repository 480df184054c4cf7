"""The import's chunk encoder: validated rows as binary COPY tuples, the same in the worker
process as in a thread."""

import struct
import uuid

import pytest

from crmkit.contracts import Envelope
from crmkit.contracts.leads import LeadCreated
from services.leads import import_worker
from services.leads.csv_import import CsvFormatError, parse_csv
from services.leads.domain import lead_search_text
from services.leads.import_chunks import ChunkEncoder, ImportParams

CSV = (
    "\ufeffFirma;Osoba kontaktowa;E-mail;Telefon;Strona WWW;Tagi;Priorytet;Uwagi\n"
    "ACME Sp. z o.o.;Jan Kowalski;Jan@Acme.pl;601 234 567;www.acme.pl;a, b;7;\"x\ny\"\n"
    "Beta;Anna;bad-email;;;;;\n"
    "Gamma;;g@gmail.com;+48 22 123 45 67;;;;\n"
    "ACME;Jan K.;jan@acme.pl;;;;;\n"
    "Zażółć;;;;https://zazolc.pl/x;;;\n"
)
CREATED_AT = "2026-11-26T17:01:02.345678+00:00"


def _params(actor: uuid.UUID | None = None) -> ImportParams:
    return ImportParams(org_id=uuid.uuid4(), actor_id=actor, import_id=uuid.uuid4(),
                        created_at=CREATED_AT, region="PL")


def _fields(data: bytes) -> list[bytes | None]:
    """The field values of one binary COPY tuple."""
    (count,) = struct.unpack_from(">h", data)
    values: list[bytes | None] = []
    at = 2
    for _ in range(count):
        (size,) = struct.unpack_from(">i", data, at)
        at += 4
        if size < 0:
            values.append(None)
        else:
            values.append(data[at : at + size])
            at += size
    assert at == len(data)
    return values


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def _tags(value: bytes | None) -> tuple[str, ...]:
    assert value is not None
    ndim, _flags, oid = struct.unpack_from(">iiI", value)
    assert oid == 1043
    if ndim == 0:
        return ()
    count, lower = struct.unpack_from(">ii", value, 12)
    assert (ndim, lower) == (1, 1)
    return tuple(_text(v) or "" for v in _fields(struct.pack(">h", count) + value[20:]))


def test_tuples_hold_the_validated_rows():
    actor = uuid.uuid4()
    params = _params(actor)
    encoder = ChunkEncoder(CSV, params)
    chunk = encoder.next(100)
    assert chunk is not None and encoder.next(100) is None
    parsed = parse_csv(CSV, "PL")
    assert chunk.invalid == parsed.invalid
    assert chunk.lines == [r.line for r in parsed.rows] == [2, 5, 6, 7]
    # Line 6 repeats line 2 (the notes of line 2 span two lines): email, domain and company.
    assert chunk.earlier == {2: (2, None, 2)}
    rows = [r.fields for r in parsed.rows]
    assert chunk.keys == ([f.email for f in rows], [f.phone for f in rows],
                          [f.domain for f in rows], [f.company_key for f in rows])
    for index, row in enumerate(parsed.rows):
        f = row.fields
        lead_id = chunk.lead_id(index)
        assert lead_id.version == 4 and lead_id.variant == uuid.RFC_4122
        values = _fields(chunk.leads[index])
        assert [uuid.UUID(bytes=v) if v else None for v in values[:2]] == [lead_id, params.org_id]
        assert [_text(v) for v in values[2:11]] == [
            f.company, f.company_key, f.contact_name, f.email, f.phone, f.website, f.domain,
            f.source, f.notes]
        assert _tags(values[11]) == f.tags
        assert values[12] == struct.pack(">i", f.priority)
        assert _text(values[13]) == lead_search_text(f.company, f.contact_name, f.email)
        assert values[14] == b"NEW"
        assert values[15:] == [params.import_id.bytes, actor.bytes]

        event_id, subject, aggregate, envelope = _fields(chunk.events[index])
        assert subject == LeadCreated.TYPE.encode() and aggregate == lead_id.bytes
        assert envelope is not None  # json's binary format is its UTF-8 text
        parsed_envelope = Envelope.from_json(envelope)
        assert parsed_envelope.id.bytes == event_id and parsed_envelope.aggregate_id == lead_id
        assert parsed_envelope.parse(LeadCreated).email == f.email


def test_earlier_lines_are_found_across_chunks():
    encoder = ChunkEncoder(CSV, _params())
    chunks = []
    while (chunk := encoder.next(2)) is not None:
        chunks.append(chunk)
    # Line 6 repeats line 2, in an earlier chunk; no actor: NULL created_by.
    assert [c.lines for c in chunks] == [[2], [5, 6], [7]]
    assert [c.earlier for c in chunks] == [{}, {1: (2, None, 2)}, {}]
    assert _fields(chunks[0].leads[0])[-1] is None


async def test_worker_process_and_thread_give_the_same_chunks():
    params = _params()
    results = []
    for in_process in (False, True):
        chunks = import_worker.ImportChunks(CSV, params, in_process=in_process)
        assert chunks.in_process is in_process
        await chunks.start()
        got = []
        while (chunk := await chunks.next(2)) is not None:
            got.append((chunk.invalid, chunk.lines, chunk.keys, chunk.earlier))
        await chunks.finish()
        results.append((chunks.columns, chunks.ignored_columns, got))
    assert results[0] == results[1]


@pytest.mark.parametrize("in_process", [False, True])
async def test_unreadable_files_raise_the_format_error(in_process):
    with pytest.raises(CsvFormatError):
        await import_worker.ImportChunks("", _params(), in_process=in_process).start()
    # A value over the csv module's field size limit: the file cannot be read.
    unreadable = "firma\nA\n" + "x" * 200_000 + "\n"
    chunks = import_worker.ImportChunks(unreadable, _params(), in_process=in_process)
    await chunks.start()
    with pytest.raises(CsvFormatError, match="cannot be read"):
        while await chunks.next(10) is not None:
            pass
    await chunks.finish()


def test_prestart_starts_the_worker_once():
    import_worker.prestart()
    import_worker.prestart()
    assert import_worker.worker_pool() is import_worker.worker_pool()
    assert len(import_worker.worker_pids()) == 1

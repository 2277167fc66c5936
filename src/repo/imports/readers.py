"""How records arrive from a file: CSV, JSON Lines, BibTeX and RIS read as :class:`Row` s.

A reader is opened on our stored copy of the file (:func:`open_reader`), which checks what
concerns the whole file at once — its encoding, the CSV header and separator — and raises
:class:`FileProblem` (naming what is wrong) when the file cannot be read at all. Its rows then
come from any position (:meth:`Reader.rows`: the offset and count of the rows already applied),
so an interrupted import resumes without reading again what it applied.

Whatever is wrong with *one* row (bytes that are not text in the file's encoding, more cells than
the header, a value in an unknown column, a cell that would run as a spreadsheet formula, a line
that is not a JSON object, an entry the BibTeX parser cannot read) fails that row alone, with the
field and the reason.

**Encodings.** A byte-order mark decides (UTF-8, or UTF-16 as Excel's "Unicode text" writes it:
the copy is then stored as UTF-8). Without one, the first MiB decides: UTF-8 when it holds valid
UTF-8 sequences (rows with bytes that are not UTF-8 then fail, each saying so), Windows-1252 — the
"CSV" of Excel on Windows — when its non-ASCII bytes are never valid UTF-8 (said in the import's
note); an explicit encoding overrides both.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from repo.imports import layout
from repo.ingest.mapping.common import Draft

FORMATS = ("csv", "jsonl", "bibtex", "ris")
SAMPLE = 1 << 20  # bytes read to decide the encoding
MAX_LINE = 8 << 20  # a JSON Lines line or a CSV physical line longer than this fails its row
SEPARATORS = (",", ";", "\t")
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_CUT = re.compile(r"[\udc80-\udcff]{1,3}$")
csv.field_size_limit(MAX_LINE)


class FileProblem(Exception):
    """The file cannot be imported at all (``field`` names the request part at fault)."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass
class Row:
    """One record of the file, as read."""

    index: int  # rows read so far, this one included (where a resumed read goes on counting)
    number: int  # where an editor finds it: the spreadsheet row, the line, the entry's line, the record
    offset: int  # where the next read starts (a byte offset; BibTeX: the next entry's index)
    record: dict[str, Any] | None = None  # deposit record + import keys (CSV, JSON Lines)
    draft: Draft | None = None  # mapped (BibTeX, RIS)
    key: str | None = None  # the record's own id (a citation key, a RIS ID)
    files: list[str] = field(default_factory=list)  # paths a reference manager attached (BibTeX file, RIS L1)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message)
    blank: bool = False  # nothing in it (spreadsheets save empty rows): not a record


class Reader(Protocol):
    encoding: str
    note: str | None

    def rows(self, offset: int, index: int) -> Iterator[Row]:
        """The rows after ``offset``, the first of them numbered ``index + 1``."""


# -- encodings ---------------------------------------------------------------------------------------

def detect_encoding(head: bytes) -> tuple[str, str | None]:
    """``(codec, note)`` for a file starting with ``head`` (see the module's docstring)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16 (byte-order mark): stored as UTF-8"
    text = head.decode("utf-8", errors="surrogateescape")
    if len(head) == SAMPLE:  # a sequence cut at the end of the sample is not an error
        text = _CUT.sub("", text)
    invalid = len(_SURROGATE.findall(text))
    valid = sum(1 for c in text if ord(c) > 0x7F and not 0xDC80 <= ord(c) <= 0xDCFF)
    if invalid and not valid:
        return "cp1252", ("not UTF-8 and no byte-order mark: read as Windows-1252 (Excel's \"CSV\"); "
                          "save as \"CSV UTF-8\", or give the encoding, if that is wrong")
    return "utf-8", None


def normalise_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FileProblem(f"unknown encoding {name!r}", "encoding") from None


def store_utf8(path: Path) -> None:
    """Rewrite a UTF-16 file (with its byte-order mark) as UTF-8, in place."""
    temp = path.with_suffix(".utf8")
    with path.open("r", encoding="utf-16", newline="") as source, temp.open("w", encoding="utf-8", newline="") as out:
        while chunk := source.read(1 << 16):
            out.write(chunk)
    temp.replace(path)


def _lines(handle: io.BufferedReader, position: list[int]) -> Iterator[bytes]:
    """The file's lines as bytes, ``position[0]`` kept at the byte offset after the last one."""
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            return
        position[0] += len(line)
        yield line


def _bad_bytes(text: str, encoding: str) -> str | None:
    match = _SURROGATE.search(text)
    if match is None:
        return None
    byte = ord(match.group()) - 0xDC00
    return (f"byte 0x{byte:02X} is not {encoding} text (near {text[max(0, match.start() - 20):match.start()]!r}): "
            "save the file as UTF-8, or give its encoding")


# -- CSV ---------------------------------------------------------------------------------------------

class CsvReader:
    """A CSV file in the import layout (:mod:`.layout`): the separator (``,``, ``;`` or tab) is the
    one that makes the first line a header of known columns; quoted cells may hold separators,
    quotes (doubled) and line breaks, as LibreOffice and Excel write them."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.note: str | None = None
        with path.open("rb") as handle:
            position = [0]
            lines = (line.decode(encoding, errors="surrogateescape") for line in _lines(handle, position))
            first = next(lines, None)
            if first is None:
                raise FileProblem("the file is empty")
            first = first.removeprefix("\ufeff")
            self.delimiter = self._separator(first)
            header = next(csv.reader(self._continued(first, lines), delimiter=self.delimiter))
            self.start = position[0]
        self.header, self.unknown = self._columns(header)

    @staticmethod
    def _continued(first: str, rest: Iterator[str]) -> Iterator[str]:
        yield first
        yield from rest

    @staticmethod
    def _separator(line: str) -> str:
        def score(sep: str) -> tuple[int, int]:
            names = next(csv.reader([line], delimiter=sep), [])
            return sum(n.strip().lower() in layout.BY_NAME or n.strip().lower() in layout.EXPORT_ONLY
                       for n in names), len(names)

        best = max(SEPARATORS, key=score)
        if score(best)[0] == 0:
            raise FileProblem("the first line is not a header of import columns (e.g. external_id, type, titles, "
                              "creators.family, languages, publication_date): see the import layout")
        return best

    @staticmethod
    def _columns(names: list[str]) -> tuple[list[layout.Column | None], dict[int, str]]:
        header: list[layout.Column | None] = []
        unknown: dict[int, str] = {}
        seen: set[str] = set()
        for i, raw in enumerate(names):
            name = raw.strip().lower()
            if name in seen and name:
                raise FileProblem(f"the column {name!r} appears twice in the header")
            seen.add(name)
            column = layout.BY_NAME.get(name)
            header.append(column)
            if column is None and name not in layout.EXPORT_ONLY and name:
                unknown[i] = raw.strip()
        return header, unknown

    def rows(self, offset: int, index: int) -> Iterator[Row]:
        with self.path.open("rb") as handle:
            handle.seek(offset or self.start)
            position = [offset or self.start]
            lines = (line.decode(self.encoding, errors="surrogateescape") for line in _lines(handle, position))
            reader = csv.reader(lines, delimiter=self.delimiter, strict=False)
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    index += 1
                    yield Row(index, index + 1, position[0], errors=[("row", f"the row cannot be read as CSV: {exc}")])
                    continue
                index += 1
                yield self._row(cells, index, position[0])

    def _row(self, cells: list[str], index: int, offset: int) -> Row:
        number = index + 1  # the header is row 1
        if not any(c.strip() for c in cells):
            return Row(index, number, offset, blank=True)
        errors: list[tuple[str, str]] = []
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header):]):
            errors.append(("row", f"the row has {len(cells)} cells but the header only {len(self.header)} "
                                  "columns: the values past the last column have no column"))
        restored: list[str] = []
        for i, (cell, column) in enumerate(zip(cells, self.header)):
            cell = cell.replace("\r\n", "\n")  # a line break inside a quoted cell, as Windows writes it
            name = column.name if column is not None else self.unknown.get(i, f"column {i + 1}")
            if cell and (bad := _bad_bytes(cell, self.encoding)):
                errors.append((name, bad))
                cell = ""
            cell, problem = layout.restore(cell) if cell else (cell, None)
            if problem:
                errors.append((name, problem))
                cell = ""
            if cell.strip() and i in self.unknown:
                close = difflib.get_close_matches(self.unknown[i].lower(), layout.BY_NAME, n=1)
                errors.append((self.unknown[i], "not a column of the import layout"
                               + (f" (did you mean {close[0]!r}?)" if close else "")))
            restored.append(cell)
        return Row(index, number, offset, record=layout.record_of(self.header, restored), errors=errors)


# -- JSON Lines --------------------------------------------------------------------------------------

class JsonLinesReader:
    """One JSON object per line: the deposit record and the import keys (:mod:`.layout`)."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.note: str | None = None

    def rows(self, offset: int, index: int) -> Iterator[Row]:
        with self.path.open("rb") as handle:
            handle.seek(offset)
            position = [offset]
            for raw in _lines(handle, position):
                index += 1
                yield self._row(raw, index, position[0])

    def _row(self, raw: bytes, number: int, offset: int) -> Row:
        def failed(message: str) -> Row:
            return Row(number, number, offset, errors=[("line", message)])

        if len(raw) > MAX_LINE:
            return failed(f"the line is longer than {MAX_LINE:,} bytes")
        text = raw.decode(self.encoding, errors="surrogateescape")
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            return Row(number, number, offset, blank=True)
        if bad := _bad_bytes(text, self.encoding):
            return failed(bad)
        try:
            record = json.loads(text)
        except RecursionError:
            return failed("the JSON is nested too deep")
        except ValueError as exc:
            return failed(f"not JSON: {exc}")
        if not isinstance(record, dict):
            return failed("a line holds one JSON object (a deposit record)")
        return Row(number, number, offset, record=record)


# -- BibTeX and RIS ------------------------------------------------------------------------------------

class BibtexReader:
    """A BibTeX file as reference managers (Zotero, JabRef, Better BibTeX) export it, parsed by
    bibtexparser 2 (``@string`` macros resolved, LaTeX accents decoded, names split); entries are
    mapped by :mod:`repo.imports.references`. Rows are numbered by the entry's first line."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.note: str | None = None

    def rows(self, offset: int, index: int) -> Iterator[Row]:
        from repo.imports import references

        text = self.path.read_bytes().decode(self.encoding, errors="surrogateescape").removeprefix("\ufeff")
        for n, (line, parsed) in enumerate(references.bibtex_entries(text)):
            if n < offset:
                continue
            row = Row(n + 1, line, n + 1)
            if isinstance(parsed, str):
                row.errors.append(("entry", parsed))
            else:
                key, draft, files = parsed
                row.key, row.draft, row.files = key, draft, files
                if bad := _bad_bytes(json.dumps(draft.metadata, ensure_ascii=False), self.encoding):
                    row.errors.append(("entry", bad))
            yield row


class RisReader:
    """A RIS file (``TY  -`` … ``ER  -``), read record by record with rispy and mapped by
    :mod:`repo.imports.references`. Rows are numbered by record (the first is 1)."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.note: str | None = None

    def rows(self, offset: int, index: int) -> Iterator[Row]:
        from repo.imports import references

        with self.path.open("rb") as handle:
            handle.seek(offset)
            position = [offset]
            lines: list[str] = []
            for raw in _lines(handle, position):
                text = raw.decode(self.encoding, errors="surrogateescape").removeprefix("\ufeff")
                if not lines and not text.strip():
                    continue
                lines.append(text)
                if references.ris_ends_record(text):
                    index += 1
                    yield self._row(lines, index, position[0])
                    lines = []
            if lines:
                index += 1
                yield self._row(lines, index, position[0])

    def _row(self, lines: list[str], index: int, offset: int) -> Row:
        from repo.imports import references

        text = "".join(lines)
        row = Row(index, index, offset)
        if bad := _bad_bytes(text, self.encoding):
            row.errors.append(("record", bad))
            return row
        parsed = references.ris_record(text)
        if isinstance(parsed, str):
            row.errors.append(("record", parsed))
        else:
            row.key, row.draft, row.files = parsed
        return row


def open_reader(path: Path, format: str, encoding: str) -> Reader:
    """A reader of ``path`` (our stored copy, in ``encoding``); :class:`FileProblem` if unreadable."""
    if format == "csv":
        return CsvReader(path, encoding)
    if format == "jsonl":
        return JsonLinesReader(path, encoding)
    if format == "bibtex":
        return BibtexReader(path, encoding)
    if format == "ris":
        return RisReader(path, encoding)
    raise FileProblem(f"unknown format {format!r}: one of {', '.join(FORMATS)}", "format")


def guess_format(filename: str, content_type: str | None = None) -> str | None:
    """The format a file name's extension (or a media type) says."""
    suffix = Path(filename).suffix.lower()
    by_suffix = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                 ".json": "jsonl", ".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    media = (content_type or "").split(";")[0].strip().lower()
    return {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
            "application/x-jsonlines": "jsonl", "application/x-bibtex": "bibtex",
            "application/x-research-info-systems": "ris"}.get(media)

"""The record layout of imports and exports: the deposit record (``WorkIn``) plus a few import
keys, as a JSON Lines object or as one CSV row.

**JSON Lines**: one object per line, exactly the deposit record (:class:`~repo.works.schemas.WorkIn`)
plus the import keys of :class:`ImportKeys` (``external_id``, ``status``, ``withdrawal_reason``,
``files``). An export adds :data:`EXPORT_ONLY` keys (``id`` and the times), which an import ignores.

**CSV**: one column per field, **generated from the models** (:func:`columns`), so the layout
cannot drift from the deposit record:

* a field is a column named by its path, without ``metadata.``: ``type``, ``publication_date``,
  ``journal.title``, ``journal.pages.start``;
* repeated values share one cell, separated by ``||`` (``languages``: ``spa||eng``); a list of
  objects is one column per field of the object, aligned by position (``creators.family``:
  ``Freire||Souza``, ``creators.given``: ``Paulo||Ana``); a list inside a list item separates its
  values with ``|`` (``creators.affiliations.name``: ``CLACSO|UBA||USP``);
* a list of language-tagged values is one column of ``value@lang`` (``titles``:
  ``Educación popular@spa||Popular education@eng``), its other fields columns beside it
  (``titles.type``: ``main||translated``); likewise ``files`` holds the paths and
  ``files.access_right`` their access;
* in the cells of repeated columns ``\\|``, ``\\@`` and ``\\\\`` stand for a literal ``|``, ``@``
  and ``\\``.

Exported cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) — and cells starting with ``'`` — get a leading ``'``
(:func:`neutralise`); the importer takes exactly that apostrophe away again (:func:`restore`) and
refuses a cell that would be a formula.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel, Field, ValidationError, field_validator

from repo.errors import field_path
from repo.files.schemas import FileAccessIn
from repo.works.schemas import Model, Text, WorkIn

LIST = "||"  # separates the values of a repeated field
INNER = "|"  # separates the values of a list inside a list item
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with these as a formula
MAX_FILES = 100


class FileRef(FileAccessIn):
    """A file to attach: its path under the import's files directory (``--files DIR``), and the
    file's own access right if it is not the work's."""

    path: str = Field(min_length=1, max_length=1000, description="Path under --files DIR; the file keeps its name")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ImportKeys(Model):
    """What an import record says besides the deposit record."""

    external_id: str | None = Field(None, min_length=1, max_length=1000, description=(
        "The record's id in the system it comes from: a later import of the same id updates the work"))
    status: Literal["draft", "published", "withdrawn"] | None = Field(None, description=(
        "draft, published or withdrawn (empty: published with --publish, else draft)"))
    withdrawal_reason: Text | None = Field(None, description="Why a withdrawn work was withdrawn")
    files: list[FileRef] = Field(default_factory=list, max_length=MAX_FILES)

    @field_validator("external_id")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("an external id has no control characters")
        return value


#: Keys of an exported record that an import ignores (this repository's id, and times).
EXPORT_ONLY = ("id", "created", "updated", "published", "withdrawn")
IMPORT_KEYS = tuple(ImportKeys.model_fields)


# -- columns, generated from the models ---------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    key: str
    is_list: bool


@dataclass(frozen=True)
class Column:
    """One CSV column: the path of its values in the record, and how a cell holds them."""

    name: str
    parts: tuple[Part, ...]  # from the record's root; a part that is a list adds a level
    tagged: bool = False  # value@lang items of a list of language-tagged objects
    description: str = ""

    @property
    def depth(self) -> int:
        return sum(p.is_list for p in self.parts)

    @property
    def item_keys(self) -> tuple[str, ...]:
        """For a tagged or ``files`` column: the fields of the item its cell holds."""
        return ("value", "lang") if self.tagged else ()


def _unwrap(annotation: Any) -> Any:
    """The type under ``Annotated`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _walk(model: type[BaseModel], parts: tuple[Part, ...], names: tuple[str, ...],
          skip: Sequence[str] = ()) -> Iterator[Column]:
    for key, info in model.model_fields.items():
        if key in skip:
            continue
        annotation = _unwrap(info.annotation)
        is_list = typing.get_origin(annotation) is list
        item = _unwrap(typing.get_args(annotation)[0]) if is_list else annotation
        here = parts + (Part(key, is_list),)
        name = names if key == "metadata" and model is WorkIn else names + (key,)
        if _is_model(item):
            fields = item.model_fields
            if is_list and ("value" in fields and "lang" in fields or key == "files" and "path" in fields):
                tagged = "value" in fields
                cell = "value" if tagged else "path"
                yield Column(".".join(name), here + (() if tagged else (Part(cell, False),)), tagged,
                             fields[cell].description or "")
                yield from _walk(item, here, name, skip=("value", "lang") if tagged else ("path",))
            else:
                yield from _walk(item, here, name)
        else:
            yield Column(".".join(name), here, description=info.description or "")


def _generate() -> tuple[Column, ...]:
    control = list(_walk(ImportKeys, (), ()))
    first = [c for c in control if c.name in ("external_id", "status")]
    rest = [c for c in control if c.name not in ("external_id", "status")]
    found = tuple(first + list(_walk(WorkIn, (), ())) + rest)
    names = [c.name for c in found]
    assert len(names) == len(set(names)), f"two fields make the same column: {names}"
    for column in found:  # a cell holds two levels of lists at most (|| and |)
        assert column.depth <= 2, f"{column.name}: lists nested three deep have no CSV form"
    return found


COLUMNS: tuple[Column, ...] = _generate()
BY_NAME = {c.name: c for c in COLUMNS}
EXPORT_HEADER: tuple[str, ...] = ("id", *(c.name for c in COLUMNS), *EXPORT_ONLY[1:])


def columns(*, files: bool = True) -> tuple[Column, ...]:
    return COLUMNS if files else tuple(c for c in COLUMNS if not c.name.startswith("files"))


# -- cells -----------------------------------------------------------------------------------------------

_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def _escape(text: str, tagged: bool) -> str:
    if "\\" in text or "|" in text:
        text = text.replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("@", "\\@") if tagged and "@" in text else text


def _leaf(column: Column) -> Callable[[Any], str | None]:
    """How the column writes one value it reaches (None: nothing there)."""
    if column.tagged:  # the item of a list of language-tagged values: value@lang
        def tagged(value: Any) -> str | None:
            if not isinstance(value, dict) or value.get("value") is None:
                return None
            lang = value.get("lang")
            return _escape(str(value["value"]), True) + (f"@{lang}" if lang else "")
        return tagged
    return lambda value: None if value is None else _escape(str(value), False)


def _getter(keys: Sequence[str], leaf: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """``leaf`` of the value at ``keys`` (plain keys, no list among them) under an item."""
    if not keys:
        return leaf
    if len(keys) == 1:
        key = keys[0]
        return lambda item: leaf(item.get(key)) if isinstance(item, dict) else None

    def get(item: Any) -> str | None:
        for key in keys:
            if not isinstance(item, dict):
                return None
            item = item.get(key)
        return leaf(item)
    return get


def _joined(values: list[Any]) -> str:
    """A depth-1 cell of plain values: escaped, empty for None, trailing empties trimmed, ``||``."""
    texts = ["" if value is None else value if type(value) is str else str(value) for value in values]
    joined = "".join(texts)
    if "|" in joined or "\\" in joined:
        texts = [_escape(text, False) for text in texts]
    return LIST.join(_trim(texts))


def _list_cell(column: Column, at: int) -> Callable[[list[Any]], str]:
    """A repeated column's cell from the items of its (first) list, ``column.parts[at]``."""
    rest = column.parts[at + 1:]
    leaf = _leaf(column)
    if column.depth == 1 and not column.tagged and len(rest) <= 1:  # the common case, made quick
        if not rest:
            return _joined
        key = rest[0].key
        return lambda items: _joined([item.get(key) if isinstance(item, dict) else None for item in items])
    if column.depth == 1:
        get = _getter([p.key for p in rest], leaf)

        def cell(items: list[Any]) -> str:
            return LIST.join(_trim([get(item) or "" for item in items]))
        return cell
    inner_at = next(i for i, p in enumerate(rest) if p.is_list)
    middle = [p.key for p in rest[:inner_at]]
    inner_key = rest[inner_at].key
    get_inner = _getter([p.key for p in rest[inner_at + 1:]], leaf)

    def nested(items: list[Any]) -> str:
        outer = []
        for item in items:
            for key in middle:
                item = item.get(key) if isinstance(item, dict) else None
            found = item.get(inner_key) if isinstance(item, dict) else None
            outer.append(INNER.join(_trim([get_inner(x) or "" for x in (found or [])])))
        return LIST.join(_trim(outer))
    return nested


@dataclass(frozen=True)
class _Group:
    """Columns read from one place of a record: the dict at ``keys`` (one value each, ``(index, key)``
    in ``plain``) or the list at ``keys`` (``(index, cell of the list)`` in ``lists``)."""

    keys: tuple[str, ...]
    plain: tuple[tuple[int, str], ...] = ()
    lists: tuple[tuple[int, Callable[[list[Any]], str]], ...] = ()


def cell_maker(layout: Sequence[Column] = COLUMNS) -> Callable[[dict[str, Any]], list[str]]:
    """The function giving a record's CSV cells in ``layout``'s order (see :func:`cells`), made once
    for an export: the columns are grouped by the place of the record they read, so that a record
    is walked once per place and a place it does not have (no journal, no funding…) costs one lookup."""
    width = len(layout)
    plain: dict[tuple[str, ...], list[tuple[int, str]]] = {}
    lists: dict[tuple[str, ...], list[tuple[int, Callable[[list[Any]], str]]]] = {}
    for index, column in enumerate(layout):
        keys = [p.key for p in column.parts]
        if column.depth == 0:
            plain.setdefault(tuple(keys[:-1]), []).append((index, keys[-1]))
            continue
        at = next(i for i, p in enumerate(column.parts) if p.is_list)
        lists.setdefault(tuple(keys[:at + 1]), []).append((index, _list_cell(column, at)))
    groups = (*(_Group(k, plain=tuple(v)) for k, v in plain.items()),
              *(_Group(k, lists=tuple(v)) for k, v in lists.items()))

    def make(record: dict[str, Any]) -> list[str]:
        out = [""] * width
        for group in groups:
            value: Any = record
            for key in group.keys:
                value = value.get(key) if isinstance(value, dict) else None
                if value is None:
                    break
            if value is None:
                continue
            if group.plain:
                if isinstance(value, dict):
                    for index, key in group.plain:
                        found = value.get(key)
                        if found is not None:
                            out[index] = str(found)
            else:
                for index, cell in group.lists:
                    out[index] = cell(value)
        return out
    return make


def cells(record: dict[str, Any], layout: Sequence[Column] = COLUMNS) -> list[str]:
    """The CSV cells of a record (deposit record plus import keys), in ``layout``'s order."""
    return cell_maker(layout)(record)


def _trim(items: list[str]) -> list[str]:
    while items and not items[-1]:
        items.pop()  # positions count from the start: trailing empty items say nothing
    return items


def _split(cell: str, column: Column) -> list[list[tuple[str, str | None]]]:
    """A repeated column's cell as items (an inner list per item for depth 2): ``(text, lang)``."""
    outer: list[list[tuple[str, str | None]]] = []
    inner: list[tuple[str, str | None]] = []
    buf: list[str] = []
    at: int | None = None

    def item() -> tuple[str, str | None]:
        text = "".join(buf)
        if at is not None and _LANG.fullmatch(text[at + 1:].strip()):
            return text[:at].strip(), text[at + 1:].strip()
        return text.strip(), None

    i, n = 0, len(cell)
    while i < n:
        char = cell[i]
        if char == "\\" and i + 1 < n and cell[i + 1] in "\\|@":
            buf.append(cell[i + 1])
            i += 2
            continue
        if char == "|" and cell.startswith(LIST, i):
            inner.append(item())
            outer.append(inner)
            inner, buf, at = [], [], None
            i += 2
            continue
        if char == "|" and column.depth == 2:
            inner.append(item())
            buf, at = [], None
            i += 1
            continue
        if char == "@" and column.tagged:
            at = len(buf)
        buf.append(char)
        i += 1
    inner.append(item())
    outer.append(inner)
    return outer


def _place(record: dict[str, Any], parts: Sequence[Part], indexes: Sequence[int], value: Any) -> None:
    """Set ``value`` at ``parts`` in ``record``, the list levels at ``indexes`` (lists grow with {})."""
    target: Any = record
    level = 0
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part.is_list:
            items = target.setdefault(part.key, [])
            if last:  # a list of plain values (languages, isbn…): appended in order
                items.append(value)
                return
            index = indexes[level]
            level += 1
            while len(items) <= index:
                items.append({})
            target = items[index]
        elif last:
            target[part.key] = value
        else:
            target = target.setdefault(part.key, {})


def record_of(header: Sequence[Column | None], row: Sequence[str]) -> dict[str, Any]:
    """The record a CSV row describes (cells already restored: see :func:`restore`)."""
    record: dict[str, Any] = {}
    for column, cell in zip(header, row):
        if column is None or not cell.strip():
            continue
        if column.depth == 0:
            _place(record, column.parts, (), cell.strip())
            continue
        for i, inner in enumerate(_split(cell, column)):
            for j, (text, lang) in enumerate(inner if column.depth == 2 else inner[:1]):
                if not text and not lang:
                    continue
                indexes = (i, j) if column.depth == 2 else (i,)
                if column.tagged:
                    _place(record, column.parts + (Part("value", False),), indexes, text)
                    if lang:
                        _place(record, column.parts + (Part("lang", False),), indexes, lang)
                elif column.parts[-1].is_list and column.depth == 1:
                    _place(record, column.parts, (), text)
                else:
                    _place(record, column.parts, indexes, text)
    return record


# -- formulas --------------------------------------------------------------------------------------------

_NEUTRALISED = "".join(DANGEROUS) + "'"  # first characters that get the apostrophe
assert all(len(start) == 1 for start in DANGEROUS)


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before ``= + - @``, tab, CR (and ``'``)."""
    return "'" + cell if cell and cell[0] in _NEUTRALISED else cell


def restore(cell: str) -> tuple[str, str | None]:
    """``(cell, None)`` with exactly the apostrophe :func:`neutralise` added taken away, or
    ``(cell, problem)`` when the cell would run as a formula."""
    if cell.startswith("'") and cell[1:].startswith((*DANGEROUS, "'")):
        return cell[1:], None
    if cell.startswith(DANGEROUS):
        shown = cell[:20].replace("\t", "\\t").replace("\r", "\\r")
        return cell, (f"the cell starts with {cell[0]!r} ({shown!r}…): a spreadsheet runs it as a formula. "
                      f"Write it with a leading apostrophe ('{cell[0]}…) if it is text")
    return cell, None


# -- names of fields in reports --------------------------------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def column_label(path: str) -> str:
    """A deposit-record field path as the CSV column it comes from: ``metadata.creators[1].orcid``
    → ``creators.orcid (value 2)``."""
    indexes = [int(i) + 1 for i in _INDEX.findall(path)]
    name = _INDEX.sub("", path).removeprefix("metadata.")
    if name == "metadata":
        name = ""
    if name not in BY_NAME:  # a tagged item's value or language, a file's path: the list's own column
        for suffix in (".value", ".lang", ".path"):
            if name.endswith(suffix) and name.removesuffix(suffix) in BY_NAME:
                name = name.removesuffix(suffix)
                break
    where = f" (value {', '.join(map(str, indexes))})" if indexes else ""
    return (name or "row") + where


def import_keys(record: dict[str, Any]) -> tuple[ImportKeys | None, list[tuple[str, str]]]:
    """Take the import keys out of ``record`` (export-only keys too) and validate them."""
    for key in EXPORT_ONLY:
        record.pop(key, None)
    found = {k: record.pop(k) for k in IMPORT_KEYS if k in record}
    if not found:
        return ImportKeys(), []
    try:
        return ImportKeys.model_validate(found), []
    except ValidationError as exc:
        return None, [(field_path(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]


def export_record(work: dict[str, Any]) -> dict[str, Any]:
    """An exported work's keys in their fixed order (absent values left out)."""
    order = ("id", "external_id", "status", "type", "centre", "collections", "access_right", "embargo_end",
             "main_file", "metadata", "withdrawal_reason", "files", "created", "updated", "published", "withdrawn")
    return {k: work[k] for k in order if work.get(k) not in (None, [], "")}


def documentation() -> str:
    """The README's table of CSV columns (a test keeps the README in step with this)."""
    lines = ["| column | holds |", "|---|---|"]
    for column in COLUMNS:
        form = ("`value@lang`, repeated" if column.tagged else
                "repeated (`||`), a list per item (`|`)" if column.depth == 2 else
                "repeated (`||`)" if column.depth == 1 else "one value")
        text = f"{form}{': ' + column.description if column.description else ''}".replace("|", "\\|")
        lines.append(f"| `{column.name}` | {text} |")
    return "\n".join(lines)

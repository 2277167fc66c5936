"""``repo oai check URL``: what a harvester (the openarchives validator, OpenAIRE, LA Referencia,
BASE) would say about an OAI-PMH endpoint, before anyone harvests it.

It asks raw HTTP questions (a harvesting client repairs and hides too much: OAI-PMH.md §4) and
reports findings at four levels: ``error`` (an aggregator refuses or breaks on it), ``warning``
(it complains), ``info`` and ``ok``. The checks follow OAI-PMH.md's checklist: Identify facts
(T3, X4, §4.2), POST (T2), errors as HTTP 200 (T4) without request attributes (X5), formats
(oai_dc offered, unique), sets (``openaire``/``driver``), a sampled or full ListRecords with every
response validated against the official XSDs (X6, with ``validate.py`` from the schemas folder),
datestamps at the declared granularity (D8), tokens (F2, F3, F8, garbage token), dates (D1, D2,
D5, D6), duplicate identifiers, and the DRIVER content of oai_dc records (§2.2–2.3).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
import httpx2
from lxml import etree

from repo.config import Settings
from repo.ingest.client import OAI, PARSER, Budget, HarvestClient
from repo.ingest.harvester import DAY, SECONDS, parse_datestamp

DC = "{http://purl.org/dc/elements/1.1/}"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DRIVER_TYPE = re.compile(r"info:eu-repo/semantics/(article|bachelorThesis|masterThesis|doctoralThesis|book|bookPart|"
                          r"review|conferenceObject|lecture|workingPaper|preprint|report|annotation|"
                          r"contributionToPeriodical|patent|other)$")
_DRIVER_ACCESS = re.compile(r"info:eu-repo/semantics/(openAccess|embargoedAccess|restrictedAccess|closedAccess)$")


@dataclass
class Finding:
    level: str  # error | warning | info | ok
    check: str
    message: str


@dataclass
class Report:
    url: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, check: str, message: str) -> None:
        self.findings.append(Finding(level, check, message))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def summary(self) -> str:
        return (f"{self.url}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) — "
                + ("an aggregator would refuse or break on it." if self.errors else
                   "harvestable" + (", with complaints." if self.warnings else ".")))


def load_validator(folder: Path | None) -> ModuleType | None:
    """``validate.py`` of the official schemas folder (``--schemas`` or ``$REPO_OFFICIAL_SCHEMAS``)."""
    folder = folder or (Path(os.environ["REPO_OFFICIAL_SCHEMAS"]) if os.environ.get("REPO_OFFICIAL_SCHEMAS") else None)
    script = folder / "validate.py" if folder else None
    if script is None or not script.is_file():
        return None
    name = "repo_official_validate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Checker:
    def __init__(self, url: str, settings: Settings, *, schemas: Path | None = None, full: bool = False,
                 pages: int = 3, prefix: str = "oai_dc") -> None:
        self.url, self.full, self.pages, self.prefix = url, full, max(1, pages), prefix
        self.report = Report(url)
        self.validator = load_validator(schemas)
        self.http = HarvestClient(url, settings.model_copy(update={"harvest_retries": 2}),
                                  Budget(time.monotonic() + 3600, 1 << 34, settings.harvest_max_response_bytes, 30)).client
        self.granularity = SECONDS
        self.earliest: datetime | None = None
        self.repository_identifier: str | None = None
        self.invalid_responses = 0

    # -- plumbing ------------------------------------------------------------------------------------

    def get(self, check: str, params: dict[str, str], *, method: str = "GET") -> etree._Element | None:
        """One raw request; transport, HTTP and XML faults become findings. Every answer is validated."""
        try:
            if method == "GET":
                response = self.http.get(self.url, params=params)
            else:
                response = self.http.post(self.url, data=params)
        except httpx2.HTTPError as exc:
            self.report.add("error", check, f"no answer: {exc.__class__.__name__}: {exc}")
            return None
        content_type = response.headers.get("content-type", "")
        try:
            root = etree.fromstring(response.content, PARSER)
        except etree.XMLSyntaxError as exc:
            self.report.add("error", check, f"HTTP {response.status_code}, not well-formed XML: {exc}")
            return None
        if response.status_code != 200:
            self.report.add("error", check, f"HTTP {response.status_code} (OAI-PMH answers, errors too, with 200: "
                            "sickle and pyoai stop at the status, T4)")
        if not content_type.startswith("text/xml"):
            self.report.add("warning", check, f"Content-Type {content_type!r}, not text/xml (T3)")
        if root.tag != OAI + "OAI-PMH":
            self.report.add("error", check, f"the root element is {root.tag}, not OAI-PMH")
            return None
        response_date = root.findtext(OAI + "responseDate") or ""
        if not _SECONDS.fullmatch(response_date.strip()):
            self.report.add("error", check, f"responseDate {response_date!r} is not UTC seconds with Z (X4)")
        if self.validator is not None:
            result = self.validator.validate_bytes(response.content)
            if not result.ok:
                self.invalid_responses += 1
                if self.invalid_responses <= 5:
                    self.report.add("error", check, "not valid against the official schemas: "
                                    + "; ".join(str(e) for e in result.errors[:3])[:600])
        return root

    def errors_of(self, root: etree._Element | None) -> list[str]:
        return [e.get("code", "") for e in root.findall(OAI + "error")] if root is not None else []

    # -- the checks ---------------------------------------------------------------------------------------

    def run(self) -> Report:
        if self.validator is None:
            self.report.add("warning", "schemas", "XSD validation skipped: no official schemas "
                            "(--schemas DIR or REPO_OFFICIAL_SCHEMAS with validate.py)")
        try:
            if self.identify():
                self.post()
                self.errors()
                formats = self.formats()
                self.sets()
                if self.prefix in formats:
                    identifiers = self.records()
                    if identifiers:
                        self.dates(identifiers[0])
                else:
                    self.report.add("error", "ListRecords", f"{self.prefix!r} is not offered: nothing to harvest")
        finally:
            self.http.close()
        return self.report

    def identify(self) -> bool:
        root = self.get("Identify", {"verb": "Identify"})
        element = root.find(OAI + "Identify") if root is not None else None
        if element is None:
            self.report.add("error", "Identify", "no Identify answer: this is not an OAI-PMH endpoint")
            return False
        facts = {tag: (element.findtext(OAI + tag) or "").strip() for tag in
                 ("repositoryName", "baseURL", "protocolVersion", "earliestDatestamp", "deletedRecord", "granularity")}
        if facts["protocolVersion"] != "2.0":
            self.report.add("error", "Identify", f"protocolVersion {facts['protocolVersion']!r}, not 2.0")
        if facts["baseURL"] != self.url:
            self.report.add("warning", "Identify", f"baseURL {facts['baseURL']!r} differs from the URL asked, "
                            f"{self.url!r} (harvesters check they are equal)")
        if facts["granularity"] not in (DAY, SECONDS):
            self.report.add("error", "Identify", f"granularity {facts['granularity']!r} is neither {DAY} nor {SECONDS}")
        self.granularity = SECONDS if facts["granularity"] == SECONDS else DAY
        pattern = _SECONDS if self.granularity == SECONDS else _DAY
        if not pattern.fullmatch(facts["earliestDatestamp"]):
            self.report.add("error", "Identify", f"earliestDatestamp {facts['earliestDatestamp']!r} is not at the "
                            f"declared granularity {self.granularity} (D8)")
        self.earliest = parse_datestamp(facts["earliestDatestamp"])
        if facts["deletedRecord"] not in ("no", "transient", "persistent"):
            self.report.add("error", "Identify", f"deletedRecord {facts['deletedRecord']!r} is not no/transient/persistent")
        elif facts["deletedRecord"] == "no":
            self.report.add("warning", "Identify", "deletedRecord=no: harvesters never learn of deletions (R2)")
        if not element.findall(OAI + "adminEmail"):
            self.report.add("error", "Identify", "no adminEmail")
        description = element.find(f"{OAI}description/{{http://www.openarchives.org/OAI/2.0/oai-identifier}}oai-identifier")
        if description is not None:
            self.repository_identifier = description.findtext("{http://www.openarchives.org/OAI/2.0/oai-identifier}"
                                                              "repositoryIdentifier")
        else:
            self.report.add("info", "Identify", "no oai-identifier description")
        self.report.add("ok", "Identify", f"{facts['repositoryName']!r}, granularity {self.granularity}, "
                        f"deletedRecord {facts['deletedRecord']}, earliest {facts['earliestDatestamp']}")
        return True

    def post(self) -> None:
        root = self.get("POST", {"verb": "Identify"}, method="POST")
        if root is not None and root.find(OAI + "Identify") is None:
            self.report.add("error", "POST", "Identify by POST does not answer Identify (T2): "
                            + ", ".join(self.errors_of(root)))

    def errors(self) -> None:
        root = self.get("errors", {"verb": "junk"})
        if root is None:
            return
        if "badVerb" not in self.errors_of(root):
            self.report.add("error", "errors", f"verb=junk answers {self.errors_of(root) or 'no error'}, not badVerb")
        request = root.find(OAI + "request")
        if request is not None and request.attrib:
            self.report.add("error", "errors", "after badVerb the request element carries attributes (X5)")
        both = self.get("errors", {"verb": "ListRecords", "metadataPrefix": self.prefix, "from": "2020-01-01",
                                   "until": "2020-01-02T00:00:00Z"})
        if both is not None and "badArgument" not in self.errors_of(both):
            self.report.add("error", "dates", "from and until at different granularities are accepted (D1: badArgument)")
        bad = self.get("errors", {"verb": "ListRecords", "metadataPrefix": self.prefix, "from": "yesterday"})
        if bad is not None and "badArgument" not in self.errors_of(bad):
            self.report.add("error", "dates", "from=yesterday is accepted (D2: badArgument)")

    def formats(self) -> dict[str, str]:
        root = self.get("ListMetadataFormats", {"verb": "ListMetadataFormats"})
        formats: dict[str, str] = {}
        namespaces: Counter[str] = Counter()
        for element in root.iter(OAI + "metadataFormat") if root is not None else ():
            prefix = (element.findtext(OAI + "metadataPrefix") or "").strip()
            namespace = (element.findtext(OAI + "metadataNamespace") or "").strip()
            if prefix in formats:
                self.report.add("error", "ListMetadataFormats", f"prefix {prefix!r} listed twice")
            formats[prefix] = namespace
            namespaces[namespace] += 1
        if "oai_dc" not in formats:
            self.report.add("error", "ListMetadataFormats", "oai_dc is not offered (§3.4: it must be)")
        for namespace, count in namespaces.items():
            if count > 1:
                self.report.add("warning", "ListMetadataFormats", f"namespace {namespace} under {count} prefixes")
        if "oai_openaire" not in formats:
            self.report.add("info", "ListMetadataFormats", "no oai_openaire (OpenAIRE Guidelines v4 recommend it)")
        self.report.add("ok", "ListMetadataFormats", ", ".join(sorted(formats)) or "none")
        return formats

    def sets(self) -> None:
        root = self.get("ListSets", {"verb": "ListSets"})
        if root is None:
            return
        if "noSetHierarchy" in self.errors_of(root):
            self.report.add("info", "ListSets", "no sets (OpenAIRE v3 and LA Referencia look for 'openaire'/'driver')")
            return
        specs = [(e.text or "").strip() for e in root.iter(OAI + "setSpec")]
        duplicated = [s for s, n in Counter(specs).items() if n > 1]
        if duplicated:
            self.report.add("error", "ListSets", f"setSpecs listed twice: {', '.join(duplicated[:5])} (S3)")
        if not {"openaire", "driver"} & set(specs):
            self.report.add("warning", "ListSets", "neither an 'openaire' nor a 'driver' set (OpenAIRE v3, LA Referencia)")
        self.report.add("ok", "ListSets", f"{len(specs)} set(s) on the first page")

    def records(self) -> list[tuple[str, str]]:
        """Walk ListRecords (a sample of pages, or all of it): (identifier, datestamp) of what was seen."""
        params = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        seen: list[tuple[str, str]] = []
        problems: Counter[str] = Counter()
        examples: dict[str, str] = {}
        pages, first_token, last_token_element = 0, None, None
        pattern = _SECONDS if self.granularity == SECONDS else _DAY
        while True:
            root = self.get("ListRecords", params)
            if root is None:
                return seen
            codes = self.errors_of(root)
            if codes:
                level = "warning" if codes == ["noRecordsMatch"] and pages == 0 else "error"
                self.report.add(level, "ListRecords", f"ListRecords answers {', '.join(codes)}")
                return seen
            pages += 1
            for record in root.iterfind(f"{OAI}ListRecords/{OAI}record"):
                header = record.find(OAI + "header")
                identifier = (header.findtext(OAI + "identifier") or "").strip() if header is not None else ""
                datestamp = (header.findtext(OAI + "datestamp") or "").strip() if header is not None else ""
                seen.append((identifier, datestamp))
                if not pattern.fullmatch(datestamp):
                    problems["datestamp"] += 1
                    examples.setdefault("datestamp", f"{identifier}: {datestamp!r}")
                if (self.repository_identifier and identifier.startswith("oai:")
                        and identifier.split(":")[1] != self.repository_identifier):
                    problems["identifier"] += 1
                    examples.setdefault("identifier", identifier)
                deleted = header is not None and header.get("status") == "deleted"
                metadata = record.find(OAI + "metadata")
                if deleted and metadata is not None:
                    problems["deleted with metadata"] += 1
                    examples.setdefault("deleted with metadata", identifier)
                if not deleted and metadata is None:
                    problems["no metadata"] += 1
                    examples.setdefault("no metadata", identifier)
                if metadata is not None and len(metadata) and not isinstance(metadata[0].tag, str):
                    problems["comment before payload"] += 1  # sickle and scythe read nothing (X8)
                    examples.setdefault("comment before payload", identifier)
                if not deleted and metadata is not None:
                    self.driver(record, problems, examples, identifier)
            token = root.find(f"{OAI}ListRecords/{OAI}resumptionToken")
            last_token_element = token
            text = (token.text or "").strip() if token is not None else ""
            if pages == 1:
                first_token = text or None
                if token is not None and not text:
                    self.report.add("error", "tokens", "an empty resumptionToken on a list that fits one page (F3)")
                if token is not None and token.get("cursor") not in (None, "0"):
                    self.report.add("error", "tokens", f"the first page's cursor is {token.get('cursor')}, not 0 (F4)")
            if not text or (not self.full and pages >= self.pages):
                break
            params = {"verb": "ListRecords", "resumptionToken": text}
        finished = not (last_token_element is not None and (last_token_element.text or "").strip())
        if finished and pages > 1 and last_token_element is None:
            self.report.add("error", "tokens", "the last page of a multi-page list has no empty resumptionToken (F2)")
        counts = Counter(i for i, _ in seen)
        repeated = [i for i, n in counts.items() if n > 1]
        if repeated:
            self.report.add("error", "ListRecords", f"{len(repeated)} identifier(s) returned twice, e.g. {repeated[0]}")
        labels = {"datestamp": ("error", "datestamps not at the declared granularity (D8)"),
                  "identifier": ("warning", "identifiers that do not use the repositoryIdentifier"),
                  "deleted with metadata": ("error", "deleted records with metadata (§2.5.1)"),
                  "no metadata": ("error", "records without metadata that are not deleted"),
                  "comment before payload": ("error", "a comment before the metadata payload (sickle/scythe read {})"),
                  "title": ("warning", "oai_dc without dc:title"), "creator": ("warning", "oai_dc without dc:creator"),
                  "date": ("warning", "oai_dc without a dc:date starting with a year"),
                  "type": ("warning", "oai_dc whose first dc:type is not an info:eu-repo/semantics type"),
                  "rights": ("warning", "oai_dc without an info:eu-repo access right in dc:rights"),
                  "url": ("warning", "oai_dc without a dc:identifier URL"),
                  "language": ("warning", "oai_dc whose dc:language is not ISO 639-3")}
        for key, n in problems.items():
            level, label = labels[key]
            self.report.add(level, "records" if key in ("datestamp", "identifier", "deleted with metadata",
                                                         "no metadata", "comment before payload") else "DRIVER",
                            f"{n} of {len(seen)} record(s): {label}; e.g. {examples.get(key, '')}")
        scope = "the whole list" if finished else f"a sample of {pages} page(s)"
        self.report.add("ok", "ListRecords", f"{len(seen)} record(s) in {scope}")
        if first_token:
            self.again(first_token)
        return seen

    def driver(self, record: etree._Element, problems: Counter[str], examples: dict[str, str], identifier: str) -> None:
        """The DRIVER / OpenAIRE 3 content LA Referencia checks (OAI-PMH.md §2.2–2.3), for oai_dc."""
        payload = record.find(f"{OAI}metadata/{{{OAI_DC_NS}}}dc")
        if payload is None:
            return

        def values(name: str) -> list[str]:
            return [(e.text or "").strip() for e in payload.iter(DC + name)]

        checks = {
            "title": bool(values("title")),
            "creator": bool(values("creator")),
            "date": any(re.match(r"\d{4}", v) for v in values("date")),
            "type": bool(values("type")) and bool(_DRIVER_TYPE.match(values("type")[0])),
            "rights": any(_DRIVER_ACCESS.match(v) for v in values("rights")),
            "url": any(v.startswith(("http://", "https://")) for v in values("identifier")),
            "language": all(re.fullmatch(r"[a-z]{3}", v) for v in values("language")) and bool(values("language")),
        }
        for key, good in checks.items():
            if not good:
                problems[key] += 1
                examples.setdefault(key, identifier)

    def again(self, token: str) -> None:
        """F8: a token issued earlier gives the same page again; a garbage token is badResumptionToken."""
        first = self.get("tokens", {"verb": "ListRecords", "resumptionToken": token})
        second = self.get("tokens", {"verb": "ListRecords", "resumptionToken": token})
        if first is not None and second is not None:
            ids = [[e.text for e in r.iter(OAI + "identifier")] for r in (first, second)]
            if ids[0] != ids[1] or self.errors_of(first):
                self.report.add("error", "tokens", "the same resumptionToken twice gives different pages (F8)")
        garbage = self.get("tokens", {"verb": "ListRecords", "resumptionToken": "not-a-token-at-all"})
        if garbage is not None and "badResumptionToken" not in self.errors_of(garbage):
            self.report.add("error", "tokens", f"a garbage token answers {self.errors_of(garbage) or 'records'}, "
                            "not badResumptionToken")

    def dates(self, first: tuple[str, str]) -> None:
        identifier, datestamp = first
        if parse_datestamp(datestamp) is not None:
            root = self.get("dates", {"verb": "ListIdentifiers", "metadataPrefix": self.prefix,
                                      "from": datestamp, "until": datestamp})
            found = [e.text for e in root.iter(OAI + "identifier")] if root is not None else []
            if identifier not in found and root is not None and not root.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken"):
                self.report.add("error", "dates", f"from = until = {datestamp} does not return {identifier} "
                                "(D5: the bounds are inclusive)")
        if self.earliest is not None:
            before = self.earliest - timedelta(days=366)
            until = before.strftime("%Y-%m-%d") if self.granularity == DAY else before.strftime("%Y-%m-%dT%H:%M:%SZ")
            root = self.get("dates", {"verb": "ListIdentifiers", "metadataPrefix": self.prefix, "until": until})
            if root is not None and "noRecordsMatch" not in self.errors_of(root):
                self.report.add("error", "dates", f"until a year before earliestDatestamp ({until}) is not "
                                "noRecordsMatch (D6)")

"""The OAI-PMH client a harvest uses: oaipmh-scythe, wrapped for what real endpoints do.

scythe speaks the protocol (requests, OAI error codes as exceptions, following resumption
tokens, retrying 503 and transport errors with back-off); :class:`HarvestClient` adds:

* **XML parsed strictly and safely**: never recovered (scythe's parser silently repairs broken
  XML), no entity ever resolved, no DTD or network fetched, libxml2's size limits kept
  (``huge_tree=False``); each response parsed once, not once per look;
* **Retry-After** honoured in both of its forms (delta-seconds and HTTP-date; scythe's own
  ``int()`` raises on the date form), capped, and never past the run's deadline;
* a **budget**: every response is read in chunks with a byte limit and the run's deadline checked
  as bytes arrive (a source that answers slowly cannot hold a run), and the run's total bytes counted.

Page-by-page control (persisting the token, detecting token loops, restarting a window on a bad
token) belongs to :mod:`repo.ingest.harvester`; this module only fetches and parses.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe.config import HTTPConfig, RetryConfig
from oaipmh_scythe.iterator import OAIResponseIterator
from oaipmh_scythe.response import OAIResponse

from repo import __version__
from repo.config import Settings

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI = f"{{{OAI_NS}}}"

#: Never recover, never resolve an entity, never read a DTD or the network, keep libxml2's limits.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                         remove_blank_text=True, recover=False)


class BudgetExceeded(Exception):
    """The run's time or size budget is used up (the run stops, resumable)."""


class ResponseTooLarge(Exception):
    """One response is larger than ``harvest_max_response_bytes``."""


@dataclass
class Budget:
    """What one run may still spend: a deadline (monotonic clock) and bytes."""

    deadline: float
    max_bytes: int
    max_response_bytes: int
    max_retry_after: float
    used_bytes: int = 0

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(time.monotonic() + settings.harvest_max_seconds, settings.harvest_max_bytes,
                   settings.harvest_max_response_bytes, settings.harvest_max_retry_after_seconds)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check_time(self) -> None:
        if self.remaining() <= 0:
            raise BudgetExceeded("the run's time budget is used up")


class StrictResponse(OAIResponse):
    """A response whose XML is parsed once, with :data:`PARSER`."""

    _tree: Any = None

    @property
    def xml(self) -> etree._Element:  # type: ignore[override]
        if self._tree is None:
            self._tree = etree.fromstring(self.http_response.content, PARSER)
        return self._tree


class HarvestClient(Scythe):
    """scythe with a strict parser, a bounded read and Retry-After kept within the budget."""

    def __init__(self, endpoint: str, settings: Settings, budget: Budget) -> None:
        super().__init__(
            endpoint, iterator=OAIResponseIterator,
            http_config=HTTPConfig(timeout=settings.harvest_timeout_seconds,
                                   user_agent=f"repo-harvester/{__version__} (+{settings.base_url})"),
            retry_config=RetryConfig(max_retries=settings.harvest_retries,
                                     retry_status_codes=(429, 500, 502, 503, 504),
                                     default_retry_after=max(1.0, settings.harvest_backoff_seconds),
                                     retry_on_transport_error=True,
                                     initial_backoff=settings.harvest_backoff_seconds),
        )
        self.budget = budget

    # -- the three hooks into scythe ------------------------------------------------------------------

    def harvest(self, query: dict[str, str]) -> OAIResponse:
        """One request (retried by scythe), its OAI errors raised, its XML parsed strictly."""
        self.budget.check_time()
        http_response = self._request_with_retry(query)
        response = StrictResponse(http_response, params=query)
        response.raise_for_oaipmh_error()
        http_response.raise_for_status()
        return response

    def _request(self, query: dict[str, str]) -> httpx2.Response:
        """Read the answer in chunks: at most ``max_response_bytes``, and not past the deadline."""
        self.budget.check_time()
        if self.http_method == "GET":
            request = self.client.build_request("GET", self.endpoint, params=query)
        else:
            request = self.client.build_request("POST", self.endpoint, data=query)
        streamed = self.client.send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in streamed.iter_bytes():
                size += len(chunk)
                if size > self.budget.max_response_bytes:
                    raise ResponseTooLarge(f"a response larger than {self.budget.max_response_bytes:,} bytes")
                if self.budget.used_bytes + size > self.budget.max_bytes:
                    raise BudgetExceeded(f"the run's size budget of {self.budget.max_bytes:,} bytes is used up")
                if self.budget.remaining() <= 0:
                    raise BudgetExceeded("the run's time budget ran out while a response was arriving")
                chunks.append(chunk)
        finally:
            streamed.close()
        self.budget.used_bytes += size
        headers = [(k, v) for k, v in streamed.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx2.Response(streamed.status_code, headers=headers, content=b"".join(chunks), request=request)

    def _get_retry_after(self, http_response: httpx2.Response) -> float:
        """Retry-After as seconds or as an HTTP-date (RFC 9110 §10.2.3), capped; a wait the run
        cannot afford ends it now (resumable) instead of sleeping past its deadline."""
        wait = retry_after(http_response.headers.get("retry-after"), datetime.now(UTC))
        if wait is None:
            wait = self.default_retry_after
        wait = min(wait, self.budget.max_retry_after)
        if wait >= self.budget.remaining():
            raise BudgetExceeded(f"the source asks to come back in {wait:.0f} s, past the run's time budget")
        return wait


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header value (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# -- reading responses --------------------------------------------------------------------------------

def text(parent: etree._Element, tag: str) -> str | None:
    found = next(parent.iterchildren(OAI + tag), None)  # find()'s first child of that name, without ElementPath
    return found.text.strip() if found is not None and found.text else None


def resumption_token(root: etree._Element) -> etree._Element | None:
    """The list's ``<resumptionToken>`` (§3.5: a child of the verb's element, after the items)."""
    for verb in root:
        if isinstance(verb.tag, str) and verb.tag.startswith(OAI) and verb.tag != OAI + "request":
            found = verb.find(OAI + "resumptionToken")
            if found is not None:
                return found
    return None

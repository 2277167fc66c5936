"""One exception class per OAI-PMH error code (OAI-PMH §3.6).

An ``OAIError`` is rendered as an ``<error code=...>`` element in an HTTP 200 response, never as
an HTTP error status (§3.1.2: harvesters such as sickle raise on 4xx/5xx before reading the XML).
``echo_arguments`` says whether the ``<request>`` element may carry the request's arguments:
§3.2 forbids attributes after badVerb and badArgument.
"""

from __future__ import annotations


class OAIError(Exception):
    code: str = ""
    echo_arguments: bool = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadArgument(OAIError):
    code, echo_arguments = "badArgument", False


class BadVerb(OAIError):
    code, echo_arguments = "badVerb", False


class BadResumptionToken(OAIError):
    code = "badResumptionToken"


class CannotDisseminateFormat(OAIError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    code = "idDoesNotExist"


class NoRecordsMatch(OAIError):
    code = "noRecordsMatch"


class NoMetadataFormats(OAIError):
    code = "noMetadataFormats"


class NoSetHierarchy(OAIError):
    code = "noSetHierarchy"

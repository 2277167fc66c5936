"""Every mapped class, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from repo.centres.models import Collection, MemberCentre
from repo.db import Base
from repo.deposit.models import ApiToken, IdempotencyRecord, token_centres
from repo.files.models import File
from repo.imports.models import Import, ImportProblem
from repo.ingest.models import HarvestRun, HarvestSource, IngestProblem, IngestRecord, WorkIdentifier
from repo.oai.models import CachedRecord, Generation, RenderRequest, SetCount
from repo.search.models import OutboxEntry
from repo.web.models import StoredAggregate
from repo.worker.models import Lease
from repo.works.models import Revision, Work, work_collections

__all__ = [
    "ApiToken",
    "Base",
    "CachedRecord",
    "Collection",
    "File",
    "Generation",
    "HarvestRun",
    "HarvestSource",
    "IdempotencyRecord",
    "Import",
    "ImportProblem",
    "IngestProblem",
    "IngestRecord",
    "Lease",
    "MemberCentre",
    "OutboxEntry",
    "RenderRequest",
    "Revision",
    "SetCount",
    "StoredAggregate",
    "Work",
    "WorkIdentifier",
    "token_centres",
    "work_collections",
]

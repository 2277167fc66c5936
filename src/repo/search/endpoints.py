"""HTTP endpoints of the search package (routes are registered in repo.app)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from repo.context import Context, get_context
from repo.errors import PROBLEM_JSON
from repo.search import service
from repo.search.backend import SearchBackend, get_backend
from repo.search.schemas import SearchQuery, SearchResult

router = APIRouter(tags=["search"])

_PROBLEM = {"content": {PROBLEM_JSON: {}}, "description": "Invalid parameter (problem+json with the field at fault)"}


@router.get(
    "/api/search",
    response_model=SearchResult,
    summary="Search works: free text, filters, facets, highlights",
    description=(
        "Free text `q`: words (all required), `\"a phrase\"`, `-excluded`, `a OR b`, `(groups)`, `educa*` "
        "(truncation, 3 letters or more), `title:`, `author:`, `subject:`, `abstract:`, `fulltext:`. Case- and "
        "accent-insensitive, stemmed in Spanish, Portuguese, English and French. A query with nothing to search "
        "for is a 422. Only what the caller may read: anonymous readers see published works, and full text only "
        "where it is open now. Unknown parameters are a 422."
    ),
    responses={422: _PROBLEM, 401: _PROBLEM},
)
def search(
    query: Annotated[SearchQuery, Query()],
    ctx: Context = Depends(get_context),
    backend: SearchBackend = Depends(get_backend),
) -> SearchResult:
    return service.search(ctx, query, backend=backend)

"""Member centres and collections: anyone lists, administrators create and update."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from repo.centres import service
from repo.centres.schemas import (
    CentreIn,
    CentreOut,
    CentreUpdate,
    CollectionIn,
    CollectionOut,
    CollectionUpdate,
)
from repo.context import Context, get_context, get_user_context
from repo.deposit.endpoints import PROBLEMS
from repo.deposit.idempotency import Idempotency, idempotency

router = APIRouter(prefix="/api", tags=["centres and collections"], responses=PROBLEMS)


@router.get("/centres", response_model=list[CentreOut])
def list_centres(ctx: Context = Depends(get_context)) -> list[CentreOut]:
    return [service.centre_out(c) for c in service.list_centres(ctx)]


@router.post("/centres", status_code=201, response_model=CentreOut)
def create_centre(data: CentreIn, ctx: Context = Depends(get_user_context), idem: Idempotency = Depends(idempotency)) -> Response:
    return idem.run(201, lambda: (service.centre_out(service.create_centre(ctx, data)), {}))


@router.get("/centres/{slug}", response_model=CentreOut)
def get_centre(slug: str, ctx: Context = Depends(get_context)) -> CentreOut:
    return service.centre_out(service.get_centre(ctx, slug))


@router.patch("/centres/{slug}", response_model=CentreOut)
def update_centre(slug: str, data: CentreUpdate, ctx: Context = Depends(get_user_context)) -> CentreOut:
    return service.centre_out(service.update_centre(ctx, slug, data))


@router.get("/collections", response_model=list[CollectionOut])
def list_collections(ctx: Context = Depends(get_context)) -> list[CollectionOut]:
    return [service.collection_out(c) for c in service.list_collections(ctx)]


@router.post("/collections", status_code=201, response_model=CollectionOut)
def create_collection(data: CollectionIn, ctx: Context = Depends(get_user_context),
                      idem: Idempotency = Depends(idempotency)) -> Response:
    return idem.run(201, lambda: (service.collection_out(service.create_collection(ctx, data)), {}))


@router.get("/collections/{slug}", response_model=CollectionOut)
def get_collection(slug: str, ctx: Context = Depends(get_context)) -> CollectionOut:
    return service.collection_out(service.get_collection(ctx, slug))


@router.patch("/collections/{slug}", response_model=CollectionOut)
def update_collection(slug: str, data: CollectionUpdate, ctx: Context = Depends(get_user_context)) -> CollectionOut:
    return service.collection_out(service.update_collection(ctx, slug, data))

"""Member centres and collections: created and changed by administrators, read by anyone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from repo.centres.models import Collection, MemberCentre
from repo.centres.schemas import (
    CentreIn,
    CentreOut,
    CentreUpdate,
    CollectionIn,
    CollectionOut,
    CollectionUpdate,
)
from repo.context import Context
from repo.db import lock_for_write
from repo.errors import Conflict, FieldError, NotFound, Unprocessable
from repo.works import repository

E = TypeVar("E", MemberCentre, Collection)


def centre_out(centre: MemberCentre) -> CentreOut:
    return CentreOut(slug=centre.slug, name=centre.name, country=centre.country, ror=centre.ror,
                     description=centre.description, created=centre.created_at, updated=centre.updated_at)


def collection_out(collection: Collection) -> CollectionOut:
    return CollectionOut(
        slug=collection.slug, path=collection.path, set_spec=f"collection:{collection.path}",
        name=collection.name, description=collection.description,
        parent=collection.parent.slug if collection.parent else None,
        centre=collection.centre.slug if collection.centre else None,
        created=collection.created_at, updated=collection.updated_at,
    )


def list_centres(ctx: Context) -> Sequence[MemberCentre]:
    return ctx.session.scalars(sa.select(MemberCentre).order_by(MemberCentre.slug)).all()


def get_centre(ctx: Context, slug: str) -> MemberCentre:
    centre = repository.centre_by_slug(ctx.session, slug)
    if centre is None:
        raise NotFound(f"No member centre '{slug}'.")
    return centre


def create_centre(ctx: Context, data: CentreIn) -> MemberCentre:
    ctx.principal.require_admin()
    lock_for_write(ctx.session)  # the check below holds until the insert (a race on PostgreSQL: 409 too)
    if repository.centre_by_slug(ctx.session, data.slug) is not None:
        raise Conflict(f"A member centre '{data.slug}' exists already.")
    centre = MemberCentre(**data.model_dump(), created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(centre)
    ctx.session.flush()
    return centre


def update_centre(ctx: Context, slug: str, data: CentreUpdate) -> MemberCentre:
    ctx.principal.require_admin()
    return _update(get_centre(ctx, slug), data, ctx)


def list_collections(ctx: Context) -> Sequence[Collection]:
    return ctx.session.scalars(sa.select(Collection).order_by(Collection.path)).all()


def get_collection(ctx: Context, slug: str) -> Collection:
    collection = repository.collection_by_slug(ctx.session, slug)
    if collection is None:
        raise NotFound(f"No collection '{slug}'.")
    return collection


def create_collection(ctx: Context, data: CollectionIn) -> Collection:
    ctx.principal.require_admin()
    lock_for_write(ctx.session)
    if repository.collection_by_slug(ctx.session, data.slug) is not None:
        raise Conflict(f"A collection '{data.slug}' exists already.")
    parent = centre = None
    if data.parent:
        parent = repository.collection_by_slug(ctx.session, data.parent)
        if parent is None:
            raise Unprocessable("Unknown parent.", errors=[FieldError("parent", f"no collection '{data.parent}'")])
    if data.centre:
        centre = repository.centre_by_slug(ctx.session, data.centre)
        if centre is None:
            raise Unprocessable("Unknown centre.", errors=[FieldError("centre", f"no centre '{data.centre}'")])
    collection = Collection(
        slug=data.slug, name=data.name, description=data.description,
        path=f"{parent.path}:{data.slug}" if parent else data.slug,
        parent=parent, centre=centre, created_at=ctx.now, updated_at=ctx.now,
    )
    ctx.session.add(collection)
    ctx.session.flush()
    return collection


def update_collection(ctx: Context, slug: str, data: CollectionUpdate) -> Collection:
    ctx.principal.require_admin()
    return _update(get_collection(ctx, slug), data, ctx)


def _update(entity: E, data: BaseModel, ctx: Context) -> E:
    """Apply the fields the client sent; ``name`` may change but not disappear."""
    for key, value in data.model_dump(exclude_unset=True).items():
        if key == "name" and value is None:
            raise Unprocessable("The name cannot be removed.", errors=[FieldError("name", "required")])
        setattr(entity, key, value)
    entity.updated_at = ctx.now
    return entity

"""API payloads of member centres and collections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from repo.works.schemas import ROR, Country, LongText, Model, Slug, Text


class CentreIn(Model):
    slug: Slug
    name: Text
    country: Country | None = None
    ror: ROR | None = None
    description: LongText | None = None


class CentreUpdate(Model):
    name: Text | None = None
    country: Country | None = None
    ror: ROR | None = None
    description: LongText | None = None


class CentreOut(BaseModel):
    slug: str
    name: str
    country: str | None
    ror: str | None
    description: str | None
    created: datetime
    updated: datetime


class CollectionIn(Model):
    slug: Slug
    name: Text
    description: LongText | None = None
    parent: Slug | None = Field(None, description="Slug of the parent collection")
    centre: Slug | None = Field(None, description="Slug of the owning centre, if any")


class CollectionUpdate(Model):
    name: Text | None = None
    description: LongText | None = None


class CollectionOut(BaseModel):
    slug: str
    path: str
    set_spec: str
    name: str
    description: str | None
    parent: str | None
    centre: str | None
    created: datetime
    updated: datetime

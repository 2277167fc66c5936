"""HTTP endpoints of the oai package (routes are registered in repo.app)."""

from fastapi import APIRouter

router = APIRouter()

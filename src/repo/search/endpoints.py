"""HTTP endpoints of the search package (routes are registered in repo.app)."""

from fastapi import APIRouter

router = APIRouter()

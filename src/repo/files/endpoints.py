"""HTTP endpoints of the files package (routes are registered in repo.app)."""

from fastapi import APIRouter

router = APIRouter()

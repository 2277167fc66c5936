"""HTTP endpoints of the web package (routes are registered in repo.app)."""

from fastapi import APIRouter

router = APIRouter()

"""Bulk import and export of works in files: CSV, JSON Lines, BibTeX and RIS in; JSON
Lines and CSV out.

Import is one more channel of the ingest path (:mod:`repo.ingest.pipeline`, DESIGN.md §9): only
*how records arrive* is here — the readers (:mod:`.readers`), the record layout (:mod:`.layout`),
the import's state and report (:mod:`.models`), the run in committed batches (:mod:`.jobs`:
resumable, idempotent). Validation (the deposit rules, strictly), duplicate matching (external id,
DOI, handle, ISBN), the upsert through :mod:`repo.works.service` and the provenance are the
pipeline's. :mod:`.export` writes every work back in the same layout, so that an export imports
into an empty repository as the same works.

A package of its own beside ``ingest/`` (not inside it): harvesting owns ``ingest/``, and an
import has its own endpoints, CLI, tables and job, in the house's file vocabulary.
"""

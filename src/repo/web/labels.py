"""Interface labels of vocabulary values, marked for translation (shown through ``_()``)."""

from __future__ import annotations

from repo.web.i18n import N_

TYPES: dict[str, str] = {
    "book": N_("Book"),
    "book_part": N_("Book chapter"),
    "working_paper": N_("Working paper"),
    "journal_article": N_("Journal article"),
    "lecture": N_("Lecture"),
    "conference_paper": N_("Conference paper"),
    "report": N_("Report"),
    "doctoral_thesis": N_("Doctoral thesis"),
    "master_thesis": N_("Master's thesis"),
    "bachelor_thesis": N_("Bachelor's thesis"),
    "review": N_("Review"),
    "preprint": N_("Preprint"),
    "sound": N_("Sound"),
    "video": N_("Video"),
    "image": N_("Image"),
    "other": N_("Other"),
}

ACCESS: dict[str, str] = {
    "open": N_("Open access"),
    "embargoed": N_("Embargoed"),
    "restricted": N_("Restricted access"),
    "metadata_only": N_("Metadata only"),
}

ROLES: dict[str, str] = {
    "author": N_("Author"),
    "editor": N_("Editor"),
    "translator": N_("Translator"),
    "compiler": N_("Compiler"),
    "interviewer": N_("Interviewer"),
    "interviewee": N_("Interviewee"),
    "speaker": N_("Speaker"),
    "photographer": N_("Photographer"),
    "director": N_("Director"),
    "producer": N_("Producer"),
    "supervisor": N_("Supervisor"),
    "other": N_("Contributor"),
}

VERSIONS: dict[str, str] = {
    "AO": N_("Author's original"),
    "SMUR": N_("Submitted manuscript under review"),
    "AM": N_("Accepted manuscript"),
    "P": N_("Proof"),
    "VoR": N_("Version of record"),
    "CVoR": N_("Corrected version of record"),
    "EVoR": N_("Enhanced version of record"),
    "NA": N_("Not applicable"),
}

SORTS: dict[str, str] = {
    "relevance": N_("Relevance"),
    "newest": N_("Newest"),
    "oldest": N_("Oldest"),
    "title": N_("Title"),
}

FACETS: dict[str, str] = {
    "type": N_("Type"),
    "language": N_("Language"),
    "year": N_("Year"),
    "centre": N_("Member centre"),
    "collection": N_("Collection"),
    "access": N_("Access"),
}

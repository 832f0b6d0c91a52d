"""The query parameters every paged list takes (API.md: "Lists are paged")."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from application.paging import MAX_LIMIT

CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"

# The bounds are documented, not enforced by Litestar (which would answer 400): above MAX_LIMIT is a 422.
Limit = Annotated[
    int,
    Parameter(
        description=f"Items per page, 1 to {MAX_LIMIT} (more: 422).",
        schema_extra={"minimum": 1, "maximum": MAX_LIMIT},
    ),
]
PageCursor = Annotated[
    str | None,
    Parameter(
        description="`next_cursor` of the previous page, as given (opaque; anything else: 400).",
        pattern=CURSOR_PATTERN,
        max_length=512,
    ),
]

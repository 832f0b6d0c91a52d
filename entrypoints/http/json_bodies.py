"""Bodies of the JSON routes: JSON media types only, and JSON however broken is a 400, never a crash."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, SerializationException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class JsonBodyRequest(Request[Any, Any, Any]):
    """Litestar's request, reading a JSON body only when it is declared as JSON (415 otherwise).

    The decoder's own failures on hostile bodies (bytes that are not UTF-8, arrays nested deeper than
    its recursion allows) become malformed JSON, which Litestar answers with a 400 problem.
    """

    async def json(self) -> Any:
        media_type, _ = self.content_type
        if not is_json(media_type):
            stated = f"not {media_type}" if media_type else "but the request has no Content-Type"
            raise HTTPException(
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"send the body as application/json, {stated}"
            )
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise SerializationException("JSON is malformed: the body is not UTF-8") from None
        except RecursionError:
            raise SerializationException("JSON is malformed: it is nested too deeply") from None

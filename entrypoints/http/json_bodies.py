"""Bodies of the JSON routes: JSON media types only, and JSON however broken is a 400, never a crash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, SerializationException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

_EXACT_NUMBERS = msgspec.json.Decoder(float_hook=Decimal)


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class JsonBodyRequest(Request[Any, Any, Any]):
    """Litestar's request, reading a JSON body only when it is declared as JSON (415 otherwise).

    Numbers with a fraction or an exponent are read as exact Decimals, never as floats: an amount sent as
    a JSON number keeps every digit it was written with. The decoder's own failures on hostile bodies
    (bytes that are not UTF-8, arrays nested deeper than its recursion allows) become malformed JSON,
    which Litestar answers with a 400 problem.
    """

    async def json(self) -> Any:
        media_type, _ = self.content_type
        if not is_json(media_type):
            stated = f"not {media_type}" if media_type else "but the request has no Content-Type"
            raise HTTPException(
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"send the body as application/json, {stated}"
            )
        body = await self.body()
        try:
            return _EXACT_NUMBERS.decode(body or b"null")
        except msgspec.DecodeError as error:
            raise SerializationException(str(error)) from None
        except UnicodeDecodeError:
            raise SerializationException("JSON is malformed: the body is not UTF-8") from None
        except RecursionError:
            raise SerializationException("JSON is malformed: it is nested too deeply") from None

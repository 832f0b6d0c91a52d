"""A closed-loop HTTP load: `concurrency` clients, each sending its next request when the last one answered.

The clients speak plain HTTP/1.1 over asyncio streams, one kept-alive connection each: a general-purpose
client (httpx) costs more CPU per request than the server's trivial endpoint on this machine, and would
measure itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks._stats import Run


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Check = Callable[[int, bytes], bool]  # (status, body) -> the answer is what was expected


def drive(base_url: str, requests: Iterable[Request], concurrency: int, ok: Check | None = None) -> Run:
    """Send every request, `concurrency` at a time over kept-alive connections; a latency per request.

    `requests` may be a generator: each request is made just before it is sent (webhook signatures stay fresh).
    """
    return asyncio.run(_drive(base_url, iter(requests), concurrency, ok or _success))


async def _drive(base_url: str, queue: Iterator[Request], concurrency: int, ok: Check) -> Run:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    failures = 0

    async def client_loop() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in queue:  # one shared iterator: each request is sent once, by whichever client is free
                started = time.perf_counter()
                writer.write(_encode(request, parts.netloc))
                status, body, close = await _response(reader)
                latencies.append(time.perf_counter() - started)
                if not ok(status, body):
                    failures += 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return Run(latencies, time.perf_counter() - started, failures)


def _encode(request: Request, netloc: str) -> bytes:
    body = request.content or b""
    lines = [f"{request.method} {request.path} HTTP/1.1", f"host: {netloc}", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server closes the connection) of the next response."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() == "close"


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return b"".join(chunks)


def _success(status: int, _: bytes) -> bool:
    return 200 <= status < 300

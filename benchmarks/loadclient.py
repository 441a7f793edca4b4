"""A small closed-loop HTTP load generator: N concurrent keep-alive clients on asyncio streams.

Each client holds one HTTP/1.1 connection and sends its next request as soon as the previous
answer arrived, for a fixed time after a warm-up; the result is throughput and latency
percentiles. Plain asyncio streams rather than httpx's AsyncClient: on these machines the latter
took 5–7 ms per request on its own (raw streams: 0.15 ms), so it would have measured itself.
The client still shares the machine with the server, equally for the baseline and the endpoint
measured, which is why benchmarks/scale.py reports their ratio.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def _requests(url: str, bodies: list[dict], headers: dict) -> list[bytes]:
    parts = urlsplit(url)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    out = []
    for body in bodies:
        data = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n"
        )
        out.append(head.encode() + data)
    return out


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


async def _run(
    url: str, bodies: list[dict], headers: dict, clients: int, warmup: float, seconds: float, check
) -> LoadResult:
    parts = urlsplit(url)
    requests = itertools.cycle(_requests(url, bodies, headers))
    result = LoadResult(seconds=seconds)
    start = time.perf_counter() + warmup
    stop = start + seconds

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while (now := time.perf_counter()) < stop:
                try:
                    status, body = await _exchange(reader, writer, next(requests))
                    problem = None if status == 200 and check(body) else f"HTTP {status}"
                except (OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
                    problem = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                done = time.perf_counter()
                if now >= start and done <= stop:
                    if problem is None:
                        result.latencies_ms.append((done - now) * 1000)
                    else:
                        result.errors[problem] = result.errors.get(problem, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return result


def run(
    url: str,
    *,
    bodies: list[dict],
    headers: dict | None = None,
    clients: int = 50,
    warmup: float = 2.0,
    seconds: float = 10.0,
    check=lambda body: True,
) -> LoadResult:
    """POST the ``bodies`` in turn from ``clients`` concurrent connections; requests finishing in the window count."""
    return asyncio.run(_run(url, bodies, headers or {}, clients, warmup, seconds, check))

"""Driving HTTP load with wrk (Debian's `wrk`): a Lua script sends each pre-signed request once.

A Python client saturates first on two cores; wrk, in C, leaves the server the CPU it measures. Each wrk
thread sends its share of the requests (every `threads`-th), counts the answers that say `"confirmed"` (or what
the caller's `Expected` says), and
stops once its share is answered; a connection that asks for a request after its thread's share is exhausted
gets `GET /healthz`, which is not counted (so does the one request wrk builds to check the script and never
sends).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._load import Request

SCRIPT = r"""
local requests = { %(requests)s }
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  step = tonumber(args[1])
  index = id + 1
  share = math.floor((#requests - id + step - 1) / step)
  answered, confirmed = 0, 0
  -- wrk builds one request of the first thread to check the script, without sending it: that one is a probe
  probing = (id == 0)
end

function request()
  if probing then
    probing = false
    return wrk.format("GET", "/healthz")
  end
  local r = requests[index]
  if r == nil then
    return wrk.format("GET", "/healthz")
  end
  index = index + step
  return wrk.format("POST", r[1], r[2], r[3])
end

function response(status, headers, body)
  if status ~= %(status)d and (status ~= 200 or body:find(%(answer)s, 1, true)) then
    io.write("WRK-ERROR " .. status .. " " .. body .. "\n")
  end
  if body:find(%(answer)s, 1, true) or (status ~= 200 and status ~= %(status)d) then
    answered = answered + 1
    if status == %(status)d and body:find(%(ok)s, 1, true) then confirmed = confirmed + 1 end
    if answered == share then
      io.stderr:write("WRK-THREAD-DONE\n")  -- unbuffered: the driver times the run from these
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local answers, confirmations = 0, 0
  for _, thread in ipairs(threads) do
    answers = answers + thread:get("answered")
    confirmations = confirmations + thread:get("confirmed")
  end
  io.write(string.format("WRK answered=%%d confirmed=%%d p50_ms=%%f p99_ms=%%f\n", answers,
    confirmations, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class Expected:
    """What a counted answer is: the status and text of a success, and a text every answer of the endpoint holds."""

    status: int = 200
    answer: str = '"result"'
    ok: str = '"confirmed"'


CONFIRMED = Expected()
RESULT = re.compile(r"WRK answered=(\d+) confirmed=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)")


@dataclass(frozen=True)
class WrkRun:
    answered: int
    confirmed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ended: float = 0.0  # time.perf_counter() when the last answer came

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return self.answered - self.confirmed

    def percentile_ms(self, q: float) -> float:
        """wrk reports p50 and p99 only."""
        return {50: self.p50_ms, 99: self.p99_ms}[int(q)]

    def summary(self, unit: str) -> str:
        failed = f", {self.failures} not confirmed" if self.failures else ""
        return (
            f"{self.rate:,.0f} {unit}/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms "
            f"({self.answered:,} in {self.seconds:.1f} s, wrk{failed})"
        )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def add_driver_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--driver",
        choices=["wrk", "python"],
        default="wrk" if wrk_available() else "python",
        help="the load generator: wrk (default, when installed) or the Python client",
    )


def drive_with_wrk(
    base_url: str, requests: Sequence[Request], connections: int, threads: int = 2, expected: Expected = CONFIRMED
) -> WrkRun:
    """Every request once, `connections` at a time over `threads` wrk threads, timed from wrk's start until
    each thread has had its share answered (then wrk is interrupted and reports); at most two minutes."""
    with tempfile.TemporaryDirectory(prefix="mcpay-wrk-") as scratch:
        script = Path(scratch) / "requests.lua"
        listed = ",\n".join(_lua(request) for request in requests)
        marks = {"status": expected.status, "answer": _text(expected.answer), "ok": _text(expected.ok)}
        script.write_text(SCRIPT % {"requests": listed, **marks})
        command = ["wrk", f"-t{threads}", f"-c{max(connections, threads)}", "-d120s", "-s", str(script)]
        started = time.perf_counter()
        wrk = subprocess.Popen(  # noqa: S603 (wrk from PATH, our own script)
            [*command, base_url, "--", str(threads)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert wrk.stderr is not None
        finished = 0
        for line in wrk.stderr:
            finished += line.startswith("WRK-THREAD-DONE")
            if finished == threads:
                break
        ended = time.perf_counter()
        seconds = ended - started
        wrk.send_signal(signal.SIGINT)
        output, _ = wrk.communicate(timeout=30)
    answered, confirmed, p50, p99 = _result(RESULT, output)
    return WrkRun(int(answered), int(confirmed), seconds, float(p50), float(p99), ended)


def _result(pattern: re.Pattern[str], output: str) -> tuple[str, ...]:
    """The figures the script's done() wrote, after any errors it printed."""
    for line in output.splitlines():
        if line.startswith("WRK-ERROR"):
            print(f"  {line[:300]}")
    found = pattern.search(output)
    if found is None:
        raise RuntimeError(f"wrk said nothing the benchmark can read:\n{output}")
    return found.groups()


def _lua(request: Request) -> str:
    headers = ", ".join(f"[ {_text(name)} ] = {_text(value)}" for name, value in request.headers.items())
    body = (request.content or b"").decode()
    return f"{{{_text(request.path)}, {{{headers}}}, {_text(body)}}}"


def _text(value: str) -> str:
    """A Lua long string: no escapes to get wrong (the level is chosen so the text cannot close it)."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


ROTATING = r"""
local headers = { %(headers)s }
local index = 0
local threads = {}
failed = 0  -- a global: done() reads each thread's own

function setup(thread)
  table.insert(threads, thread)
end

function request()
  index = index %% #headers + 1
  return wrk.format("GET", %(path)s, headers[index])
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    if failed <= 3 then io.write("WRK-ERROR " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do failures = failures + thread:get("failed") end
  io.write(string.format("WRK requests=%%d seconds=%%f failed=%%d p50_ms=%%f p99_ms=%%f\n", summary.requests,
    summary.duration / 1e6, failures, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
TIMED = re.compile(r"WRK requests=(\d+) seconds=([\d.]+) failed=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)")


def get_for(
    base_url: str, path: str, headers: Sequence[dict[str, str]], connections: int, seconds: float, threads: int = 2
) -> WrkRun:
    """`GET path` for `seconds`, `connections` at a time, each request with the next of `headers` in turn."""
    with tempfile.TemporaryDirectory(prefix="mcpay-wrk-") as scratch:
        script = Path(scratch) / "get.lua"
        rotation = ",\n".join(
            "{" + ", ".join(f"[ {_text(name)} ] = {_text(value)}" for name, value in each.items()) + "}"
            for each in headers or [{}]
        )
        script.write_text(ROTATING % {"headers": rotation, "path": _text(path)})
        command = ["wrk", f"-t{threads}", f"-c{max(connections, threads)}", f"-d{seconds:.0f}s", "-s", str(script)]
        output = subprocess.run(  # noqa: S603 (wrk from PATH, our own script)
            [*command, base_url], capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    requests, duration, failed, p50, p99 = _result(TIMED, output)
    answered = int(requests)
    return WrkRun(answered, answered - int(failed), float(duration), float(p50), float(p99))  # "confirmed": a 200

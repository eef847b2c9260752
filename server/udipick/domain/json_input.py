"""Limits on JSON from outside: how deep it may nest, and NDJSON cut into lines of bounded length.

msgspec decodes nested arrays and objects by recursion, so ``[[[[...]]]]`` a thousand deep raises
``RecursionError`` (not a decode error) before a single field is validated; udipick's own messages
nest four or five levels. A linear scan of the raw bytes refuses deeper input before any decoder
sees it. NDJSON bulk loads are cut into lines by ``NdjsonLines``, which looks at every byte once and
keeps at most one line's worth of bytes, so a body of any size costs time in proportion to its
length and memory in proportion to the line limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate, count
from operator import sub

#: arrays and objects inside one another that udipick decodes; its deepest message (a sales order's
#: line's expected lots' serials) needs five
MAX_JSON_DEPTH = 64

# A JSON string, escapes included; the closing quote is optional so that an unterminated string is
# consumed in one match to the end (the decoder stops there anyway) instead of being retried from
# every later quote, which would be quadratic.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# openers become 2, closers 0, everything else is dropped: the running sum minus the count of
# brackets seen is the depth after each bracket
_BRACKET_WEIGHTS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BLOCK = 1 << 16


def json_depth(raw: bytes | str, *, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (0 for a scalar), brackets in strings not counted.

    Linear, and in C but for one step per 64 KiB of brackets (a regular expression, ``translate``,
    ``accumulate``); with ``stop_above`` it returns as soon as the depth passes it, so
    ``[[[[...`` costs one step whatever its length. For text that is not JSON the figure is what a
    decoder would reach before failing, or more, never less.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    weights = _STRING.sub(b"", data).translate(_BRACKET_WEIGHTS, _NOT_BRACKETS)
    depth = deepest = 0
    for start in range(0, len(weights), _BLOCK):
        block = weights[start : start + _BLOCK]
        deepest = max(deepest, depth + max(map(sub, accumulate(block), count(1))))
        depth += 2 * block.count(2) - len(block)
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def too_deep(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """``json_depth(raw) > limit``, answered from two byte counts when there are not enough openers."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:  # brackets inside strings only make this larger
        return False
    return json_depth(data, stop_above=limit) > limit


@dataclass(frozen=True, slots=True)
class Line:
    """One NDJSON line: its number (from 1), its bytes without the newline, or ``None`` when too long."""

    number: int
    raw: bytes | None
    #: bytes in the line, without the newline; all of them even when ``raw`` is ``None``
    length: int


@dataclass(slots=True)
class NdjsonLines:
    """Cuts a body arriving in chunks into lines; ``feed`` each chunk, then ``close``.

    Each byte is searched for a newline once (``find`` from where the last line ended, never from
    the start of a growing buffer) and copied at most twice (into the pending parts, then joined).
    A line longer than ``max_line_bytes`` is not kept: only its length is counted until its newline,
    and it comes out with ``raw=None`` so the caller can refuse it by number and go on.
    """

    max_line_bytes: int
    _parts: list[bytes] = field(default_factory=list, init=False)
    _pending: int = field(default=0, init=False)
    _number: int = field(default=0, init=False)

    def feed(self, chunk: bytes) -> list[Line]:
        lines: list[Line] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._keep(chunk, start, end)
            lines.append(self._finish())
            start = end + 1
        self._keep(chunk, start, len(chunk))
        return lines

    def close(self) -> list[Line]:
        """The last line, when the body does not end with a newline."""
        return [self._finish()] if self._pending else []

    def _keep(self, chunk: bytes, start: int, end: int) -> None:
        if end == start:
            return
        self._pending += end - start
        if self._pending > self.max_line_bytes:
            self._parts.clear()  # over the limit: only the count goes on
        else:
            self._parts.append(chunk[start:end])

    def _finish(self) -> Line:
        self._number += 1
        length = self._pending
        raw = None if length > self.max_line_bytes else b"".join(self._parts)
        self._parts.clear()
        self._pending = 0
        return Line(self._number, raw, length)


def split_lines(chunks: list[bytes] | Iterator[bytes], max_line_bytes: int) -> list[Line]:
    """Every line of a body given as chunks (for tests and benchmarks; the API feeds as bytes arrive)."""
    splitter = NdjsonLines(max_line_bytes)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    return lines + splitter.close()

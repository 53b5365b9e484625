"""JSON Lines: the one place records are read from and written to ``.jsonl`` files.

Writes are atomic (see :mod:`ordebug.atomic`); keys are sorted so equal records give equal
bytes, which lets tests and reruns compare outputs byte for byte.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import jsonlines

from ordebug.atomic import atomic_open, write_text_atomic


def dumps(record: dict) -> str:
    """One record as one line (no newline): sorted keys, compact separators, non-ASCII kept."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def iter_jsonl(paths: Iterable[str | os.PathLike[str]]) -> Iterator[dict]:
    """Records of several files (``.gz`` ones decompressed), in order; blank lines are skipped.
    A line that is not JSON raises ``jsonlines.InvalidLineError`` (a ValueError) naming the
    line number."""
    for p in paths:
        opener = gzip.open if str(p).endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as fh:
            # json.loads, not the orjson jsonlines picks when installed: records may hold Infinity
            yield from jsonlines.Reader(fh, loads=json.loads).iter(skip_empty=True)


def read_jsonl(path: str | os.PathLike[str]) -> list[dict]:
    """Every record of one file."""
    return list(iter_jsonl([path]))


def jsonl_text(records: Iterable[dict]) -> str:
    return "".join(dumps(r) + "\n" for r in records)


def write_jsonl_atomic(path: str | os.PathLike[str], records: Iterable[dict]) -> int:
    """Write records as JSON lines, atomically (gzip-compressed where ``path`` ends in
    ``.gz``, reproducibly: no file name or time in the header); returns how many."""
    n = 0
    with atomic_open(path, binary=str(path).endswith(".gz")) as raw:
        fh = gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) if str(path).endswith(".gz") else raw
        with jsonlines.Writer(fh, dumps=dumps) as out:
            for rec in records:
                out.write(rec)
                n += 1
        if fh is not raw:
            fh.close()
    return n


def write_json_atomic(path: str | os.PathLike[str], data: object) -> None:
    """A JSON document (stats files), indented, atomically."""
    write_text_atomic(Path(path), json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

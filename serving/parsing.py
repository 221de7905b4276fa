"""Untrusted files are parsed in a worker process that can be killed, within size, count and time bounds.

An 18 KB .docx can hold two million empty paragraphs; a PDF or an HTML page can be built to make a
parser run for minutes or take gigabytes. Ingestion jobs therefore never parse in their own process:
``IsolatedParser`` sends each path to a child process (a fresh interpreter, so it shares no threads
or connections with the server), which checks cheap structural bounds first (``precheck``: the archive's uncompressed size
and paragraph count, PDF pages, markup elements), parses, then checks the result (``postcheck``). The
child runs under an address-space limit; the parent waits at most ``timeout_s`` per file and kills the
child past that. Every refusal is a ``ParseRejected`` whose message names the file and the bound.

This module imports only the loaders (the child imports it on start), never the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from retrieval.loaders import load_path
from retrieval.types import LoadedDocument, LoaderError

_MARKUP_SUFFIXES = {".html", ".htm"}
_TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".yaml", ".yml"}
_DOCX_BODY = "word/document.xml"
_PARAGRAPH_TAGS = (b"<w:p>", b"<w:p ", b"<w:p/>")
_READ_CHUNK = 1 << 20
_STARTUP_S = 60.0
_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding the ``serving`` package


@dataclass(frozen=True)
class ParseLimits:
    """Bounds for one untrusted file (``GOVCHAT_API__PARSE_*`` settings)."""

    timeout_s: float = 60.0
    memory_mb: int = 2048
    max_uncompressed_bytes: int = 64 * 1024 * 1024
    max_paragraphs: int = 50_000
    max_pages: int = 2_000


class ParseRejected(Exception):
    """The file broke a bound (or killed its parser): the admin-facing reason, naming the file."""


def _reject(path: Path, reason: str) -> ParseRejected:
    return ParseRejected(f"{path.name}: {reason}")


def _docx_bounds(path: Path, limits: ParseLimits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip at all: the loader reports it as a damaged .docx
    with archive:
        declared = sum(info.file_size for info in archive.infolist())
        if declared > limits.max_uncompressed_bytes:
            raise _reject(path, f"解压后 {declared // 2**20} MB，超过上限 / uncompressed size over the limit")
        if _DOCX_BODY not in archive.namelist():
            return
        # Declared sizes can lie: decompress the body in chunks, counting bytes and paragraphs.
        seen = paragraphs = 0
        tail = b""
        with archive.open(_DOCX_BODY) as body:
            while chunk := body.read(_READ_CHUNK):
                seen += len(chunk)
                if seen > limits.max_uncompressed_bytes:
                    raise _reject(path, "解压后正文超过大小上限 / uncompressed body over the size limit")
                window = tail + chunk
                paragraphs += sum(window.count(tag) for tag in _PARAGRAPH_TAGS)
                paragraphs -= sum(tail.count(tag) for tag in _PARAGRAPH_TAGS)
                tail = chunk[-8:]
                if paragraphs > limits.max_paragraphs:
                    raise _reject(path, _too_many(limits))


def _too_many(limits: ParseLimits) -> str:
    return f"段落数超过上限 {limits.max_paragraphs} / more than {limits.max_paragraphs} paragraphs"


def precheck(path: Path, limits: ParseLimits) -> None:
    """Cheap structural bounds checked before any parser sees the file."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        _docx_bounds(path, limits)
    elif suffix == ".pdf":
        from pypdf import PdfReader

        try:
            pages = len(PdfReader(path).pages)
        except Exception:
            return  # damaged or encrypted: the loader says which
        if pages > limits.max_pages:
            raise _reject(path, f"PDF 页数 {pages} 超过上限 {limits.max_pages} / too many pages")
    elif suffix in _MARKUP_SUFFIXES | _TEXT_SUFFIXES:
        data = path.read_bytes()
        marks = data.count(b"<") if suffix in _MARKUP_SUFFIXES else data.count(b"\n")
        if marks > 10 * limits.max_paragraphs:
            raise _reject(path, _too_many(limits))


def postcheck(path: Path, doc: LoadedDocument, limits: ParseLimits) -> None:
    if len(doc.blocks) > limits.max_paragraphs:
        raise _reject(path, _too_many(limits))


def _child(requests_in: Connection, replies_out: Connection, limits: ParseLimits) -> None:
    """The worker loop: one path in, ``(kind, payload)`` out, until ``None`` or a closed pipe."""
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    replies_out.send(("ready", None))
    while True:
        try:
            item = requests_in.recv()
        except EOFError:
            return
        if item is None:
            return
        path = Path(item)
        try:
            precheck(path, limits)
            doc = load_path(path)
            postcheck(path, doc, limits)
            replies_out.send(("ok", doc))
        except LoaderError as exc:
            replies_out.send(("loader", str(exc)))
        except ParseRejected as exc:
            replies_out.send(("rejected", str(exc)))
        except MemoryError:
            replies_out.send(
                ("rejected", f"{path.name}: 解析所需内存超过上限 / parsing needs more memory than allowed")
            )
        except Exception as exc:  # any parser crash is this file's failure, not the worker's
            replies_out.send(("loader", f"{path.name}: {type(exc).__name__}: {str(exc)[:200]}"))


class IsolatedParser:
    """``with IsolatedParser(limits) as parser: doc = parser.parse(path)``; one child, restarted after
    a kill. ``parse`` raises ``LoaderError`` (the loader's own refusal) or ``ParseRejected``.

    The child is ``python -m serving.parsing`` (not ``multiprocessing``: that would re-import the
    host program's ``__main__``), talking over two pipes with pickled messages.
    """

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: Connection | None = None  # requests to the child
        self._in: Connection | None = None  # replies from the child

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> tuple[Connection, Connection]:
        if self._proc is None or self._out is None or self._in is None:
            req_r, req_w = os.pipe()
            rep_r, rep_w = os.pipe()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([_ROOT, os.environ.get("PYTHONPATH", "")])}
            limits = json.dumps(dataclasses.asdict(self.limits))
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "serving.parsing", str(req_r), str(rep_w), limits],
                pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
            os.close(req_r)
            os.close(rep_w)
            self._out, self._in = Connection(req_w, readable=False), Connection(rep_r, writable=False)
            # Start-up (interpreter, imports) is not the file's parse time: wait for it separately.
            try:
                ready = self._in.poll(_STARTUP_S) and self._in.recv()[0] == "ready"
            except (EOFError, OSError):
                ready = False
            if not ready:
                self._kill()
                raise RuntimeError("the parser process did not start")
        return self._out, self._in

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
        for conn in (self._out, self._in):
            if conn is not None:
                conn.close()
        self._proc = self._out = self._in = None

    def parse(self, path: Path) -> LoadedDocument:
        out, replies = self._start()
        try:
            out.send(str(path))
            reply = replies.recv() if replies.poll(self.limits.timeout_s) else None
        except (EOFError, OSError):
            self._kill()
            raise _reject(path, "解析进程异常退出（内存超限？）/ the parser died (out of memory?)") from None
        if reply is None:
            self._kill()
            seconds = f"{self.limits.timeout_s:g}"
            raise _reject(path, f"解析超过 {seconds} 秒，已终止 / parsing took longer than {seconds} s")
        kind, payload = reply
        if kind == "ok":
            doc: LoadedDocument = payload
            return doc
        if kind == "rejected":
            raise ParseRejected(payload)
        raise LoaderError(payload)

    def close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.send(None)
        if self._proc is not None:
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(2)
        for conn in (self._out, self._in):
            if conn is not None:
                conn.close()
        self._proc = self._out = self._in = None


def _main(argv: list[str]) -> None:
    requests_fd, replies_fd, limits = int(argv[0]), int(argv[1]), json.loads(argv[2])
    _child(
        Connection(requests_fd, writable=False), Connection(replies_fd, readable=False), ParseLimits(**limits)
    )


if __name__ == "__main__":
    _main(sys.argv[1:])

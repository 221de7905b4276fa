"""Untrusted files are parsed in a worker process that can be killed, within size, count and time bounds.

An 18 KB .docx can hold two million empty paragraphs; a PDF or an HTML page can be built to make a
parser run for minutes or take gigabytes. Ingestion jobs therefore never parse in their own process:
``IsolatedParser`` sends each path to a child (``spawn``, so it shares no threads or connections with
the server), which checks cheap structural bounds first (``precheck``: the archive's uncompressed size
and paragraph count, PDF pages, markup elements), parses, then checks the result (``postcheck``). The
child runs under an address-space limit; the parent waits at most ``timeout_s`` per file and kills the
child past that. Every refusal is a ``ParseRejected`` whose message names the file and the bound.

This module imports only the loaders (the child imports it on start), never the server.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import zipfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from retrieval.loaders import load_path
from retrieval.types import LoadedDocument, LoaderError

_MARKUP_SUFFIXES = {".html", ".htm"}
_TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".yaml", ".yml"}
_DOCX_BODY = "word/document.xml"
_PARAGRAPH_TAGS = (b"<w:p>", b"<w:p ", b"<w:p/>")
_READ_CHUNK = 1 << 20
_STARTUP_S = 60.0


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


def _child(conn: Connection, limits: ParseLimits) -> None:
    """The worker loop: one path in, ``(kind, payload)`` out, until ``None``."""
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    conn.send(("ready", None))
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        path = Path(item)
        try:
            precheck(path, limits)
            doc = load_path(path)
            postcheck(path, doc, limits)
            conn.send(("ok", doc))
        except LoaderError as exc:
            conn.send(("loader", str(exc)))
        except ParseRejected as exc:
            conn.send(("rejected", str(exc)))
        except MemoryError:
            conn.send(
                ("rejected", f"{path.name}: 解析所需内存超过上限 / parsing needs more memory than allowed")
            )
        except Exception as exc:  # any parser crash is this file's failure, not the worker's
            conn.send(("loader", f"{path.name}: {type(exc).__name__}: {str(exc)[:200]}"))


class IsolatedParser:
    """``with IsolatedParser(limits) as parser: doc = parser.parse(path)``; one child, restarted after
    a kill. ``parse`` raises ``LoaderError`` (the loader's own refusal) or ``ParseRejected``."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> Connection:
        if self._conn is None:
            parent, child = self._ctx.Pipe()
            self._proc = self._ctx.Process(
                target=_child, args=(child, self.limits), name="govchat-parse", daemon=True
            )
            self._proc.start()
            child.close()
            self._conn = parent
            # Start-up (interpreter, imports) is not the file's parse time: wait for it separately.
            try:
                ready = parent.poll(_STARTUP_S) and parent.recv()[0] == "ready"
            except (EOFError, OSError):
                ready = False
            if not ready:
                self._kill()
                raise RuntimeError("the parser process did not start")
        return self._conn

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def parse(self, path: Path) -> LoadedDocument:
        conn = self._start()
        conn.send(str(path))
        try:
            ready = conn.poll(self.limits.timeout_s)
            reply = conn.recv() if ready else None
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
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None:
            self._proc.join(2)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(2)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

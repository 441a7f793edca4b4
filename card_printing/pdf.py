"""A reportlab canvas that streams: each finished page goes to the file at once.

reportlab keeps a whole document in memory until ``save``. ``StreamingCanvas`` writes each
page and its content stream to the file as soon as the page is finished and keeps only
their object numbers and offsets, so a batch of 100,000 pages needs the memory of one.
Fonts, forms and the page tree are written by ``close``. Every document of a batch is drawn
directly onto one such canvas (no merging of PDFs).
"""

from __future__ import annotations

import os
import zlib
from array import array
from typing import BinaryIO

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from app.core.errors import Invalid
from card_printing import fonts

# Binary (deflated) content streams: ASCII85 on top costs a third more bytes and, in pure
# Python, more time than drawing the page.
rl_config.useA85 = 0


class _FastDeflate(pdfdoc.PDFStreamFilterZCompress):
    def encode(self, text) -> bytes:
        return zlib.compress(text.encode("latin-1") if isinstance(text, str) else text, 1)


class _StreamingDocument(pdfdoc.PDFDocument):
    """A PDFDocument that writes finished pages to ``out`` at once and the rest on ``close``."""

    def __init__(self, out: BinaryIO, **kw):
        super().__init__(**kw)
        self._out, self._position = out, 0
        self._offsets = array("q", [0])  # by object number
        self._page_numbers = array("i")
        self._emit(pdfdoc.PDFFile(self._pdfVersion).format(self))

    def _emit(self, chunk: bytes) -> None:
        self._out.write(chunk)
        self._position += len(chunk)

    def _write(self, name: str, *, forget: bool = False) -> int:
        number = self.idToObjectNumberAndVersion[name][0]
        chunk = pdfdoc.PDFIndirectObject(name, self.idToObject[name]).format(self)
        self._offsets.extend([0] * (number + 1 - len(self._offsets)))
        self._offsets[number] = self._position
        self._emit(chunk)
        if forget:  # nothing refers to it by name any more: keep its number and offset only
            del self.idToObject[name], self.idToObjectNumberAndVersion[name], self.numberToId[number]
        return number

    def flush_pages(self) -> None:
        """Write the pages finished since the last call, with their content streams."""
        for page in self.Pages.pages:
            # Deflate at level 1: a third of the time of reportlab's default level for ~15 % more bytes.
            contents = pdfdoc.PDFStream(content=page.stream, filters=[_FastDeflate()])
            page.Contents = contents
            name = page.__InternalName__
            self._page_numbers.append(self._write(name, forget=True))  # registers page.Contents
            self._write(page.Contents.__InternalName__, forget=True)
        self.Pages.pages = []

    def close(self, canvas: Canvas) -> None:
        """Write fonts, page tree, catalogue, cross-reference table and trailer."""
        for font in self.delayedFonts:
            font.addObjects(self)
        self.info.invariant = self.invariant
        self.info.digest(self.signature)
        self.Reference(self.Catalog)
        self.Reference(self.info)
        self.Outlines.prepare(self, canvas)
        if self.Outlines.ready < 0:
            self.Catalog.Outlines = None
        self.Pages.pages = [b"%d 0 R" % n for n in self._page_numbers]
        number = 1
        while number <= self.objectcounter:  # formatting may register further objects
            if number in self.numberToId and (number >= len(self._offsets) or not self._offsets[number]):
                self._write(self.numberToId[number])
            number += 1
        start = self._position
        self._emit(b"xref\n0 %d\n0000000000 65535 f \n" % number)
        for first in range(1, number, 4096):
            self._emit(
                b"".join(b"%010d 00000 n \n" % self._offsets[n] for n in range(first, min(first + 4096, number)))
            )
        trailer = pdfdoc.PDFTrailer(
            startxref=start,
            Size=number,
            Root=self.Reference(self.Catalog),
            Info=self.Reference(self.info),
            ID=self.ID(),
        )
        self._emit(trailer.format(self))
        # On disk before the batch commits its "printed" marks, so that a crash after that commit
        # leaves a complete FILE.part, never marks for pages that were still in a buffer.
        self._out.flush()
        try:
            os.fsync(self._out.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # an in-memory buffer


class StreamingCanvas(Canvas):
    """A reportlab canvas whose pages go to ``out`` as they are finished; call ``close`` at the end."""

    def __init__(self, out: BinaryIO, *, title: str, author: str):
        fonts.register()
        super().__init__(out, pageCompression=1)
        self._doc = _StreamingDocument(out, compression=1, invariant=self._doc.invariant)
        self._make_preamble()  # the preamble names the base font of the new document
        self.setTitle(title)
        self.setAuthor(author)
        self.setCreator("Tone Lifeline")
        self.pages = 0
        self.text_cache: dict = {}  # see fonts.draw

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        super().showPage()
        self._doc.flush_pages()
        self.pages += 1
        if len(self.text_cache) > 20_000:  # names and addresses do not repeat: keep it bounded
            self.text_cache.clear()

    def close(self) -> None:
        if self.pages == 0:
            raise Invalid("印刷するページがありません")
        self._doc.close(self)

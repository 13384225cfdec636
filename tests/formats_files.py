"""Real files of the formats the loaders read, made on the spot: Word, PowerPoint, EPUB, pictures
of text rendered with Noto CJK (clean, and degraded like a scan), and image-only (scanned) PDFs."""
from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

ZH = ("检索增强生成是一种把信息检索和文本生成结合起来的方法。系统先根据用户的问题从资料库中找出最相关的段落，"
      "再把这些段落交给语言模型，让它在有据可查的前提下作答，并给出引用。")
EN = ("Optical character recognition turns the pixels of a scanned page back into words, so the "
      "library can search them like any other text and cite the page they came from.")


def make_docx(path: Path, title: str, sections: list[tuple[int, str, list[str]]], table: list[list[str]] | None = None) -> Path:
    """``sections``: (heading level, heading, paragraphs); the table goes after the first section."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.add_heading(title, level=0)
    for i, (level, head, paras) in enumerate(sections):
        d.add_heading(head, level=level)
        for p in paras:
            d.add_paragraph(p)
        if i == 0 and table:
            t = d.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, cell in enumerate(row):
                    t.cell(r, c).text = cell
    d.save(path)
    return path


def make_pptx(path: Path, slides: list[tuple[str, list[str], str]]) -> Path:
    """``slides``: (title, bullet lines, speaker notes)."""
    from pptx import Presentation

    prs = Presentation()
    for title, bullets, notes in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for b in bullets[1:]:
            body.add_paragraph().text = b
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    prs.save(path)
    return path


def make_epub(path: Path, title: str, chapters: list[tuple[str | None, str, list[str]]]) -> Path:
    """``chapters``: (heading or None, table-of-contents label, paragraphs). EPUB 2 with an NCX and
    an EPUB 3 nav document, as e-book tools write them."""
    items, refs, points, navs = [], [], [], []
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                   '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   '</rootfiles></container>')
        for i, (head, label, paras) in enumerate(chapters, 1):
            body = (f"<h1>{head}</h1>" if head else "") + "".join(f"<p>{p}</p>" for p in paras)
            z.writestr(f"OEBPS/text/ch{i}.xhtml",
                       f'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                       f"<title>{title}</title></head><body>{body}</body></html>")
            items.append(f'<item id="ch{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>')
            refs.append(f'<itemref idref="ch{i}"/>')
            points.append(f'<navPoint id="p{i}" playOrder="{i}"><navLabel><text>{label}</text></navLabel>'
                          f'<content src="text/ch{i}.xhtml"/></navPoint>')
            navs.append(f'<li><a href="text/ch{i}.xhtml">{label}</a></li>')
        z.writestr("OEBPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml"><body><nav epub:type="toc"><ol>'
                   + "".join(navs) + "</ol></nav><p>Table of contents 目录</p></body></html>")
        z.writestr("OEBPS/toc.ncx", '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>'
                   + "".join(points) + "</navMap></ncx>")
        z.writestr("OEBPS/content.opf",
                   '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
                   f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
                   '<dc:identifier id="id">urn:uuid:1</dc:identifier></metadata><manifest>'
                   '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
                   '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>' + "".join(items)
                   + '</manifest><spine toc="ncx"><itemref idref="nav"/>' + "".join(refs) + "</spine></package>")
    return path


def render(text: str, size: int = 28, width: int = 1200, margin: int = 60):
    """A page of text as a picture (greyscale, black on white), wrapped to ``width``."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, size)
    measure = ImageDraw.Draw(Image.new("L", (10, 10)))
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        tokens = para.split(" ") if para.isascii() else list(para)
        for tok in tokens:
            cand = (cur + " " + tok).strip() if para.isascii() else cur + tok
            if cur and measure.textlength(cand, font=font) > width - 2 * margin:
                lines.append(cur)
                cur = tok
            else:
                cur = cand
        lines.append(cur)
    img = Image.new("L", (width, margin * 2 + int(len(lines) * size * 1.6)), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * size * 1.6), line, font=font, fill=0)
    return img


def scanned(img, scale: float = 0.5, angle: float = 0.8, noise: float = 18, seed: int = 1):
    """``img`` as a cheap scan would give it: half the resolution, a slight skew, blur and grain."""
    from PIL import Image, ImageFilter

    g = img.convert("L").rotate(angle, expand=True, fillcolor=255, resample=Image.BICUBIC)
    g = g.resize((int(g.width * scale), int(g.height * scale)), Image.BILINEAR).filter(ImageFilter.GaussianBlur(0.6))
    import numpy as np

    grain = np.random.default_rng(seed).normal(0, noise, (g.height, g.width))
    return Image.fromarray(np.clip(np.asarray(g, dtype=float) + grain, 0, 255).astype("uint8"))


def image_pdf(path: Path, pages: list) -> Path:
    """An image-only PDF, one picture per page, as a scanner writes it (Pillow's PDF writer)."""
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(path, "PDF", resolution=100, save_all=True, append_images=rest)
    return path


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance / reference length, ignoring spaces and line breaks and
    the full-/half-width difference of punctuation (NFKC)."""
    ref, hyp = (re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)) for s in (reference, hypothesis))
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i]
        for j, b in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))
        prev = cur
    return prev[-1] / max(1, len(ref))

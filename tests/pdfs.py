"""Small PDFs made byte by byte for loader and hostile-input tests (no PDF library needed)."""
from __future__ import annotations


def make_pdf(pages: list, title: str | None = None) -> bytes:
    """A small valid PDF (xref offsets computed, not faked): each page is a list of text lines
    (Helvetica) or "image" (a scan: no text layer); ``title`` goes into the document info."""
    objs: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                         b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray "
                         b"/BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"]
    kids = []
    for page in pages:
        if page == "image":
            content, res = b"q 400 0 0 400 100 200 cm /Im1 Do Q", "<< /XObject << /Im1 4 0 R >> >>"
        else:
            content = ("BT /F1 14 Tf 72 720 Td " + "".join(f"({ln}) Tj 0 -24 Td " for ln in page) + "ET").encode()
            res = "<< /Font << /F1 3 0 R >> >>"
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {res} "
                    f"/Contents {len(objs)} 0 R >>".encode())
        kids.append(len(objs))
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    info = ""
    if title is not None:
        objs.append(f"<< /Title ({title}) >>".encode())
        info = f" /Info {len(objs)} 0 R"
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()

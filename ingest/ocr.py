"""Text from pictures: scanned PDF pages and .png/.jpg files, Chinese and English, fully offline.

RapidOCR (PaddleOCR's PP-OCR models on onnxruntime) was measured against Debian's tesseract
(chi_sim+eng) on pages rendered with Noto CJK, clean and degraded like a scan (half resolution,
0.8° skew, blur, noise): character error rate 0.7-1.4 % (zh) and 0 % (en) against 2.7-4.1 % and
0-0.5 % for tesseract, and a full page in ~10 s against ~40 s on the same 2 cores. Its detection,
recognition and orientation models ship inside the wheel, so nothing is downloaded at run time
(checked with ``unshare -n``); it is the ``ocr`` extra (``pip install 'studybot[ocr]'``).

    with Ocr() as ocr:               # one per ingest run; the models load on first use (~1 s)
        text = ocr.read(pil_image)   # raises OcrError with a one-line reason
"""
from __future__ import annotations

import importlib.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

log = logging.getLogger("studybot.ocr")

MAX_SIDE = 4000  # px; bigger pictures are shrunk first (the detector works at <= 2000 px anyway)
MIN_SCORE = 0.5  # recognised lines below this confidence are noise (specks, ruled lines)
INSTALL_HINT = "OCR is not installed: pip install 'studybot[ocr]' (or `make setup`)"
# The models measured above, as the rapidocr wheel ships them. Naming the files means rapidocr never
# reaches its download path (it fetches a default model it cannot find): a missing one is an error.
MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx", "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


class OcrError(Exception):
    """A picture OCR could not read; str(e) is a short reason meant for the user."""


def available() -> bool:
    return importlib.util.find_spec("rapidocr") is not None and importlib.util.find_spec("onnxruntime") is not None


class Ocr:
    """An OCR engine for one ingest run. ``on_page`` is called after every picture read (progress).

    The work runs on one thread of its own at low priority (the onnxruntime threads it starts
    inherit that), so OCR in the served process yields the CPU to learners' questions."""

    def __init__(self, on_page: Callable[[], None] | None = None) -> None:
        self.on_page = on_page
        self._engine = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.pages = 0
        self.seconds = 0.0

    def __enter__(self) -> "Ocr":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._engine = None

    def _load(self):
        with self._lock:
            if self._engine is None:
                if not available():
                    raise OcrError(INSTALL_HINT)
                import rapidocr
                from pathlib import Path

                folder = Path(rapidocr.__file__).parent / "models"
                paths = {task: folder / name for task, name in MODELS.items()}
                missing = [p.name for p in paths.values() if not p.is_file()]
                if missing:
                    raise OcrError(f"OCR models missing from the rapidocr install ({', '.join(missing)}): "
                                   f"reinstall it with pip install 'studybot[ocr]'")
                params = {"Global.log_level": "warning", **{f"{t}.model_path": str(p) for t, p in paths.items()}}
                # Its default logger prints every call at INFO and warns on blank pictures (reported by us instead).
                self._engine = rapidocr.RapidOCR(params=params)
                logging.getLogger("RapidOCR").setLevel(logging.ERROR)  # "detection result is empty" on blank scans
            return self._engine

    def read(self, image) -> str:
        """Lines of text in reading order (top to bottom, left to right) from a PIL image."""
        with self._lock:
            if self._pool is None:
                from bot.index.background_embed import lower_priority

                self._pool = ThreadPoolExecutor(1, thread_name_prefix="ocr", initializer=lower_priority)
            pool = self._pool
        return pool.submit(self._read, image).result()

    def _read(self, image) -> str:
        import time

        import numpy as np

        engine = self._load()
        t0 = time.monotonic()
        try:
            img = image.convert("RGB")
            if max(img.size) > MAX_SIDE:
                img.thumbnail((MAX_SIDE, MAX_SIDE))
            # RGB -> BGR: an ndarray is taken as OpenCV's channel order.
            result = engine(np.ascontiguousarray(np.asarray(img)[:, :, ::-1]))
        except OcrError:
            raise
        except Exception as e:  # noqa: BLE001 - the engine raises many types on odd pictures
            raise OcrError(f"OCR failed: {' '.join(str(e).split())[:160] or type(e).__name__}") from e
        finally:
            self.pages += 1
            self.seconds += time.monotonic() - t0
            if self.on_page:
                self.on_page()
        if result.txts is None or result.boxes is None:
            return ""
        return _lines(result.boxes, result.txts, result.scores)


def _lines(boxes, txts, scores) -> str:
    """Boxes side by side on one line become one line; lines go top to bottom."""
    items = []
    for box, text, score in zip(boxes, txts, scores):
        if score < MIN_SCORE or not text.strip():
            continue
        ys = [float(p[1]) for p in box]
        xs = [float(p[0]) for p in box]
        items.append((min(ys), max(ys), min(xs), text.strip()))
    items.sort(key=lambda it: (it[0] + it[1]) / 2)
    lines: list[list[tuple]] = []
    for it in items:
        mid = (it[0] + it[1]) / 2
        if lines and lines[-1][0][0] <= mid <= lines[-1][0][1]:
            lines[-1].append(it)
        else:
            lines.append([it])
    return "\n".join(" ".join(t for *_, t in sorted(line, key=lambda it: it[2])) for line in lines)

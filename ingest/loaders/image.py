"""Pictures (.png, .jpg, .jpeg) -> one Part of OCR'd text, marked ``ocr`` (its citations say "OCR")."""
from __future__ import annotations

from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError, NeedsOcr
from ingest.loaders.text import tidy


def load(path: Path, ocr=None) -> list[LoadedDoc]:
    if ocr is None:
        raise NeedsOcr("a picture: its text can only be read by OCR")
    from ingest.ocr import OcrError

    image = open_image(path)
    try:
        text = tidy(ocr.read(image))
    except OcrError as e:
        raise LoadError(str(e)) from e
    finally:
        image.close()
    if not text.strip():
        raise LoadError("no text found: OCR read nothing in this picture")
    return [LoadedDoc(path=str(path), title=path.stem, parts=[Part(text=text, ocr=True)], meta={"ocr": True})]


def open_image(path: Path):
    """The picture decoded (first frame), or LoadError saying why not."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 megapixels: refuse those too (a decompression bomb
            # costs memory long before OCR would find anything in it).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()
        return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise LoadError(f"picture too large to read ({_one_line(e)})") from e
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError... on broken files
        raise LoadError(f"broken picture (damaged, cut off, or not a {path.suffix.lstrip('.').upper()} file): "
                        f"{_one_line(e)}") from e


def _one_line(e: Exception) -> str:
    return (" ".join(str(e).split()) or type(e).__name__)[:160]

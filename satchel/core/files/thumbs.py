"""Thumbnails of uploaded images, as PocketBase makes them for `?thumb=WxH[t|b|f]`.

Sizes mean what they mean in PocketBase (its `imaging` library): `WxH` fills the box and crops
from the centre, `t`/`b` crop from the top/bottom, `f` fits inside the box without upscaling,
and `Wx0`/`0xH` resize to one side keeping the aspect ratio. The EXIF orientation is applied
first and only the first frame of an animation is used. A thumb keeps the original's format
for JPEG and GIF; everything else (PNG, WebP) becomes PNG, which is what PocketBase serves.

Decoding and resizing run in a worker thread: a large image takes tens of milliseconds of CPU
that must not stall the event loop. A thumb is generated once per key even when many requests
ask for it at the same moment, and at most a few generations run at once.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

THUMB_SIZE = re.compile(r"^(\d+)x(\d+)([tbf])?$", re.ASCII)
DEFAULT_THUMBS = ("100x100",)
"""Served for every image field even when its `thumbs` option leaves it out (PocketBase's default)."""
IMAGE_TYPES = frozenset({"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp"})
"""Only these originals get thumbnails; any other file is served as it is."""

MAX_SIDE = 10_000
"""A requested side beyond this is refused (the original is served): a 10k x 10k thumb is already
400 MB of pixels, and nobody needs a thumbnail larger than that."""
MAX_SIZE_TEXT = 16
"""`WxH` longer than this names sides far beyond MAX_SIDE: refused before any `int()`."""
MAX_SOURCE_PIXELS = 50_000_000
"""Decoding a larger image costs more memory than a thumbnail is worth (Pillow's own
decompression-bomb guard only starts at ~89M pixels, and only warns below twice that)."""
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
"""The only decoders Pillow may try on uploaded bytes, whatever they claim to be: the others
(EPS through Ghostscript, exotic formats) have no business running on user content."""
MAX_SOURCE_BYTES = 64 << 20
"""Thumbnail sources are read whole into memory: bigger files are served as they are."""
MAX_WORKERS = (os.cpu_count() or 1) + 2
MAX_WAIT = 60.0
"""Seconds a request waits for a free worker before it gives up and serves the original."""

Mode = Literal["", "t", "b", "f"]


class ThumbError(Exception):
    """The thumb could not be made (not an image Pillow can read, too large, ...)."""


@dataclass(frozen=True, slots=True)
class ThumbSize:
    width: int
    height: int
    mode: Mode


def parse_size(text: str) -> ThumbSize | None:
    """`WxH[t|b|f]` with at least one side non-zero; None for anything else."""
    m = THUMB_SIZE.match(text) if len(text) <= MAX_SIZE_TEXT else None
    if m is None or text.endswith("\n"):
        return None
    width, height = int(m.group(1)), int(m.group(2))
    if (width == 0 and height == 0) or width > MAX_SIDE or height > MAX_SIDE:
        return None
    mode: Mode = m.group(3) or ""  # type: ignore[assignment]
    return ThumbSize(width, height, mode)


def allowed(thumb: str, field_thumbs: list[str]) -> bool:
    """Whether `thumb` may be generated for a field: PocketBase's default or one the field lists."""
    return thumb in DEFAULT_THUMBS or thumb in field_thumbs


def output_type(original_type: str) -> str:
    """The content type a thumb of an original of `original_type` is stored and served with."""
    if original_type in ("image/jpeg", "image/jpg"):
        return "image/jpeg"
    if original_type == "image/gif":
        return "image/gif"
    return "image/png"


def _resized_side(target: int, src_this: int, src_other: int, other_target: int) -> int:
    """The missing side of a `Wx0`/`0xH` resize, rounded as `imaging.Resize` rounds it."""
    return max(1, int(other_target * src_this / src_other + 0.5)) if target == 0 else target


def _fit_size(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    (sw, sh), (bw, bh) = src, box
    if sw <= bw and sh <= bh:
        return sw, sh  # `f` never upscales
    if sw / sh > bw / bh:
        return bw, max(1, int(bw / (sw / sh)))
    return max(1, int(bh * (sw / sh))), bh


def _crop_box(src: tuple[int, int], dst: tuple[int, int], mode: Mode) -> tuple[int, int, int, int]:
    """The part of the source with the target's aspect ratio, anchored as `mode` says."""
    (sw, sh), (dw, dh) = src, dst
    if sw / sh < dw / dh:
        cw, ch = sw, min(sh, int(max(1.0, sw * dh / dw) + 0.5))
    else:
        cw, ch = min(sw, int(max(1.0, sh * dw / dh) + 0.5)), sh
    x = (sw - cw) // 2
    y = {"t": 0, "b": sh - ch}.get(mode, (sh - ch) // 2)
    return x, y, x + cw, y + ch


def _transform(img: Image.Image, size: ThumbSize) -> Image.Image:
    sw, sh = img.size
    if size.width == 0 or size.height == 0:
        dst = (
            _resized_side(size.width, sw, sh, size.height),
            _resized_side(size.height, sh, sw, size.width),
        )
        return img.resize(dst, Image.Resampling.BILINEAR)
    if size.mode == "f":
        dst = _fit_size((sw, sh), (size.width, size.height))
        return img.copy() if dst == (sw, sh) else img.resize(dst, Image.Resampling.BILINEAR)
    dst = (size.width, size.height)
    if dst == (sw, sh):
        return img.copy()
    return img.resize(dst, Image.Resampling.BILINEAR, box=_crop_box((sw, sh), dst, size.mode))


def _encodable(img: Image.Image, fmt: str) -> Image.Image:
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        return img.convert("RGB")
    if fmt == "PNG" and img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return img.convert("RGB")
    if fmt == "GIF" and img.mode not in ("P", "L"):
        return img.convert("P", palette=Image.Palette.ADAPTIVE)
    return img


def make_thumb(data: bytes, size: ThumbSize, original_type: str, max_pixels: int = MAX_SOURCE_PIXELS) -> bytes:
    """The encoded thumbnail of an image (blocking: call it from a worker thread)."""
    fmt = {"image/jpeg": "JPEG", "image/gif": "GIF"}.get(output_type(original_type), "PNG")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as src:
            if src.width * src.height > max_pixels:
                raise ThumbError(f"image too large ({src.width}x{src.height})")
            src.seek(0)  # the first frame of an animation
            img = ImageOps.exif_transpose(src)
            if img.mode == "P" and fmt != "GIF":
                img = img.convert("RGBA")
            thumb = _encodable(_transform(img, size), fmt)
            out = io.BytesIO()
            if fmt == "JPEG":
                thumb.save(out, fmt, quality=95)
            else:
                thumb.save(out, fmt)
            return out.getvalue()
    except ThumbError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ThumbError(f"cannot make the thumb: {exc}") from exc


class Thumbnailer:
    """Runs thumb generations for one app: one per key at a time, a few at most overall."""

    def __init__(self, max_workers: int = MAX_WORKERS, max_wait: float = MAX_WAIT) -> None:
        self._slots = asyncio.Semaphore(max_workers)
        self._max_wait = max_wait
        self._pending: dict[str, asyncio.Future[None]] = {}

    async def once(self, key: str, produce: Callable[[], Awaitable[None]]) -> None:
        """Run `produce` for `key` unless a run for it is under way, in which case wait for that one.

        Concurrent callers share one result (or one error); a caller arriving after it finished
        starts afresh (and is expected to find the stored thumb before calling).
        """
        pending = self._pending.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
            try:
                await produce()
            finally:
                self._slots.release()
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else ThumbError("cancelled"))
            future.exception()  # retrieved here: waiters re-raise it, nobody else needs to
            raise
        else:
            future.set_result(None)
        finally:
            del self._pending[key]

    async def render(self, data: bytes, size: ThumbSize, original_type: str) -> bytes:
        return await asyncio.to_thread(make_thumb, data, size, original_type)

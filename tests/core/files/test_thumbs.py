"""Thumbnail sizes and formats (PocketBase's crop/fit semantics) and the generation queue."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
from PIL import Image

from satchel.core.files import thumbs
from satchel.core.files.thumbs import ThumbError, Thumbnailer, ThumbSize, make_thumb, parse_size


def encoded(fmt: str, size: tuple[int, int] = (200, 100), mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode != "P" else 1).save(out, fmt, **save)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100x100", ThumbSize(100, 100, "")),
        ("0x50", ThumbSize(0, 50, "")),
        ("50x0", ThumbSize(50, 0, "")),
        ("10x20t", ThumbSize(10, 20, "t")),
        ("10x20b", ThumbSize(10, 20, "b")),
        ("10x20f", ThumbSize(10, 20, "f")),
        ("0x0", None),
        ("0x0f", None),
        ("10x20x", None),
        ("10x", None),
        ("x10", None),
        ("10x20\n", None),
        ("-1x5", None),
        ("10001x5", None),
        ("9" * 5000 + "x1", None),
        ("00000000000100x100", None),  # too long to be a real size, though it parses
        ("\u0661\u0660x10", None),  # non-ASCII digits
    ],
)
def test_parse_size(text: str, expected: ThumbSize | None) -> None:
    assert parse_size(text) == expected


def test_allowed_sizes_are_the_default_and_the_listed_ones() -> None:
    assert thumbs.allowed("100x100", [])
    assert thumbs.allowed("20x20", ["20x20"])
    assert not thumbs.allowed("20x20", ["30x30"])
    assert not thumbs.allowed("100x100f", [])


@pytest.mark.parametrize(
    ("src", "thumb", "size"),
    [
        ((200, 100), "100x100", (100, 100)),
        ((200, 100), "40x0", (40, 20)),
        ((200, 100), "0x30", (60, 30)),
        ((200, 100), "0x500", (1000, 500)),  # one-sided resizes upscale, as imaging.Resize does
        ((200, 100), "60x20f", (40, 20)),
        ((200, 100), "30x60f", (30, 15)),
        ((200, 100), "300x300f", (200, 100)),  # fit never upscales
        ((200, 100), "400x400", (400, 400)),  # fill does
        ((200, 100), "200x100", (200, 100)),
        ((3, 1000), "0x10", (1, 10)),  # never below one pixel
        ((1000, 3), "10x0", (10, 1)),
        ((1000, 3), "10x10f", (10, 1)),
    ],
)
def test_output_sizes(src: tuple[int, int], thumb: str, size: tuple[int, int]) -> None:
    spec = parse_size(thumb)
    assert spec is not None
    assert opened(make_thumb(encoded("PNG", src), spec, "image/png")).size == size


def _bands() -> bytes:
    """100x300 with a red top third, green middle and blue bottom (to see where a crop came from)."""
    img = Image.new("RGB", (100, 300))
    for i, colour in enumerate(("red", "lime", "blue")):
        img.paste(colour, (0, 100 * i, 100, 100 * (i + 1)))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("mode", "colour"), [("t", (255, 0, 0)), ("", (0, 255, 0)), ("b", (0, 0, 255))])
def test_fill_crops_from_the_anchor(mode: str, colour: tuple[int, int, int]) -> None:
    thumb = opened(make_thumb(_bands(), ThumbSize(30, 30, mode), "image/png")).convert("RGB")  # type: ignore[arg-type]
    assert thumb.size == (30, 30)
    assert thumb.getpixel((15, 15)) == colour


def test_exif_orientation_is_applied_first() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: a 200x100 picture is shown 100x200
    data = encoded("JPEG", (200, 100), exif=exif.tobytes())
    assert opened(make_thumb(data, ThumbSize(50, 0, ""), "image/jpeg")).size == (50, 100)


def test_formats_follow_pocketbase() -> None:
    spec = ThumbSize(20, 20, "")
    assert opened(make_thumb(encoded("JPEG"), spec, "image/jpeg")).format == "JPEG"
    assert opened(make_thumb(encoded("PNG", mode="RGBA"), spec, "image/png")).format == "PNG"
    assert opened(make_thumb(encoded("WEBP"), spec, "image/webp")).format == "PNG"
    assert opened(make_thumb(encoded("GIF", mode="P"), spec, "image/gif")).format == "GIF"
    assert thumbs.output_type("image/webp") == "image/png"
    assert thumbs.output_type("image/jpeg") == "image/jpeg"
    assert thumbs.output_type("image/gif") == "image/gif"


def test_transparent_png_to_jpeg_and_palette_images_are_converted() -> None:
    spec = ThumbSize(20, 20, "")
    rgba = encoded("PNG", mode="RGBA")
    assert opened(make_thumb(rgba, spec, "image/jpeg")).mode == "RGB"
    palette = encoded("PNG", mode="P")
    assert opened(make_thumb(palette, spec, "image/png")).size == (20, 20)


def test_only_the_first_frame_of_an_animation() -> None:
    frames = [Image.new("P", (40, 40), i) for i in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    thumb = opened(make_thumb(out.getvalue(), ThumbSize(10, 10, ""), "image/gif"))
    assert thumb.size == (10, 10) and getattr(thumb, "n_frames", 1) == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        encoded("PNG")[:60],  # truncated
        encoded("BMP"),  # decodable by Pillow, but not a format thumbs are made of
        encoded("TIFF"),
    ],
)
def test_unreadable_sources_raise_thumb_error(data: bytes) -> None:
    with pytest.raises(ThumbError):
        make_thumb(data, ThumbSize(10, 10, ""), "image/png")


def test_images_with_too_many_pixels_are_refused() -> None:
    data = encoded("PNG", (300, 300))
    with pytest.raises(ThumbError, match="too large"):
        make_thumb(data, ThumbSize(10, 10, ""), "image/png", max_pixels=300 * 300 - 1)
    assert opened(make_thumb(data, ThumbSize(10, 10, ""), "image/png", max_pixels=300 * 300)).size == (10, 10)


# ------------------------------------------------------------------ the queue


async def test_once_runs_one_producer_per_key_and_shares_its_result() -> None:
    queue = Thumbnailer(max_workers=4)
    release = asyncio.Event()
    runs: list[str] = []

    async def produce(key: str) -> None:
        runs.append(key)
        await release.wait()

    waiters = [asyncio.create_task(queue.once("a", lambda: produce("a"))) for _ in range(3)]
    other = asyncio.create_task(queue.once("b", lambda: produce("b")))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sorted(runs) == ["a", "b"]
    release.set()
    await asyncio.gather(*waiters, other)
    assert sorted(runs) == ["a", "b"]
    await queue.once("a", lambda: produce("a"))  # a later call after completion runs again
    assert sorted(runs) == ["a", "a", "b"]


async def test_once_shares_a_failure_with_every_waiter() -> None:
    queue = Thumbnailer()
    release = asyncio.Event()

    async def failing() -> None:
        await release.wait()
        raise ThumbError("bad image")

    tasks = [asyncio.create_task(queue.once("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ThumbError) for r in results)


async def test_no_free_worker_within_the_wait_gives_up() -> None:
    queue = Thumbnailer(max_workers=1, max_wait=0.01)
    release = asyncio.Event()

    async def blocking() -> None:
        await release.wait()

    holder = asyncio.create_task(queue.once("first", blocking))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        await queue.once("second", blocking)
    release.set()
    await holder
    await queue.once("second", lambda: asyncio.sleep(0))  # the worker is free again


async def test_render_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = thumbs.make_thumb

    def recording(data: bytes, size: ThumbSize, original_type: str) -> bytes:
        threads.append(threading.get_ident())
        return real(data, size, original_type)

    monkeypatch.setattr(thumbs, "make_thumb", recording)
    data = await Thumbnailer().render(encoded("PNG"), ThumbSize(10, 10, ""), "image/png")
    assert opened(data).size == (10, 10)
    assert threads and threads[0] != threading.get_ident()

"""The output files the emulator makes: images (Pillow, imported only here and only when used), WAV, MP4.

Each maker returns :class:`File` objects; the emulator serves them under ``/files/{request_id}/{name}``.
"""

from __future__ import annotations

import io
import math
import struct
import textwrap
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "MAKERS",
    "PILLOW_MISSING",
    "SECONDS",
    "File",
    "check_image",
    "image_size",
    "make_audio",
    "make_images",
    "make_video",
    "require_pillow",
]

PILLOW_MISSING = 'the runcomfy emulator needs Pillow: pip install "runcomfy[testing]"'
SECONDS = {"VIDEO": 1.0, "AUDIO": 0.5}
"""The length of the emulator's video file (assets/sample.mp4) and of its audio files."""

# output_format → (Pillow format, content type, file extension)
_IMAGE_FORMATS = {
    "png": ("PNG", "image/png", "png"),
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "jpg": ("JPEG", "image/jpeg", "jpg"),
    "webp": ("WEBP", "image/webp", "webp"),
}
_RESOLUTIONS = {"0.5k": 512, "1k": 1024, "2k": 2048, "4k": 4096}
# wan-style ``image_size`` → (width ratio, height ratio, long side)
_IMAGE_SIZES = {
    "square_hd": (1, 1, 1024),
    "square": (1, 1, 512),
    "portrait_4_3": (3, 4, 1024),
    "portrait_16_9": (9, 16, 1024),
    "landscape_4_3": (4, 3, 1024),
    "landscape_16_9": (16, 9, 1024),
}
_TINTS = [(255, 80, 40), (40, 160, 255), (60, 200, 90), (200, 60, 220)]


@dataclass(frozen=True)
class File:
    """One output file: its name below the request's folder, its bytes and content type."""

    name: str
    data: bytes
    content_type: str


def image_size(params: Mapping[str, Any], source: tuple[int, int] | None, max_side: int) -> tuple[int, int]:
    """The output size from ``width``/``height``, ``image_size``, or ``aspect_ratio`` with ``resolution``.

    ``aspect_ratio`` "auto"/"adaptive" (or none) keeps the source image's ratio, else 1:1. The long side is
    capped at ``max_side`` (the ratio is kept).
    """
    long_side = _RESOLUTIONS.get(str(params.get("resolution", "1k")).lower(), 1024)
    ratio_w, ratio_h = source or (1, 1)
    if isinstance(params.get("width"), int) and isinstance(params.get("height"), int):
        ratio_w, ratio_h = params["width"], params["height"]
        long_side = max(ratio_w, ratio_h)
    elif str(params.get("image_size")) in _IMAGE_SIZES:
        ratio_w, ratio_h, long_side = _IMAGE_SIZES[str(params["image_size"])]
    else:
        parts = str(params.get("aspect_ratio", "auto")).split(":")
        if len(parts) == 2 and all(part.isdigit() and int(part) > 0 for part in parts):
            ratio_w, ratio_h = int(parts[0]), int(parts[1])
    long_side = min(long_side, max_side)
    scale = long_side / max(ratio_w, ratio_h)
    return max(1, round(ratio_w * scale)), max(1, round(ratio_h * scale))


def make_images(params: Mapping[str, Any], source: bytes | None, max_side: int) -> list[File]:
    """``num_images`` images in ``output_format``: the source image (or a placeholder), resized to the asked
    size, mirrored, tinted and labelled with the prompt, so a test can see the model "did something"."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    base: Image.Image | None = None
    if source is not None:
        try:
            base = Image.open(io.BytesIO(source)).convert("RGB")
        except Exception:  # not an image Pillow can read: fall back to the placeholder
            base = None
    width, height = image_size(params, base.size if base else None, max_side)
    if base is None:
        gradient = Image.linear_gradient("L").resize((width, height))
        base = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))
    base = ImageOps.mirror(ImageOps.fit(base, (width, height)))
    pil_format, content_type, extension = _IMAGE_FORMATS.get(
        str(params.get("output_format", "png")).lower(), _IMAGE_FORMATS["png"]
    )
    count = int(params.get("num_images") or 1)
    font = ImageFont.load_default(size=max(10, min(width, height) // 16))
    caption = textwrap.fill(str(params.get("prompt") or ""), width=40, max_lines=4, placeholder=" ...")
    files = []
    for index in range(count):
        image = Image.blend(base, Image.new("RGB", (width, height), _TINTS[index % len(_TINTS)]), 0.35)
        draw = ImageDraw.Draw(image)
        draw.multiline_text(
            (8, 8),
            f"#{index + 1}/{count}\n{caption}",
            fill=(255, 255, 255),
            font=font,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
        buffer = io.BytesIO()
        image.save(buffer, format=pil_format, **({"compress_level": 1} if pil_format == "PNG" else {}))
        files.append(File(f"image_{index + 1}.{extension}", buffer.getvalue(), content_type))
    return files


def require_pillow() -> None:
    """Raise :class:`ImportError` naming the ``pip install`` line when Pillow is missing."""
    import importlib.util

    if importlib.util.find_spec("PIL") is None:  # found, not imported: Pillow is imported when an image is made
        raise ImportError(PILLOW_MISSING)


def check_image(data: bytes) -> None:
    """Raise :class:`ValueError` unless Pillow decodes ``data`` as an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except UnidentifiedImageError:
        raise ValueError("not in an image format Pillow knows") from None
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, DecompressionBombError, ...)
        raise ValueError(str(exc) or type(exc).__name__) from None


def make_audio(seconds: float = SECONDS["AUDIO"], rate: int = 8000, pitch: float = 440.0) -> list[File]:
    """A short mono 16-bit sine tone as a WAV file."""
    samples = (round(12000 * math.sin(2 * math.pi * pitch * i / rate)) for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return [File("output.wav", buffer.getvalue(), "audio/wav")]


def make_video() -> list[File]:
    """A tiny valid MP4 (1 s, 160x90, H.264) shipped with the package: no encoder needed at run time."""
    data = resources.files("runcomfy.testing").joinpath("assets/sample.mp4").read_bytes()
    return [File("output.mp4", data, "video/mp4")]


# output type → the maker of its files, given (params, first input image bytes or None, max side)
MAKERS: dict[str, Callable[[Mapping[str, Any], bytes | None, int], list[File]]] = {
    "IMAGE": make_images,
    "VIDEO": lambda params, source, max_side: make_video(),
    "AUDIO": lambda params, source, max_side: make_audio(),
}

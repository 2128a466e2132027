"""Local media for media fields: a ``pathlib.Path``, ``bytes`` or a PIL image becomes a ``data:`` URI.

The file type is told from its first bytes (or, for a path, its name), must be of the field's kind
(an image for ``image_uri``...), and the file must be within the recommended inline sizes (images 50 MB,
videos and audio 100 MB: larger files should be hosted and passed as a URL). A model's RunComfy
``validations`` (file size, aspect ratio, minimum pixels) are checked on local images before sending.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["INLINE_LIMITS", "LocalMediaError", "is_local", "to_data_uri"]

MB = 1024 * 1024
INLINE_LIMITS = {"image": 50 * MB, "video": 100 * MB, "audio": 100 * MB}

# (offset, magic bytes, MIME type), first match wins.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF8", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (0, b"BM", "image/bmp"),
    (8, b"WAVE", "audio/wav"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (4, b"ftypqt", "video/quicktime"),
    (4, b"ftyp", "video/mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)


class LocalMediaError(ValueError):
    """A local file that cannot be sent inline (unknown type, wrong kind, too big, or a RunComfy rule)."""


def is_local(value: object) -> bool:
    """A path, raw bytes, or an image object with ``save`` (PIL): content to send as a ``data:`` URI."""
    return isinstance(value, (os.PathLike, bytes, bytearray, memoryview)) or (
        hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode")
    )


def to_data_uri(value: Any, kind: str, rules: Sequence[Mapping[str, Any]] = ()) -> str:
    """The ``data:<mime>;base64,...`` URI of a local file or image, checked for the field's ``kind``."""
    data, mime, name = _read(value, kind)
    limit = INLINE_LIMITS[kind]
    if len(data) > limit:
        raise LocalMediaError(
            f"{name} is {len(data) / MB:.1f} MB, over the {limit // MB} MB recommended for {kind}s sent inline: "
            "host the file and pass its URL instead"
        )
    if not mime.startswith(kind + "/"):
        raise LocalMediaError(f"{name} is {mime}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    _check_rules(data, kind, rules)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _read(value: Any, kind: str) -> tuple[bytes, str, str]:
    """(content, MIME type, a name for messages)."""
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        size = os.path.getsize(path) if os.path.isfile(path) else None
        if size is None:
            raise LocalMediaError(f"{path} is not a readable file")
        if size > INLINE_LIMITS[kind]:  # refuse before reading a huge file into memory
            raise LocalMediaError(
                f"{path} is {size / MB:.1f} MB, over the {INLINE_LIMITS[kind] // MB} MB recommended for {kind}s "
                "sent inline: host the file and pass its URL instead"
            )
        with open(path, "rb") as file:
            data = file.read()
        import mimetypes

        return data, _sniff(data) or mimetypes.guess_type(path)[0] or "application/octet-stream", str(path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return data, _sniff(data) or "application/octet-stream", "the bytes given"
    import io

    buffer = io.BytesIO()
    value.save(buffer, format="PNG")  # a PIL image: sent as PNG
    return buffer.getvalue(), "image/png", "the image given"


def _sniff(data: bytes) -> str | None:
    for offset, magic, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


def _check_rules(data: bytes, kind: str, rules: Sequence[Mapping[str, Any]]) -> None:
    """RunComfy's ``validations``: ``file_size_mb<``, ``width/height>``/``<``, ``width_pixels>``..."""
    size = _image_size(data) if kind == "image" else None
    for rule in rules:
        name, limit = rule.get("validation_rule"), rule.get("validation_value")
        if not isinstance(limit, (int, float)) or isinstance(limit, bool):
            continue
        measured: float | None = None
        if name in ("file_size_mb<", "file_size_mb>"):
            measured = len(data) / MB
        elif size is not None and name in ("width/height<", "width/height>"):
            measured = size[0] / size[1] if size[1] else None
        elif size is not None and name in ("width_pixels<", "width_pixels>"):
            measured = size[0]
        elif size is not None and name in ("height_pixels<", "height_pixels>"):
            measured = size[1]
        if measured is None or not isinstance(name, str):
            continue  # a rule this client does not know, or on content it cannot measure: the server checks
        ok = measured < limit if name.endswith("<") else measured > limit
        if not ok:
            raise LocalMediaError(str(rule.get("validation_error") or f"{name} {limit} not met ({measured:g})"))


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image: with Pillow when installed, else from PNG, GIF or JPEG headers."""
    try:
        import io

        from PIL import Image
    except ImportError:
        pass
    else:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return int(image.size[0]), int(image.size[1])
        except Exception:
            pass
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"GIF8" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:3] == b"\xff\xd8\xff":
        index = 2
        while index + 9 < len(data) and data[index] == 0xFF:
            marker, length = data[index + 1], int.from_bytes(data[index + 2 : index + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[index + 7 : index + 9], "big"), int.from_bytes(
                    data[index + 5 : index + 7], "big"
                )
            index += 2 + length
    return None

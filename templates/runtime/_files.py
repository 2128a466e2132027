"""Local media for media fields: a ``pathlib.Path``, ``bytes`` or a PIL image becomes a ``data:`` URI.

The file type is told from its content alone (magic bytes: never the file's name), must be of the
field's kind (an image for ``image_uri``...), and the file must be within the recommended inline sizes
(images 50 MB, videos and audio 100 MB: larger files should be hosted and passed as a URL). A path is
followed only to a regular file (never a device, FIFO or directory), its size is taken from the open
file before reading, and the read is bounded. A model's RunComfy ``validations`` (file size, aspect
ratio, minimum pixels) are checked on local images before sending.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FORMATS", "INLINE_LIMITS", "LocalMediaError", "is_local", "sniff", "to_data_uri"]

MB = 1024 * 1024
INLINE_LIMITS = {"image": 50 * MB, "video": 100 * MB, "audio": 100 * MB}
FORMATS = {
    "image": "PNG, JPEG, GIF, WebP, BMP, TIFF, HEIC or AVIF",
    "video": "MP4, MOV, WebM, MKV or AVI",
    "audio": "MP3, WAV, FLAC, OGG, AAC or M4A",
}
"""What the sniffer recognises, per kind (for messages)."""

# (offset, magic bytes, MIME type), first match wins; the containers below need more than a prefix.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"ID3\x02", "audio/mpeg"),
    (0, b"ID3\x03", "audio/mpeg"),
    (0, b"ID3\x04", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
# ISO base media file format (``....ftyp<brand>``): brand → MIME type; other brands are not recognised.
_VIDEO_BRANDS = (
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71",
    b"avc1", b"av01", b"dash", b"M4V ", b"M4VH", b"M4VP", b"MSNV", b"NDAS", b"XAVC", b"mmp4", b"f4v ",
    b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3g2a", b"3g2b", b"3g2c",
)  # fmt: skip
_FTYP_BRANDS = {
    **dict.fromkeys((b"avif", b"avis"), "image/avif"),
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "image/heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "image/heif"),
    **dict.fromkeys((b"M4A ", b"M4B ", b"M4P "), "audio/mp4"),
    b"qt  ": "video/quicktime",
    **dict.fromkeys(_VIDEO_BRANDS, "video/mp4"),
}
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_READ_CHUNK = 1 * MB


class LocalMediaError(ValueError):
    """A local file that cannot be sent inline (unknown type, wrong kind, too big, or a RunComfy rule)."""


def is_local(value: object) -> bool:
    """A path, raw bytes, or an image object with ``save`` (PIL): content to send as a ``data:`` URI."""
    return isinstance(value, (os.PathLike, bytes, bytearray, memoryview)) or (
        hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode")
    )


def to_data_uri(value: Any, kind: str, rules: Sequence[Mapping[str, Any]] = ()) -> str:
    """The ``data:<mime>;base64,...`` URI of a local file or image, checked for the field's ``kind``."""
    data, name = _read(value, kind)
    _check_size(len(data), kind, name)
    mime = sniff(data)
    if mime is None:
        raise LocalMediaError(f"the content of {name} is not a recognised {kind} ({FORMATS[kind]})")
    if not mime.startswith(kind + "/"):
        raise LocalMediaError(f"{name} is {mime}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    _check_rules(data, kind, rules)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _check_size(size: int, kind: str, name: str) -> None:
    limit = INLINE_LIMITS[kind]
    if size > limit:
        raise LocalMediaError(
            f"{name} is {size / MB:.1f} MB, over the {limit // MB} MB recommended for {kind}s sent inline: "
            "host the file and pass its URL instead"
        )


def _read(value: Any, kind: str) -> tuple[bytes, str]:
    """(content, a name for messages)."""
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        return _read_file(path, kind), os.fsdecode(path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "the bytes given"
    import io

    buffer = io.BytesIO()
    value.save(buffer, format="PNG")  # a PIL image: sent as PNG
    return buffer.getvalue(), "the image given"


def _read_file(path: str | bytes, kind: str) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most the inline limit.

    A device, FIFO, socket or directory is refused before it is opened (opening a FIFO would block), and
    again from the open descriptor (the path may have been swapped in between); the size is checked from
    the descriptor before reading, and the read stops past the limit (the file may grow meanwhile).
    """
    name = os.fsdecode(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise LocalMediaError(f"{name} is not a readable file (it does not exist)") from None
    except ValueError as exc:  # an embedded NUL
        raise LocalMediaError(f"{name!r} is not a readable file ({exc})") from None
    _require_regular(mode, name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(fd)
        _require_regular(status.st_mode, name)
        limit = INLINE_LIMITS[kind]
        _check_size(status.st_size, kind, name)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        _check_size(size, kind, name)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _require_regular(mode: int, name: str) -> None:
    if not stat.S_ISREG(mode):
        kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
        what = next((text for test, text in kinds if test(mode)), "a device or other special file")
        raise LocalMediaError(f"{name} is not a readable file: it is {what}, not a regular file")


def sniff(data: bytes) -> str | None:
    """The MIME type of ``data`` told from its first bytes, or ``None`` when the format is not one the
    client recognises (see ``FORMATS``)."""
    for offset, magic, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF":
        return _RIFF.get(data[8:12])
    if data[4:8] == b"ftyp":
        return _ftyp(data)
    if data[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, or WebM (its DocType)
        return "video/webm" if b"webm" in data[:64] else "video/x-matroska"
    if data[:4] == b"OggS":
        return "video/ogg" if b"\x80theora" in data[:128] else "audio/ogg"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    return _audio_frame(data[:4])


def _ftyp(data: bytes) -> str | None:
    """An ISO BMFF file's type from its major brand, else from its first known compatible brand."""
    box = min(int.from_bytes(data[0:4], "big"), len(data), 4096)
    brands = [data[8:12]] + [data[index : index + 4] for index in range(16, box - 3, 4)]
    return next((_FTYP_BRANDS[brand] for brand in brands if brand in _FTYP_BRANDS), None)


def _audio_frame(head: bytes) -> str | None:
    """An MPEG audio layer III or II frame header (MP3 without an ID3 tag) or an ADTS header (raw AAC).

    Layer I is left out: its sync bytes ``FF FE``/``FF FF`` begin UTF-16 text too.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    if layer == 0:  # reserved in MPEG audio; ADTS when its version bits are those of MPEG-2/4
        return "audio/aac" if head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 15 < 13 else None
    bitrate, rate, emphasis = head[2] >> 4, (head[2] >> 2) & 3, head[3] & 3
    valid = version != 1 and layer in (1, 2) and bitrate not in (0, 15) and rate != 3 and emphasis != 2
    return "audio/mpeg" if valid else None


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

"""Local media sent inline (``runcomfy._files``): the type is told from the content alone, a path is
followed only to a regular file (never a FIFO, device or directory), and reading is bounded."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from runcomfy import ValidationError, _files

MEDIA = {
    "type": "object",
    "properties": {
        "image": {"type": "string", "format": "image_uri"},
        "video": {"type": "string", "format": "video_uri"},
        "audio": {"type": "string", "format": "audio_uri"},
    },
}

EBML = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82"


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    box = b"ftyp" + major + bytes(4) + b"".join(compatible)
    return (len(box) + 4).to_bytes(4, "big") + box + bytes(32)


def riff(form: bytes) -> bytes:
    return b"RIFF" + (100).to_bytes(4, "little") + form + bytes(32)


# One sample header per recognised format: (content, MIME type).
SAMPLES = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(32), "image/jpeg"),
    "gif": (b"GIF89a" + bytes(32), "image/gif"),
    "webp": (riff(b"WEBPVP8 "), "image/webp"),
    "bmp": (b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(32), "image/bmp"),
    "tiff-le": (b"II*\x00" + bytes(32), "image/tiff"),
    "tiff-be": (b"MM\x00*" + bytes(32), "image/tiff"),
    "heic": (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    "heif": (ftyp(b"mif1", b"mif1"), "image/heif"),
    "avif": (ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
    "mp4": (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    "mp4-mp42": (ftyp(b"mp42"), "video/mp4"),
    "mp4-compatible-brand": (ftyp(b"zzzz", b"abcd", b"iso6"), "video/mp4"),
    "mov": (ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    "webm": (EBML + b"\x84webm" + bytes(32), "video/webm"),
    "mkv": (EBML + b"\x88matroska" + bytes(32), "video/x-matroska"),
    "avi": (riff(b"AVI LIST"), "video/x-msvideo"),
    "wav": (riff(b"WAVEfmt "), "audio/wav"),
    "mp3-id3": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(32), "audio/mpeg"),
    "mp3-mpeg1": (b"\xff\xfb\x90\x64" + bytes(32), "audio/mpeg"),
    "mp3-mpeg2": (b"\xff\xf3\x84\xc4" + bytes(32), "audio/mpeg"),
    "mp3-mpeg2.5": (b"\xff\xe3\x18\xc4" + bytes(32), "audio/mpeg"),
    "flac": (b"fLaC\x00\x00\x00\x22" + bytes(32), "audio/flac"),
    "ogg": (b"OggS\x00\x02" + bytes(32), "audio/ogg"),
    "aac": (b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(32), "audio/aac"),
    "m4a": (ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
}

NOT_MEDIA = {
    "text": b"root:x:0:0:root:/root:/bin/bash\n",
    "empty": b"",
    "text starting with BM": b"BM hello, this is not a bitmap",
    "utf-16 text": "\ufeffhello".encode("utf-16-le"),
    "unknown ftyp brand": ftyp(b"zzzz", b"yyyy"),
    "unknown RIFF form": riff(b"CDXA"),
    "ID3 lookalike": b"ID3 tags are great",
    "html": b"<!doctype html><html></html>",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sniffer_recognises_the_common_formats(name: str) -> None:
    data, mime = SAMPLES[name]
    assert _files.sniff(data) == mime
    kind = mime.split("/")[0]
    assert _files.to_data_uri(data, kind).startswith(f"data:{mime};base64,")
    for other in {"image", "video", "audio"} - {kind}:  # of the field's kind only
        with pytest.raises(_files.LocalMediaError, match=f"is {mime}, not an? {other}"):
            _files.to_data_uri(data, other)


@pytest.mark.parametrize("name", sorted(NOT_MEDIA))
def test_content_that_is_not_media_is_refused_for_every_kind(name: str) -> None:
    assert _files.sniff(NOT_MEDIA[name]) is None
    for kind in ("image", "video", "audio"):
        with pytest.raises(_files.LocalMediaError, match=f"not a recognised {kind} \\("):
            _files.to_data_uri(NOT_MEDIA[name], kind)


def test_the_file_name_never_decides_the_type(generate_models: Any, tmp_path: Path) -> None:
    """``shadow.png``, a symlink to a text file (think ``/etc/shadow``), was sent as ``data:image/png``."""
    module = generate_models({"acme/media": MEDIA})["acme/media"]
    secret = tmp_path / "shadow"
    secret.write_bytes(NOT_MEDIA["text"])
    cases = {"image": tmp_path / "shadow.png", "video": tmp_path / "clip.mp4", "audio": tmp_path / "song.mp3"}
    for field, link in cases.items():
        link.symlink_to(secret)
        with pytest.raises(ValidationError) as info:
            module.Input(**{field: link})
        message = str(info.value)
        assert len(info.value.errors) == 1 and info.value.errors[0].path == (field,), message
        assert f"{field}: expected a" in message and str(link) in message, message
        assert f"is not a recognised {field} ({_files.FORMATS[field]})" in message, message
    real = tmp_path / "photo.dat"  # and a real image with any name is sent, as what its content says
    real.write_bytes(SAMPLES["jpeg"][0])
    assert module.Input(image=real).to_dict()["image"].startswith("data:image/jpeg;base64,")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")
def test_special_files_are_refused_without_being_read(generate_models: Any, tmp_path: Path) -> None:
    module = generate_models({"acme/media": MEDIA})["acme/media"]
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    targets = {"fifo": fifo, "directory": tmp_path, "device": Path(os.devnull)}
    for what, target in targets.items():
        link = tmp_path / f"{what}-link.png"
        link.symlink_to(target)
        for path in (target, link):
            with pytest.raises(ValidationError) as info:
                module.Input(image=path)
            expected = {"fifo": "a FIFO", "directory": "a directory", "device": "a device"}[what]
            assert f"it is {expected}" in str(info.value) and "not a regular file" in str(info.value), str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")
def test_a_path_swapped_for_a_fifo_after_the_check_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path is a regular file when checked, then a FIFO when opened: opening it must not block (the
    open is non-blocking) and the open file is checked again."""
    regular = os.stat(__file__)
    fifo = tmp_path / "swapped.png"
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(
        os, "stat", lambda path, *a, **k: regular if str(path) == str(fifo) else real_stat(path, *a, **k)
    )
    outcome: list[BaseException | str] = []

    def send() -> None:
        try:
            outcome.append(_files.to_data_uri(fifo, "image"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # blocked in open(): release it by opening the other end
        with open(fifo, "wb"):
            pass
        thread.join(10)
        pytest.fail("opening a FIFO blocked")
    assert isinstance(outcome[0], _files.LocalMediaError) and "it is a FIFO" in str(outcome[0]), outcome


def test_the_size_comes_from_the_open_file_and_the_read_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_files.INLINE_LIMITS, "image", 1000)
    path = tmp_path / "big.png"
    path.write_bytes(SAMPLES["png"][0] + bytes(5000))
    read: list[int] = []
    real_read, real_fstat = os.read, os.fstat

    def counting_read(fd: int, size: int) -> bytes:
        chunk = real_read(fd, size)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(_files.LocalMediaError, match="over the 0 MB recommended"):  # refused from fstat: nothing read
        _files.to_data_uri(path, "image")
    assert read == []

    def grown_later(fd: int) -> os.stat_result:  # the file grows after fstat: the read stops past the limit
        status = real_fstat(fd)
        return os.stat_result((*status[:6], 10, *status[7:10]))

    monkeypatch.setattr(os, "fstat", grown_later)
    with pytest.raises(_files.LocalMediaError, match="over the 0 MB recommended"):
        _files.to_data_uri(path, "image")
    assert sum(read) == 1001


def test_a_missing_path_or_one_with_a_nul_is_a_clear_error(generate_models: Any, tmp_path: Path) -> None:
    module = generate_models({"acme/media": MEDIA})["acme/media"]
    for path in (tmp_path / "missing.png", Path("bad\0name.png")):
        with pytest.raises(ValidationError, match="is not a readable file"):
            module.Input(image=path)


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("symlinks need privileges on Windows")

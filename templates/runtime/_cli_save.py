"""Where ``runcomfy run|wait|result --output-dir DIR`` puts a job's output files, as RunComfy's own CLI does.

- A file is named after its URL's last path segment (``.../abc/image_0.png`` → ``image_0.png``), reduced to
  one plain file name (separators, ``:*?"<>|``, and characters that do not print (controls, bidi and
  other format characters) become ``_``; dots and spaces trimmed, a leading ``-`` made ``_``; nothing
  left → ``output``; at most :data:`MAX_NAME` characters). A name already taken (a file in
  ``DIR``, or an earlier output of the same job) gets ``-1``, ``-2``... before its extension; an existing
  file is replaced only with ``--overwrite``.
- An output that names a file but is not an ``http(s)`` URL (``file:``, a path) is refused, as by the
  library (:class:`~runcomfy.errors.BadAnswerError`).
- Only URLs on RunComfy's storage hosts (``*.runcomfy.net``, ``*.runcomfy.com``) or on the API's own host
  (the emulator serves its files there) are fetched, redirects included: any other is refused, and nothing
  of the job is downloaded.
- The download itself is the library's (:func:`runcomfy._http.download`): no token sent, streamed to a
  temporary file and placed atomically, bounded in size (2 GiB) and time; all files or none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ._cli_common import SaveError

__all__ = ["TRUSTED_SUFFIXES", "allowed_hosts", "file_name", "output_urls", "save_outputs", "unique_path"]

TRUSTED_SUFFIXES = (".runcomfy.net", ".runcomfy.com")
"""The hosts RunComfy's output files live on (its CLI downloads from these only)."""
MAX_NAME = 200
MAX_CLASHES = 999
_NOT_IN_NAME = '/\\:*?"<>|'  # besides what does not print


def output_urls(output: object, *, request_id: str) -> list[str]:
    """Every file URL in an ``output`` value (nested lists and objects too), in order, once each. A value
    that refers to a file (``://`` in it, or a path) but is not an ``http(s)`` URL with a host is a
    :class:`~runcomfy.errors.BadAnswerError`, as in the library; other text (``data:`` URIs) is no file."""
    from ._core import _refers_to_file, check_download_url
    from ._output import strings_in

    files = (
        check_download_url(value, request_id=request_id) for value in strings_in([output]) if _refers_to_file(value)
    )
    return list(dict.fromkeys(files))  # linear, in order, once each


def file_name(url: str) -> str:
    """The file name of an output: its URL's last non-empty path segment (still percent-encoded), made a
    plain file name (see the module docstring)."""
    try:
        segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    except ValueError:
        segments = []
    last = segments[-1] if segments else ""
    name = "".join("_" if char in _NOT_IN_NAME or not char.isprintable() else char for char in last)
    name = name.strip().strip(".").strip()
    name = "_" + name[1:] if name.startswith("-") else name
    if len(name) > MAX_NAME:
        _, dot, extension = name.rpartition(".")
        keep = extension if dot and 0 < len(extension) <= 16 else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip(".") + ("." + keep if keep else "")
    return name if name not in ("", ".", "..") else "output"


def unique_path(directory: Path, name: str, taken: set[str], *, overwrite: bool) -> Path:
    """``directory / name``, or with ``-1``, ``-2``... before the extension when the name is taken (by a
    file there, unless ``overwrite``, or by ``taken``: the names this job's files got, case-blind)."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    for number in range(MAX_CLASHES + 1):
        candidate = name if number == 0 else f"{stem}-{number}" + (f".{extension}" if extension else "")
        path = directory / candidate
        if path.name != candidate or path.parent != directory:  # file_name never makes one
            raise ValueError(f"{candidate!r} is not a plain file name")
        if candidate.casefold() not in taken and (overwrite or not os.path.lexists(path)):
            taken.add(candidate.casefold())
            return path
    raise SaveError(f"{directory}: {MAX_CLASHES} files named like {name} already; choose another --output-dir")


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.scheme, (parts.hostname or "").lower(), port)


def allowed_hosts(api_base_url: str) -> Callable[[str], bool]:
    """Whether a URL may be downloaded: ``http(s)`` on a RunComfy storage host, or the API's own origin."""
    api = _origin(api_base_url)

    def allowed(url: str) -> bool:
        if "\\" in url:  # read as a path separator by some parsers, not by others: the host is unclear
            return False
        origin = _origin(url)
        if origin is None or origin[0] not in ("http", "https") or not origin[1]:
            return False
        return origin[1].endswith(TRUSTED_SUFFIXES) or origin == api

    return allowed


def save_outputs(
    output: object,
    directory: str,
    *,
    api_base_url: str,
    request_id: str,
    overwrite: bool,
    timeout: float,
    on_saved: Callable[[Path], None],
) -> list[Path]:
    """Download every output URL into ``directory`` (made if missing); returns the paths. Refused hosts are
    refused before anything is fetched; when one file fails, the files already saved are removed again."""
    from ._core import MAX_DOWNLOAD_BYTES
    from ._http import download, saving_all

    urls = output_urls(output, request_id=request_id)
    allowed = allowed_hosts(api_base_url)
    refused = [url for url in urls if not allowed(url)]
    if refused:
        raise SaveError(_refusal(refused, request_id))
    if not urls:
        return []
    root = Path(directory)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(f"cannot create --output-dir {directory}: {exc.strerror or exc}") from None
    taken: set[str] = set()
    with saving_all() as placed:
        for url in urls:
            path = unique_path(root, file_name(url), taken, overwrite=overwrite)
            download(url, path, timeout=timeout, max_bytes=MAX_DOWNLOAD_BYTES, overwrite=overwrite, allow=allowed)
            placed.append(path)
            on_saved(path)
    return list(placed)


def _refusal(refused: Sequence[str], request_id: str) -> str:
    from ._cli_common import printable

    shown = ", ".join(printable(url.split("?", 1)[0])[:200] for url in refused[:5])
    more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
    return (
        f"not downloaded: {len(refused)} output URL(s) on a host other than RunComfy's storage "
        f"(*.runcomfy.net, *.runcomfy.com) or the API's: {shown}{more}. The job {request_id} succeeded and its "
        "output (printed above) holds the URLs; --no-download skips downloading"
    )

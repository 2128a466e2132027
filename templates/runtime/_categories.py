"""The capability category of a model, as RunComfy's catalog names them (``text-to-image``,
``image-to-video``, ...), told from its id, output type and input schema.

Standalone on purpose (no import from the package): the emulator serves these categories, and the
generator reads this very file from its templates to write them into the API reference, so both always
apply the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MEDIA_KINDS", "categories_of", "media_kind"]

MEDIA_KINDS = ("image", "video", "audio")


def media_kind(spec: object) -> str | None:
    """``image``, ``video`` or ``audio`` for a media field (``format`` ``image_uri``, ``video_uris``, ...)."""
    if not isinstance(spec, Mapping):
        return None
    items = spec.get("items")
    for form in (spec.get("format"), items.get("format") if isinstance(items, Mapping) else None):
        kind = str(form).split("_", 1)[0]
        if str(form).endswith(("_uri", "_uris")) and kind in MEDIA_KINDS:
            return kind
    return None


def categories_of(model_id: str, output_type: str, input_schema: object) -> list[str]:
    """The capability category of a model: a segment of the model id that names one for its output
    (``.../image-to-video/720p``), else made from its inputs: video (into a video), else image, else audio,
    else text, ``-to-`` its output."""
    output = output_type.lower()
    for segment in model_id.lower().split("/"):
        source, to, target = segment.partition("-to-")
        if to and target == output and source:
            return [segment]
    properties = input_schema.get("properties") if isinstance(input_schema, Mapping) else None
    kinds = {media_kind(spec) for spec in properties.values()} if isinstance(properties, Mapping) else set()
    for source in ("video", "image", "audio"):
        if source in kinds and (source != "video" or output == "video"):
            return [f"{source}-to-{output}"]
    return [f"text-to-{output}"]

"""The model catalog: ``GET /v1/models`` (searchable, paged) and ``GET /v1/models/{model_id}``.

```python
from runcomfy import catalog
for entry in catalog.list_models(search="kling", include_schema=True):
    print(entry.model_id, entry.display_name, entry.base_price_usd)
entry = catalog.get_model("google/nano-banana-2/edit")    # with its input_schema
```

The calls go through a :class:`runcomfy.Client` (the default one unless ``client=`` is given), so they
share its token, retries and timeouts. The endpoints are RunComfy's own clients' (not in the Model API
reference), so entries keep the whole answer in ``raw``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._core import submit_path
from .errors import ServerError

if TYPE_CHECKING:
    from .client import Client

__all__ = ["CatalogEntry", "fetch_categories", "fetch_page", "get_model", "list_models", "output_type_of"]

PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One model of the catalog. ``input_schema`` is ``None`` unless the schema was asked for."""

    model_id: str
    display_name: str | None
    categories: tuple[str, ...]
    base_price_usd: float | None
    price_unit: str | None
    input_schema: dict[str, Any] | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False)

    @property
    def output_type(self) -> str | None:
        """``IMAGE``, ``VIDEO`` or ``AUDIO`` from the categories (see :func:`output_type_of`)."""
        return output_type_of(self.categories)

    @classmethod
    def from_json(cls, data: Any) -> CatalogEntry:
        if not isinstance(data, Mapping) or not isinstance(data.get("model_id"), str) or not data["model_id"]:
            raise ServerError("a catalog entry has no model_id", body=data)
        categories = data.get("categories")
        price = data.get("base_price_usd")
        schema = data.get("input_schema")
        name, unit = data.get("display_name"), data.get("price_unit")
        return cls(
            model_id=data["model_id"],
            display_name=name if isinstance(name, str) else None,
            categories=tuple(c for c in categories if isinstance(c, str)) if isinstance(categories, list) else (),
            base_price_usd=float(price) if isinstance(price, int | float) and not isinstance(price, bool) else None,
            price_unit=unit if isinstance(unit, str) else None,
            input_schema=dict(schema) if isinstance(schema, Mapping) else None,
            raw=dict(data),
        )


def output_type_of(categories: object) -> str | None:
    """``IMAGE``, ``VIDEO`` or ``AUDIO``: what the first category naming an output makes. RunComfy's
    categories are capabilities (``text-to-image``, ``image-to-video``: the word after the last ``-``);
    a plain ``image``/``video``/``audio`` counts too."""
    for category in categories if isinstance(categories, list | tuple) else ():
        word = category.rsplit("-", 1)[-1].upper() if isinstance(category, str) else ""
        if word in ("IMAGE", "VIDEO", "AUDIO"):
            return word
    return None


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from .client import default_client

    return default_client()


def fetch_page(
    *,
    search: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    include_schema: bool = False,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    client: Client | None = None,
) -> dict[str, Any]:
    """One page of ``GET /v1/models``, the answer as sent (``{"models": [...], "total": N}``); a
    :class:`ServerError` when it has no ``models`` list. Blank filters are left out."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (("search", search), ("category", category), ("kind", kind)):
        if value and value.strip():
            params[name] = value
    if include_schema:
        params["include_schema"] = "true"
    body, _ = _client(client)._transport.call("GET", "/v1/models", params=params)
    if not isinstance(body.get("models"), list):
        raise ServerError("the catalog answer has no models list", body=body)
    return body


def fetch_categories(*, client: Client | None = None) -> dict[str, Any]:
    """``GET /v1/models/categories``, the answer as sent (``{"categories": [...]}``); a :class:`ServerError`
    when it has no ``categories`` list."""
    body, _ = _client(client)._transport.call("GET", "/v1/models/categories")
    if not isinstance(body.get("categories"), list):
        raise ServerError("the categories answer has no categories list", body=body)
    return body


def list_models(
    *,
    search: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    include_schema: bool = False,
    page_size: int = PAGE_SIZE,
    client: Client | None = None,
) -> Iterator[CatalogEntry]:
    """Every catalog entry matching ``search`` / ``category`` / ``kind``, fetched a page at a time."""
    client = _client(client)
    offset = 0
    seen: set[str] = set()
    while True:
        body = fetch_page(
            search=search,
            category=category,
            kind=kind,
            include_schema=include_schema,
            limit=page_size,
            offset=offset,
            client=client,
        )
        page = body["models"]
        entries = [CatalogEntry.from_json(item) for item in page]
        new = [entry for entry in entries if entry.model_id not in seen]
        yield from new
        if entries and not new:  # a server that ignores offset would page forever: stop at the repeat
            return
        seen.update(entry.model_id for entry in new)
        offset += len(page)
        total = body.get("total")
        if not page or (isinstance(total, int) and offset >= total) or (total is None and len(page) < page_size):
            return


def get_model(model_id: str, *, client: Client | None = None) -> CatalogEntry:
    """One model's entry, with its input schema."""
    body, _ = _client(client)._transport.call("GET", submit_path(model_id))  # the model id checked, segments escaped
    return CatalogEntry.from_json(body)

"""The catalog: GET /products (public), POST /admin/products (admin upsert; an existing
sku keeps its stock) and POST /admin/products/{sku}/stock (deliveries, availability)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, authenticate, require_role
from api.consistency import await_views, position_headers
from api.operations import LOG_POSITION_HEADER, Access, Operation
from api.problems import Problem
from api.rate_limits import limit_read
from api.representations import json_response
from api.schemas import (
    CatalogUpserted,
    ProductList,
    ProductOut,
    ProductUpload,
    ReadQuery,
    StockChangeBody,
    StockOut,
)
from api.services import ApiServices, services_of
from api.validation import invalid_request, parse_body, validate_query
from application.catalog import CatalogLoaded, StockChanged
from domain import actors
from projections import CatalogView


async def list_products(request: Request) -> Response:
    limit_read(request)
    query = validate_query(ReadQuery, request.query_params)
    await await_views(request, [CatalogView.name], query.min_position)
    products = await run_in_threadpool(services_of(request).product_queries.list_active)
    items = [ProductOut.model_validate(product, from_attributes=True) for product in products]
    return json_response(ProductList(items=items))


def _upsert(services: ApiServices, upload: ProductUpload, actor: str) -> CatalogLoaded:
    entries = [product.entry() for product in upload.entries()]
    try:
        return services.catalog.upsert(entries, actor=actor)
    except ValueError as exc:  # the same sku twice in one upload
        raise Problem(422, "Unprocessable Content", str(exc), kind="duplicate-sku") from None


async def upsert_products(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    upload = await parse_body(request, ProductUpload)
    actor = actors.admin(principal.subject)  # adr/0016
    loaded = await run_in_threadpool(_upsert, services_of(request), upload, actor)
    body = CatalogUpserted(
        created=loaded.created, updated=loaded.updated, unchanged=loaded.unchanged
    )
    return json_response(body, headers=position_headers(loaded.position))


def _change_stock(
    services: ApiServices, sku: str, body: StockChangeBody, actor: str
) -> StockChanged:
    if (body.delta is None) == (body.available is None):
        raise invalid_request(
            "Give exactly one of delta and available.",
            [{"field": "delta", "message": "give delta or available, not both or neither"}],
        )
    return services.catalog.change_stock(
        sku, delta=body.delta, available=body.available, actor=actor
    )


async def change_stock(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    body = await parse_body(request, StockChangeBody)
    sku: str = request.path_params["sku"]
    actor = actors.admin(principal.subject)
    changed = await run_in_threadpool(_change_stock, services_of(request), sku, body, actor)
    out = StockOut(sku=changed.sku, on_hand=changed.on_hand, available=changed.available)
    return json_response(out, headers=position_headers(changed.position))


OPERATIONS = [
    Operation(
        "GET",
        "/products",
        list_products,
        operation_id="listProducts",
        summary="The products for sale, with their prices.",
        access=Access.PUBLIC,
        query=ReadQuery,
        response=ProductList,
        problems=(400, 429, 503),
        request_headers=(LOG_POSITION_HEADER,),
        tags=("catalog",),
    ),
    Operation(
        "POST",
        "/admin/products",
        upsert_products,
        operation_id="upsertProducts",
        summary="Create or update products and their stock, all or nothing.",
        access=Access.ADMIN,
        request=ProductUpload,
        response=CatalogUpserted,
        problems=(400, 401, 403, 409, 413, 422, 503),
        response_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
    ),
    Operation(
        "POST",
        "/admin/products/{sku}/stock",
        change_stock,
        operation_id="changeStock",
        summary=(
            "Add delivered units (`delta`) or set the units available to buy (`available`, "
            "on top of what open orders hold): never puts sold units back on sale."
        ),
        access=Access.ADMIN,
        request=StockChangeBody,
        response=StockOut,
        problems=(400, 401, 403, 413, 422, 503),
        response_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
    ),
]

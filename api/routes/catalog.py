"""The catalog: GET /products (public) and POST /admin/products (admin upsert)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, authenticate, require_role
from api.consistency import await_views, position_headers
from api.operations import LOG_POSITION_HEADER, Access, Operation
from api.problems import Problem
from api.representations import json_response
from api.schemas import CatalogUpserted, ProductList, ProductOut, ProductUpload, ReadQuery
from api.validation import parse_body, validate_query
from application.catalog import CatalogEntry, CatalogLoaded
from infrastructure.bootstrap import Container
from projections import CatalogView


async def list_products(request: Request) -> Response:
    query = validate_query(ReadQuery, request.query_params)
    await await_views(request, [CatalogView.name], query.min_position)
    container: Container = request.app.state.container
    products = await run_in_threadpool(container.product_queries.list_active)
    items = [ProductOut.model_validate(product, from_attributes=True) for product in products]
    return json_response(ProductList(items=items))


def _upsert(container: Container, upload: ProductUpload) -> CatalogLoaded:
    entries = [
        CatalogEntry(
            sku=product.sku,
            name=product.name,
            vendor_id=product.vendor_id,
            unit_amount=product.unit_amount,
            currency=product.currency,
            stock=product.stock,
            active=product.active,
        )
        for product in upload.entries()
    ]
    try:
        return container.catalog.upsert(entries)
    except ValueError as exc:  # the same sku twice in one upload
        raise Problem(422, "Unprocessable Content", str(exc), kind="duplicate-sku") from None


async def upsert_products(request: Request) -> Response:
    require_role(authenticate(request), ADMIN)
    upload = await parse_body(request, ProductUpload)
    container: Container = request.app.state.container
    loaded = await run_in_threadpool(_upsert, container, upload)
    body = CatalogUpserted(
        created=loaded.created, updated=loaded.updated, unchanged=loaded.unchanged
    )
    return json_response(body, headers=position_headers(loaded.position))


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
        problems=(400, 503),
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
]

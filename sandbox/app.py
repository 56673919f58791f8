"""The composition root of the sandbox: one Starlette app serving both providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .config import SandboxConfig
from .controls import SandboxControls
from .faults import FaultInjector, FaultMiddleware
from .pages import RazorpayCheckoutPage, StripeCheckoutPage
from .razorpay_api import RazorpayApi
from .razorpay_disputes import RazorpayDisputes
from .razorpay_events import RazorpayEventLog
from .razorpay_orders import RazorpayOrders
from .store import SandboxStore
from .stripe_api import StripeApi
from .stripe_checkout import StripeCheckout
from .stripe_disputes import StripeDisputes
from .stripe_events import StripeEventLog
from .stripe_intents import StripeIntents
from .webhooks import WebhookDispatcher

_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class SandboxParts:
    """The app's collaborators, on ``app.state.sandbox`` for in-process callers."""

    config: SandboxConfig
    store: SandboxStore
    dispatcher: WebhookDispatcher
    faults: FaultInjector


def create_sandbox_app(config: SandboxConfig | None = None) -> Starlette:
    config = config or SandboxConfig()
    store = SandboxStore()
    dispatcher = WebhookDispatcher(config)
    faults = FaultInjector()
    stripe_events = StripeEventLog(store, dispatcher, config)
    intents = StripeIntents(store, stripe_events)
    checkout = StripeCheckout(store, stripe_events, intents)
    stripe_disputes = StripeDisputes(store, stripe_events)
    stripe_api = StripeApi(store, intents, checkout, stripe_disputes, stripe_events, config)
    razorpay_events = RazorpayEventLog(store, dispatcher, config)
    orders = RazorpayOrders(store, razorpay_events)
    razorpay_disputes = RazorpayDisputes(store, razorpay_events)
    razorpay_api = RazorpayApi(orders, razorpay_disputes)
    controls = SandboxControls(
        store,
        dispatcher,
        faults,
        stripe_events=stripe_events,
        stripe_checkout=checkout,
        stripe_intents=intents,
        stripe_disputes=stripe_disputes,
        razorpay_events=razorpay_events,
        razorpay_orders=orders,
        razorpay_disputes=razorpay_disputes,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "service": "checkout-engine provider sandbox",
                "stripe_api_base": f"{request.base_url}stripe",
                "razorpay_api_base": f"{request.base_url}razorpay",
                "controls": f"{request.base_url}_sandbox",
            }
        )

    routes = [
        Route("/", index, methods=["GET"]),
        Mount(
            "/stripe",
            routes=[
                *stripe_api.routes(),
                *StripeCheckoutPage(checkout).routes(),
                Route("/{path:path}", stripe_api.not_found, methods=_ANY_METHOD),
            ],
        ),
        Mount(
            "/razorpay",
            routes=[
                *razorpay_api.routes(),
                *RazorpayCheckoutPage(orders).routes(),
                Route("/{path:path}", razorpay_api.not_found, methods=_ANY_METHOD),
            ],
        ),
        Mount("/_sandbox", routes=controls.routes()),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, injector=faults)],
        lifespan=lifespan,
    )
    app.state.sandbox = SandboxParts(config, store, dispatcher, faults)
    return app

"""`python -m sandbox`: the Stripe and Razorpay sandbox on its own, under /stripe and /razorpay.

The engine never imports the sandbox (adr/0014): `checkout-engine sandbox` and `run` start this
module as a process of its own, with the same options.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import SandboxConfig
from .server import run_sandbox

EXIT_USAGE = 2


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not in the range 1<=x<=65535")
    return port


def _event_types(value: str) -> frozenset[str] | None:
    types = frozenset(part.strip() for part in value.split(",") if part.strip())
    if not types:
        raise argparse.ArgumentTypeError("name at least one event type, or *")
    return None if "*" in types else types


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="The Stripe and Razorpay sandbox on its own (under /stripe and /razorpay).",
    )
    options.add_argument("--host", default="127.0.0.1", help="Bind address.")
    options.add_argument("--port", default=12111, type=_port)
    options.add_argument("--stripe-webhook-url", help="Where to send signed Stripe webhooks.")
    options.add_argument("--stripe-webhook-secret", help="The whsec_ secret that signs them.")
    options.add_argument("--razorpay-webhook-url", help="Where to send signed Razorpay webhooks.")
    options.add_argument("--razorpay-webhook-secret", help="Secret that signs them.")
    for provider in ("stripe", "razorpay"):
        options.add_argument(
            f"--{provider}-webhook-events",
            type=_event_types,
            default=None,
            metavar="TYPES",
            help=f"Comma-separated event types the {provider} endpoint takes (default: all).",
        )
    options.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="Log no line per request (`run` passes it: the engine keeps its own evidence).",
    )
    options.add_argument(
        "--webhook-max-attempts",
        type=int,
        default=SandboxConfig.webhook_max_attempts,
        help="Deliveries of one webhook before giving up (the real providers retry for days).",
    )
    options.add_argument(
        "--webhook-retry-max-seconds",
        type=float,
        default=SandboxConfig.webhook_retry_max_seconds,
        help="The longest wait between two deliveries (the wait doubles up to it).",
    )
    return options


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    for option, url, secret in (
        ("--stripe-webhook-url", args.stripe_webhook_url, args.stripe_webhook_secret),
        ("--razorpay-webhook-url", args.razorpay_webhook_url, args.razorpay_webhook_secret),
    ):
        if url and not secret:
            print(f"sandbox: error: {option} needs its webhook secret too", file=sys.stderr)
            sys.exit(EXIT_USAGE)
    config = SandboxConfig(
        stripe_webhook_url=args.stripe_webhook_url,
        stripe_webhook_secret=args.stripe_webhook_secret,
        razorpay_webhook_url=args.razorpay_webhook_url,
        razorpay_webhook_secret=args.razorpay_webhook_secret,
        stripe_webhook_events=args.stripe_webhook_events,
        razorpay_webhook_events=args.razorpay_webhook_events,
        webhook_max_attempts=args.webhook_max_attempts,
        webhook_retry_max_seconds=args.webhook_retry_max_seconds,
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = f"http://{args.host}:{args.port}"
    logging.getLogger("sandbox").info(
        "provider sandbox starting: stripe=%s/stripe razorpay=%s/razorpay", base, base
    )
    run_sandbox(args.host, args.port, config, access_log=args.access_log)


if __name__ == "__main__":
    main()

"""`python -m bench.scale_out PROCESSES CLIENTS SECONDS SKUS [DATABASE_URL]` (adr/0020).

Checkout writers in several processes on the same database and the same skus, without HTTP:
each process is a Container with its writer and CLIENTS closed-loop threads, each placing
two-sku checkouts for SECONDS. Prints checkouts/s and the batches decided again after a
conflict. The database is a new one on the server of DATABASE_URL (default: the local
PostgreSQL), dropped afterwards.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import psycopg

from entrypoints.harness import container_from_environment, database_url_for, libpq_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def child(url: str, clients: int, seconds: float, skus: int) -> dict[str, Any]:
    from application.checkout import CartItem, CheckoutRequest

    container = container_from_environment(url, "", pool_size=4)
    writer = container.checkout_writer
    names = [f"S{i}" for i in range(skus)]
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        pick = random.Random(n)
        while time.monotonic() < stop:
            cart = tuple(CartItem(sku, 1) for sku in pick.sample(names, 2))
            writer.place(CheckoutRequest(f"c{n}-{uuid.uuid4()}", cart, "stripe"))
            done[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    result = {"checkouts": sum(done), "seconds": elapsed, "conflicts": writer.conflicts}
    container.close()
    return result


def measure(processes: int, clients: int, seconds: float, skus: int, url: str) -> dict[str, Any]:
    from application.catalog import CatalogEntry

    server = libpq_url(url)
    name = f"scale_out_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = libpq_url(database_url_for(url, name))
    try:
        setup = container_from_environment(database, "", pool_size=2)
        entries = [CatalogEntry(f"S{i}", f"S{i}", "v", 100, "EUR", 10_000_000) for i in range(skus)]
        setup.catalog.upsert(entries)
        setup.close()
        command = [sys.executable, "-m", "bench.scale_out", "--child", database]
        children = [
            subprocess.Popen(
                [*command, str(clients), str(seconds), str(skus)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        results = [json.loads(c.communicate()[0].strip().splitlines()[-1]) for c in children]
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    total = sum(r["checkouts"] for r in results)
    return {
        "processes": processes,
        "clients_per_process": clients,
        "skus": skus,
        "checkouts_per_s": round(total / max(r["seconds"] for r in results), 1),
        "conflicts": sum(r["conflicts"] for r in results),
        "per_process": results,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        url, clients, seconds, skus = argv[1], int(argv[2]), float(argv[3]), int(argv[4])
        print(json.dumps(child(url, clients, seconds, skus)), flush=True)
        return 0
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    processes, clients, seconds, skus = int(argv[0]), int(argv[1]), float(argv[2]), int(argv[3])
    url = argv[4] if len(argv) == 5 else DEFAULT_URL
    print(json.dumps(measure(processes, clients, seconds, skus, url)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

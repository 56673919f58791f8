"""The benchmark harness behind `make bench`: the real stack under load.

Modules: `stats` (percentiles), `report` (JSON and table), `services` (PostgreSQL, broker,
machine facts), `stack` (`checkout-engine run` as a subprocess), `loadgen` (the load
generator process), `probes` (projection lag and outbox latency samplers), `baselines`,
`rebuild`, `profiling` (py-spy) and `runner` (the phases in order).
"""

"""HTTP routes, one module per resource; each lists its `OPERATIONS` for router and OpenAPI."""

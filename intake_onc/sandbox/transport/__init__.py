"""Transport, the top layer: the HTTP server, request handler, routing, faults, stats and CLI.

It turns HTTP requests into calls of the service endpoints (``endpoint(query, context)``) and
their answers into bytes on the wire. It may import every layer below it
(services, products, archive, encoders, reference, synthetic, observatory); nothing imports it
except the package's lazy public API (``intake_onc.sandbox.serve`` / ``SandboxServer``).
"""

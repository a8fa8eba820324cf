"""Services: one module per ONC web service (discovery, dataAvailability, archivefile,
scalardata, dataProductDelivery), plus their shared wire protocol (:mod:`.wire`: ``Query``,
``Reply``, ONC error bodies) and observatory look-ups (:mod:`.lookups`).

Each endpoint is a plain function ``endpoint(query, context)`` returning a JSON-able body or a
``Reply``. It may import products, archive, encoders, reference, synthetic and observatory;
never the transport layer above it.
"""

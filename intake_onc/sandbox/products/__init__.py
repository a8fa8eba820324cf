"""Data products (TSSD, HSD, AD) behind a registry (:data:`.registry.PRODUCTS`, product code to
an entry point with ``estimate``/``build``/``meta``), and the typed context
(:class:`.context.SandboxContext`) that services and products are written against.

It may import archive, encoders, reference, synthetic and observatory; never services or
transport.
"""

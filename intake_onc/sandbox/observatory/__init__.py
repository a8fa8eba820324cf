"""Observatory facts, the bottom layer: the sandbox's locations, devices, deployments, device
categories, properties and data products, as immutable tables.

It imports nothing of the sandbox (only ``intake_onc._core``).
"""

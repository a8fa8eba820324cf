"""The sandbox's defaults that both its server and its command line need.

Examples
--------
>>> SANDBOX_TOKEN
'00000000-0000-4000-8000-000000000000'
"""

#: The sandbox's default ("demo") API token: only ``[A-Za-z0-9-]``, so the official ``onc``
#: client's token sanitising keeps it. ``intake-onc sandbox --token T`` changes it.
SANDBOX_TOKEN = "00000000-0000-4000-8000-000000000000"

__all__ = ["SANDBOX_TOKEN"]

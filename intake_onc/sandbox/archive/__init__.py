"""Archive: the hydrophone archive's file listings (with exact sizes), the bytes of a listed
file (cached on disk) and the JSON pages of an ``archivefile`` listing.

It may import encoders, reference, synthetic and observatory; never products, services or
transport.
"""

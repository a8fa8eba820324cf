"""The shipped Intake catalogs (YAML), installed as the data package ``intake_onc._catalogs``.

This folder stays at the top of the repository so that ``intake.open_catalog("catalogs/onc.yaml")``
works from a checkout; ``setup.py`` maps it into the wheel. From anywhere, use
:func:`intake_onc.catalog`::

    cat = intake.open_catalog(intake_onc.catalog("onc"))
"""

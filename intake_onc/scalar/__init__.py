"""Scalar time series (ONC's TSSD product and the scalardata API) on the xarray side: no HTTP.

Where things are:

* :mod:`~intake_onc.scalar.tssd` reads local TSSD files (CSV, JSON, MAT; one private module per
  format, ``_tssd_csv`` (its header: ``_tssd_csv_header``)/``_tssd_json``/``_tssd_mat``, over
  the shared ``_tssd_layout``);
* :mod:`~intake_onc.scalar.flags` finds the QAQC flag variables and writes their CF attributes
  (the flag table itself is :mod:`intake_onc._core.flags`);
* :mod:`~intake_onc.scalar.quality` is ONC's "clean" rule, flag masks and flag counts;
* :mod:`~intake_onc.scalar.gaps` fills or removes data gaps (``dpo_dataGaps``);
* :mod:`~intake_onc.scalar.resample` is ONC's resampling (average, minMax, minMaxAvg);
* :mod:`~intake_onc.scalar.accessor` chains them as ``ds.onc``.

The rules are those of semantics.md; every operation runs on numpy and dask alike. The remote
side (``open_scalar``) is :mod:`intake_onc.datasets.scalar`.
"""

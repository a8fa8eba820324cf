"""Encoders: bytes of the sandbox's answers and files (JSON bodies, WAV/FLAC audio, spectrogram
MAT/PNG, scalardata JSON pages, TSSD files: ``tssd_csv``, ``tssd_json``, ``tssd_mat``,
``tssd_odv`` for ``txt``, ``tssd_netcdf`` for ``nc``).

It may import reference, synthetic and observatory; never archive, products, services or
transport.
"""

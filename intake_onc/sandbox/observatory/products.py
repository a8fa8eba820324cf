"""The data products of the hand-written observatory, with their options and defaults.

``Observatory`` serves these for its own devices; the real catalogue
(:mod:`~intake_onc.sandbox.observatory.catalogue`) replaces them with ONC's 294 products and
their catalogue defaults when the sandbox runs on it (the default). Which products a device
gets follows its category (``TSSD``/``TSSP`` for scalar categories, ``HSD``/``AD`` for
hydrophones).

Examples
--------
>>> sorted({(p.code, p.extension) for p in DATA_PRODUCTS if p.code == "TSSD"})
[('TSSD', 'csv'), ('TSSD', 'json'), ('TSSD', 'mat'), ('TSSD', 'nc'), ('TSSD', 'txt')]
"""

from __future__ import annotations

from intake_onc.sandbox.observatory.records import DataProduct, ProductOption

__all__ = ["CATEGORY_PROPERTIES", "DATA_PRODUCTS"]

#: Which properties each device category measures.
CATEGORY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "CTD": ("seawatertemperature", "conductivity", "pressure", "salinity"),
    "OXYSENSOR": ("oxygen", "seawatertemperature"),
    "ADCP2MHZ": ("seawaterspeed",),
    "HYDROPHONE": ("soundpressurelevel",),
}

_PERIODS = ("0", "60", "600", "900", "3600", "86400")
_TSSD_OPTIONS = (
    ProductOption("dpo_qualityControl", "1", ("0", "1"), required=True),
    ProductOption(
        "dpo_resample", "none", ("none", "average", "minMax", "minMaxAvg"), required=True
    ),
    ProductOption("dpo_average", "60", _PERIODS),
    ProductOption("dpo_minMax", "60", _PERIODS),
    ProductOption("dpo_minMaxAvg", "60", _PERIODS),
    ProductOption("dpo_dataGaps", "1", ("0", "1")),
)
_HYDRO_MODES = (
    ProductOption("dpo_hydrophoneDataDiversionMode", "OD", ("OD", "LPF", "HPF", "All")),
    ProductOption("dpo_hydrophoneAcquisitionMode", "All", ("LF", "HF", "All")),
    ProductOption("dpo_hydrophoneChannel", "All", ("H1", "H2", "H3", "All")),
)
_HSD_OPTIONS = (
    ProductOption("dpo_spectralDataDownsample", "1", ("0", "1", "2")),
    ProductOption(
        "dpo_spectrogramConcatenation",
        "None",
        ("None", "Concatenate", "Daily", "Weekly", "Adjacent"),
    ),
    ProductOption("dpo_spectrogramSource", "MIX", ("MIX", "WAVFLAC", "FFT")),
    ProductOption("dpo_spectrogramColourPalette", "0", ("0", "1", "2", "3", "4", "5")),
    ProductOption("dpo_lowerColourLimit", "-1000", (), ("-1000", "140", True, "dB")),
    ProductOption("dpo_upperColourLimit", "-1000", (), ("-1000", "140", True, "dB")),
    ProductOption("dpo_spectrogramFrequencyUpperLimit", "-1", (), ("-1", "500000", True, "Hz")),
    *_HYDRO_MODES,
)
_AD_OPTIONS = (
    ProductOption(
        "dpo_audioDownsample", "-1", ("-1", "48000", "16000", "8000", "4000", "2000", "512", "256")
    ),
    ProductOption("dpo_audioFormatConversion", "0", ("0", "1")),
    *_HYDRO_MODES,
)
_SCALAR_CATEGORIES = ("CTD", "OXYSENSOR", "ADCP2MHZ")
_WIKI = "https://wiki.oceannetworks.ca/display/DP/"

DATA_PRODUCTS: tuple[DataProduct, ...] = (
    DataProduct(
        "TSSD", "Time Series Scalar Data", "csv", _SCALAR_CATEGORIES, _TSSD_OPTIONS, _WIKI + "1"
    ),
    DataProduct(
        "TSSD",
        "Time Series Scalar Data",
        "json",
        _SCALAR_CATEGORIES,
        (*_TSSD_OPTIONS, ProductOption("dpo_jsonOutputEncoding", "OM", ("OM", "ONC"))),
        _WIKI + "1",
    ),
    DataProduct(
        "TSSD", "Time Series Scalar Data", "mat", _SCALAR_CATEGORIES, _TSSD_OPTIONS, _WIKI + "1"
    ),
    DataProduct(  # ODV spreadsheet text (encoders/tssd_odv.py)
        "TSSD",
        "Time Series Scalar Data",
        "txt",
        _SCALAR_CATEGORIES,
        (*_TSSD_OPTIONS, ProductOption("dpo_sensorstoinclude", "1", ("0", "1"))),
        _WIKI + "1",
    ),
    DataProduct(  # CF netCDF (encoders/tssd_netcdf.py); ONC lists no auto (0) period for nc
        "TSSD",
        "Time Series Scalar Data",
        "nc",
        _SCALAR_CATEGORIES,
        (
            *(
                ProductOption(o.option, o.default, tuple(v for v in o.allowed if v != "0"))
                if o.option in ("dpo_average", "dpo_minMax", "dpo_minMaxAvg")
                else o
                for o in _TSSD_OPTIONS
            ),
            ProductOption(
                "dpo_cast", "up_casts", ("up_casts", "stepped_casts", "down_casts", "all_casts")
            ),
            ProductOption("dpo_includeOrientationSensors", "False", ("True", "False")),
        ),
        _WIKI + "1",
    ),
    DataProduct(
        "HSD", "Hydrophone Spectral Data", "mat", ("HYDROPHONE",), _HSD_OPTIONS, _WIKI + "45"
    ),
    DataProduct(
        "HSD", "Hydrophone Spectral Data", "png", ("HYDROPHONE",), _HSD_OPTIONS, _WIKI + "45"
    ),
    DataProduct("AD", "Audio Data", "flac", ("HYDROPHONE",), _AD_OPTIONS, _WIKI + "AD"),
    DataProduct("AD", "Audio Data", "wav", ("HYDROPHONE",), _AD_OPTIONS, _WIKI + "AD"),
    # --- rawdata branch: TSSP png/pdf (dataProducts.json: "Time Series Scalar Plot", help
    # page DP/2); options as TSSD's here (the catalogue rewrite brings ONC's own defaults) ---
    *(
        DataProduct(
            "TSSP", "Time Series Scalar Plot", ext, _SCALAR_CATEGORIES, _TSSD_OPTIONS, _WIKI + "2"
        )
        for ext in ("png", "pdf")
    ),
    # --- end rawdata branch block ---
)

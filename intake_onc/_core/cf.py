"""CF standard names and UDUNITS units for ONC's property codes and unit strings.

Pure data (no xarray): ONC writes units its own way (``"C"``, which UDUNITS reads as coulomb;
``"psu"``, ``"S/m"``, ``"decibar"``) and names quantities by *property code*
(``seawatertemperature``). :data:`UNITS` translates ONC's unit strings to UDUNITS (the data are
never converted: only the spelling changes), :data:`STANDARD_NAMES` maps the property codes ONC
publishes (``api/properties``, 215 codes) that have a CF standard name to that name and its
canonical units, and :data:`NO_STANDARD_NAME` says why the others have none. :func:`cf_attrs`
combines them into a variable's ``units``/``standard_name``/``onc_units`` attributes; a standard
name is only given when the data's units are convertible to its canonical units.

Examples
--------
>>> cf_attrs("seawatertemperature", "C")
{'units': 'degC', 'standard_name': 'sea_water_temperature', 'onc_units': 'C'}
>>> cf_attrs("salinity", "psu")
{'units': '1', 'standard_name': 'sea_water_practical_salinity', 'onc_units': 'psu'}
>>> cf_attrs("statuscode", "NA")
{'onc_units': 'NA'}
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CANONICAL_DIMENSION",
    "NO_STANDARD_NAME",
    "STANDARD_NAMES",
    "UNITS",
    "cf_attrs",
    "udunits",
]

#: ONC unit string -> UDUNITS spelling of the *same* unit (``None``: no physical unit, so no
#: ``units`` attribute). ONC's spellings from ``api/properties``, TSSD headers and scalardata.
UNITS: Mapping[str, str | None] = {
    # temperature, pressure, salinity, conductivity
    "C": "degC",
    "deg C": "degC",
    "degC": "degC",
    "°C": "degC",
    "K": "K",
    "decibar": "dbar",
    "dbar": "dbar",
    "hPa": "hPa",
    "mbar": "mbar",
    "Pa": "Pa",
    "in Hg": "inHg",
    "pCO2 uatm": "uatm",
    "pCH4 uatm": "uatm",
    "uatm": "uatm",
    "psu": "1",
    "PSU": "1",
    "PSS-78": "1",
    "S/m": "S m-1",
    "mS/cm": "mS cm-1",
    # concentrations, ratios
    "ml/l": "ml l-1",
    "mL/L": "ml l-1",
    "umol/l": "umol l-1",
    "umol/L": "umol l-1",
    "umol/kg": "umol kg-1",
    "ug/l": "ug l-1",
    "mg/m^3": "mg m-3",
    "g/m^3": "g m-3",
    "kg/m3": "kg m-3",
    "kg/m^3": "kg m-3",
    "g/kg": "g kg-1",
    "umol/mol": "umol mol-1",
    "ppb": "1e-9",
    "ppb QSDE": "1e-9",
    "ppm": "1e-6",
    "ppm OL Crude Oil Eq.": "1e-6",
    "%": "percent",
    "pH": "1",
    "NTU": "1",
    "FTU": "1",
    # lengths, speeds, accelerations, angles
    "m": "m",
    "mm": "mm",
    "in": "in",
    "m/s": "m s-1",
    "cm/s": "cm s-1",
    "mm/hr": "mm h-1",
    "m/s2": "m s-2",
    "m/s^2": "m s-2",
    "gal": "Gal",  # ONC's gravity in galileo (cm s-2); UDUNITS' "gal" is the gallon
    "deg": "degree",
    "degrees": "degree",
    "°/s": "degree s-1",
    "RPM": "min-1",
    # time, frequency
    "s": "s",
    "sec": "s",
    "ms": "ms",
    "us": "us",
    "ns": "ns",
    "Hz": "Hz",
    "Gregorian days since 19700101T000000Z": "days since 1970-01-01T00:00:00Z",
    # electricity, energy, force
    "V": "V",
    "mV": "mV",
    "A": "A",
    "Ah": "A h",
    "mAh": "mA h",
    "ohm": "ohm",
    "mega-ohm": "Mohm",
    "W": "W",
    "W/m^2": "W m-2",
    "umol / m^2 s": "umol m-2 s-1",
    "kJ/kg": "kJ kg-1",
    "N": "N",
    "N m": "N m",
    "N·m": "N m",
    "N\ufffdm": "N m",  # ONC's catalogue ships the "·" of "N·m" mis-encoded
    "uT": "uT",
    "l/min": "l min-1",
    "ml": "ml",
    # counts
    "Count": "1",
    "count": "1",
    "kCount": "1e3",
    # no physical unit: codes, states, uncalibrated or unspecified scales
    "NA": None,
    "": None,
    "ON/OFF": None,
    "ISO": None,
    "DAC": None,
    "Uncalibrated Amplitude": None,
    "Modified Mercalli Intensity Scale": None,
    "g m/s2": None,  # ambiguous in ONC's catalogue (an acceleration in g?)
    "ug": None,  # micro-g acceleration; UDUNITS' "ug" is the microgram
}

#: UDUNITS unit -> a key of its physical dimension, used to check a standard name's units.
CANONICAL_DIMENSION: Mapping[str, str] = {
    "degC": "temperature",
    "K": "temperature",
    "dbar": "pressure",
    "hPa": "pressure",
    "mbar": "pressure",
    "Pa": "pressure",
    "inHg": "pressure",
    "uatm": "pressure",
    "S m-1": "conductivity",
    "mS cm-1": "conductivity",
    "1": "1",
    "1e-9": "1",
    "1e-6": "1",
    "1e3": "1",
    "percent": "1",
    "ml l-1": "1",
    "g kg-1": "1",
    "umol mol-1": "1",
    "umol l-1": "mol m-3",
    "mol m-3": "mol m-3",
    "ug l-1": "kg m-3",
    "mg m-3": "kg m-3",
    "g m-3": "kg m-3",
    "kg m-3": "kg m-3",
    "m": "m",
    "mm": "m",
    "in": "m",
    "m s-1": "m s-1",
    "cm s-1": "m s-1",
    "mm h-1": "m s-1",
    "m s-2": "m s-2",
    "Gal": "m s-2",
    "degree": "degree",
    "degree_north": "degree",
    "degree_east": "degree",
    "s": "s",
    "ms": "s",
    "us": "s",
    "ns": "s",
    "W m-2": "W m-2",
    "umol m-2 s-1": "mol m-2 s-1",
    "mol m-2 s-1": "mol m-2 s-1",
    "kJ kg-1": "J kg-1",
    "J kg-1": "J kg-1",
}

#: ONC property code -> (CF standard name, its canonical units) for every property of ONC's
#: catalogue with a CF standard name (CF standard name table v93). Others: NO_STANDARD_NAME.
STANDARD_NAMES: Mapping[str, tuple[str, str]] = {
    "absolutebarometricpressure": ("air_pressure", "Pa"),
    "absolutehumidity": ("mass_concentration_of_water_vapor_in_air", "kg m-3"),
    "airdensity": ("air_density", "kg m-3"),
    "airtemperature": ("air_temperature", "K"),
    "altitude": ("altitude", "m"),
    "cdom": (
        "concentration_of_colored_dissolved_organic_matter_in_sea_water_expressed_as_"
        "equivalent_mass_fraction_of_quinine_sulfate_dihydrate",
        "1",
    ),
    "chlorophyll": ("mass_concentration_of_chlorophyll_in_sea_water", "kg m-3"),
    "co2partialpressure": ("partial_pressure_of_carbon_dioxide_in_sea_water", "Pa"),
    "conductivity": ("sea_water_electrical_conductivity", "S m-1"),
    "currentdirection": ("sea_water_velocity_to_direction", "degree"),
    "currentvelocity": ("sea_water_speed", "m s-1"),
    "density": ("sea_water_density", "kg m-3"),
    "depth": ("depth", "m"),
    "dewpoint": ("dew_point_temperature", "K"),
    "downwardatmosphericlongwaveradiation": ("surface_downwelling_longwave_flux_in_air", "W m-2"),
    "heave": ("platform_heave", "m"),
    "icedraft": ("sea_ice_draft", "m"),
    "icethickness": ("sea_ice_thickness", "m"),
    "latitude": ("latitude", "degree_north"),
    "longitude": ("longitude", "degree_east"),
    "maximumwaveheight": ("sea_surface_wave_maximum_height", "m"),
    "maximumwaveperiod": ("sea_surface_wave_maximum_period", "s"),
    "meanwavedirection": ("sea_surface_wave_from_direction", "degree"),
    "meanwavespread": ("sea_surface_wave_directional_spread", "degree"),
    "methanepartialpressure": ("partial_pressure_of_methane_in_sea_water", "Pa"),
    "mixingratio": ("humidity_mixing_ratio", "1"),
    "netradiation": ("surface_net_downward_radiative_flux", "W m-2"),
    "nitrateconcentration": ("mole_concentration_of_nitrate_in_sea_water", "mol m-3"),
    "oxygen": ("volume_fraction_of_oxygen_in_sea_water", "1"),
    "parphotonbased": ("downwelling_photosynthetic_photon_flux_in_sea_water", "mol m-2 s-1"),
    "peakperiod": ("sea_surface_wave_period_at_variance_spectral_density_maximum", "s"),
    "pitch": ("platform_pitch", "degree"),
    "pressure": ("sea_water_pressure", "dbar"),
    "rainfallrate": ("rainfall_rate", "m s-1"),
    "relativehumidity": ("relative_humidity", "1"),
    "roll": ("platform_roll", "degree"),
    "salinity": ("sea_water_practical_salinity", "1"),
    "seafloordepthbelowseasurface": ("sea_floor_depth_below_sea_surface", "m"),
    "seaicetemperature": ("sea_ice_temperature", "K"),
    "seawaterspeed": ("sea_water_speed", "m s-1"),
    "seawatertemperature": ("sea_water_temperature", "K"),
    "shipcourse": ("platform_course", "degree"),
    "sigmat": ("sea_water_sigma_t", "kg m-3"),
    "sigmatheta": ("sea_water_sigma_theta", "kg m-3"),
    "significantwaveheight": ("sea_surface_wave_significant_height", "m"),
    "significantwaveperiod": ("sea_surface_wave_significant_period", "s"),
    "snowthickness": ("surface_snow_thickness", "m"),
    "solarradiation": ("surface_downwelling_shortwave_flux_in_air", "W m-2"),
    "soundspeed": ("speed_of_sound_in_sea_water", "m s-1"),
    "specificenthalpy": ("specific_enthalpy_of_air", "J kg-1"),
    "trueheading": ("platform_orientation", "degree"),
    "turbidityftu": ("sea_water_turbidity", "1"),
    "turbidityntu": ("sea_water_turbidity", "1"),
    "uvindex": ("ultraviolet_index", "1"),
    "wavedirectionatpeakperiod": (
        "sea_surface_wave_from_direction_at_variance_spectral_density_maximum",
        "degree",
    ),
    "wetbulbtemperature": ("wet_bulb_temperature", "K"),
    "windchilltemperature": ("wind_chill_of_air_temperature", "K"),
    "winddirection": ("wind_from_direction", "degree"),
    "winddirectioncorrectedbycompass": ("wind_from_direction", "degree"),
    "windspeed": ("wind_speed", "m s-1"),
    "windspeedmax": ("wind_speed_of_gust", "m s-1"),
    "yaw": ("platform_yaw", "degree"),
}


def _words(text: str) -> list[str]:
    return text.split()


_ENGINEERING = "instrument engineering or housekeeping quantity"
_CAMERA = "camera setting"
_AMBIGUOUS = "the medium or reference is not stated by ONC"
_NO_CF = "no CF standard name exists for this quantity"

#: ONC property codes of the catalogue without a CF standard name, and why.
NO_STANDARD_NAME: Mapping[str, str] = {
    **dict.fromkeys(
        _words(
            "absorbance amplitudebeam1 amplitudebeam2 amplitudebeam3 arcomputationtime "
            "batterycapacity batterycharge batteryposition beamposition "
            "benderelectricalresistance biofoulingprevention board_fault_code boardfaultcode "
            "bottomlock calibratedphaseangle clock compensatedphaseangle correctionage "
            "correlation detectionratio electricalresistance electriccharge engineeringcount "
            "engineeringcount1000s errorcode eventcount faultflag filecount forwardrange "
            "gimbaldelay gpsintervaltimeofweek gregoriantime groundfault instrumentlevel "
            "internalhumidity internalph internalpressure internaltemperature "
            "internalvacuumpressure laser laserdiode laserpulsewidth massposition motorpower "
            "motorspeed onoffsensor padiwa peakposition pies pingtime portstate positionoffset "
            "power pumpflow resevoirvolume runtimesensor satellitecount scientificcount "
            "statuscode tanklevel targetpersistence timeofflight timeout totalcomputationtime "
            "voltage amperage altitudesource angularrate acceleration displacement length "
            "lengthstddev frequency tension torque utmzone"
        ),
        _ENGINEERING,
    ),
    **dict.fromkeys(
        _words(
            "aperture autoexposure autofocusstate brightness cameralight camerapan "
            "camerastrobe cameratilt contrast defog defog_effect exposure_level exposure_mode "
            "exposurevalue focus image_gain ir_threshold iso lock_aperture max_gain "
            "max_shutter saturation sharpness shutterspeed tone_mapping white_balance "
            "white_balance_z3 whitebalance z3autofocusstate zoom zoom_step_size"
        ),
        _CAMERA,
    ),
    **dict.fromkeys(
        _words(
            "co2concentration co2concentrationlinearized methaneconcentration gassaturation "
            "dissolvedgaspressure gasstreampressure differentialpressuregauge totalpressure "
            "relativebarometricpressure transmission velocity vectordirection "
            "currentvelocitybeam1xeast currentvelocitybeam2ynorth currentvelocitybeam3zup "
            "speedoverground tilt magneticheading winddirectionuncorrectedbycompass "
            "srslicebalancebuoytemperature ph easting northing"
        ),
        _AMBIGUOUS,
    ),
    **dict.fromkeys(
        _words(
            "cdomfluorescence crudeoilfluoroscence refinedfuelfluorescene "
            "oxidationreductionpotential redox ironconcentration methanemolarconcentration "
            "magnetometer magneticdeclination magnetunitlesssensor magnitude "
            "modifiedmercalliintensity peakgrounddisplacement gravity "
            "gravitationalacceleration microgacceleration soundpressurelevel barometrictrend "
            "differentialtemperature sedimenttemperature sedimentsurfacetemperature "
            "ventfluidtemperature upwardirradianceofdetector other"
        ),
        _NO_CF,
    ),
}


def udunits(onc_unit: str | None) -> str | None:
    """The UDUNITS spelling of an ONC unit string; ``None`` when it has no physical unit or is
    not one ONC uses (an unknown unit is never guessed).

    Examples
    --------
    >>> udunits("C"), udunits("S/m"), udunits(" decibar "), udunits("ON/OFF"), udunits("furlong")
    ('degC', 'S m-1', 'dbar', None, None)
    """
    if onc_unit is None:
        return None
    text = " ".join(str(onc_unit).split())
    if text in UNITS:
        return UNITS[text]
    for key, value in UNITS.items():  # "c", "Psu", "ML/L"
        if key.lower() == text.lower() and key not in ("C", "K", "A", "V", "N", "W", "in"):
            return value
    return None


def cf_attrs(property_code: str | None, onc_unit: str | None) -> dict[str, str]:
    """CF attributes of a variable with ONC's ``propertyCode`` and ``unitOfMeasure``.

    Returns ``units`` (UDUNITS; absent when the quantity has no physical unit or ONC's unit is
    unknown), ``standard_name`` (when the property has one and the units fit it) and
    ``onc_units`` (ONC's own string, always, when given).

    Examples
    --------
    >>> cf_attrs("pressure", "decibar")["units"], cf_attrs("conductivity", "S/m")["units"]
    ('dbar', 'S m-1')
    >>> cf_attrs(None, "C")
    {'units': 'degC', 'onc_units': 'C'}
    >>> "standard_name" in cf_attrs("seawatertemperature", "m")  # units that do not fit
    False
    """
    attrs: dict[str, str] = {}
    units = udunits(onc_unit)
    if units is not None:
        attrs["units"] = units
    entry = STANDARD_NAMES.get((property_code or "").strip().lower())
    if entry is not None and units is not None:
        name, canonical = entry
        if CANONICAL_DIMENSION.get(units) == CANONICAL_DIMENSION.get(canonical):
            attrs["standard_name"] = name
            if name == "latitude":
                attrs["units"] = "degree_north"
            elif name == "longitude":
                attrs["units"] = "degree_east"
    if onc_unit is not None and str(onc_unit).strip():
        attrs["onc_units"] = str(onc_unit).strip()
    return attrs

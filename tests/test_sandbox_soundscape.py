"""The synthetic soundscape: ships, fin whales, humpback-like calls, rain and the test tone,
where ``/_sandbox/events`` says they are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from scipy import signal

from intake_onc.sandbox.synthetic import audio as synth

H = "ICLISTENHF6324"  # 64 kHz


def events(url: str, **params) -> requests.Response:
    return requests.get(f"{url}/_sandbox/events", params=params, timeout=30)


def band_db(x: np.ndarray, fs: int, lo: float, hi: float) -> float:
    f, p = signal.welch(x, fs, nperseg=min(len(x), 4 * fs))
    keep = (f >= lo) & (f <= hi)
    return float(10 * np.log10(p[keep].mean()))


def test_the_events_endpoint_lists_the_truth(sandbox_url):
    r = events(
        sandbox_url, deviceCode=H, dateFrom="2024-04-01", dateTo="2024-04-03", includeCalls="true"
    )
    assert r.status_code == 200
    found = r.json()
    assert {e["type"] for e in found} >= {"ship", "fin_whale", "humpback", "tone", "rain"}
    for e in found:
        assert set(e) == {
            "type",
            "label",
            "start",
            "end",
            "lowFrequency",
            "highFrequency",
            "receivedLevel",
            "snr",
            "details",
        }
        assert e["start"] < e["end"] and e["lowFrequency"] <= e["highFrequency"]
        assert 100 <= e["receivedLevel"] <= 160  # dB re 1 µPa: plausible received levels
    ship = next(e for e in found if e["type"] == "ship")
    assert ship["start"] < ship["details"]["cpa"] < ship["end"]
    assert ship["details"]["harmonicsHz"][0] == 2 * ship["details"]["tonalHz"]
    fin = next(e for e in found if e["type"] == "fin_whale")
    calls = fin["details"]["calls"]
    steps = np.diff(pd.to_datetime(calls).as_unit("ns").asi8) / 1e9
    assert len(calls) > 50 and set(steps) == {fin["details"]["intervalSeconds"]}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"dateFrom": "2024-04-01", "dateTo": "2024-04-02"}, "deviceCode"),
        (
            {"deviceCode": "SBECTD19p6813", "dateFrom": "2024-04-01", "dateTo": "2024-04-02"},
            "deviceCode",
        ),
        ({"deviceCode": H, "dateFrom": "2024-04-02", "dateTo": "2024-04-01"}, "dateTo"),
        ({"deviceCode": H, "dateFrom": "yesterday", "dateTo": "2024-04-01"}, "dateFrom"),
        ({"deviceCode": H, "dateFrom": "2024-01-01", "dateTo": "2024-04-01"}, "dateTo"),
        (
            {
                "deviceCode": H,
                "dateFrom": "2024-04-01",
                "dateTo": "2024-04-02",
                "includeCalls": "maybe",
            },
            "includeCalls",
        ),
    ],
)
def test_bad_event_queries_are_400_naming_the_parameter(sandbox_url, params, parameter):
    r = events(sandbox_url, **params)
    assert r.status_code == 400
    assert r.json()["errors"][0]["parameter"] == parameter


def test_fin_whale_pulses_are_at_20_hz_during_a_bout_only():
    fin = next(
        e for e in synth.known_events(H, "2024-04-01", "2024-04-03") if e["kind"] == "fin_whale"
    )
    fs = 64_000
    middle = fin["start"] + (fin["end"] - fin["start"]) / 2
    during = synth.synth_audio(H, middle, 60 * fs)
    before = synth.synth_audio(H, fin["start"] - pd.Timedelta("10min"), 60 * fs)
    assert band_db(during, fs, 15, 27) > band_db(before, fs, 15, 27) + 10


def test_a_ship_is_loudest_at_its_closest_approach_with_propeller_lines():
    ship = next(e for e in synth.known_events(H, "2024-04-01", "2024-04-03") if e["kind"] == "ship")
    fs, tonal = 64_000, ship["tonal_hz"]
    near = synth.synth_audio(H, ship["cpa"], 30 * fs)
    early = synth.synth_audio(H, ship["start"] + pd.Timedelta("1min"), 30 * fs)
    assert band_db(near, fs, 200, 2000) > band_db(early, fs, 200, 2000) + 6  # broadband rises
    line = band_db(near, fs, tonal - 0.5, tonal + 0.5)
    assert line > band_db(near, fs, tonal + 3, tonal + 8) + 10  # the blade-rate tonal stands out
    assert (
        band_db(near, fs, 2 * tonal - 0.5, 2 * tonal + 0.5)
        > band_db(near, fs, 2 * tonal + 3, 2 * tonal + 8) + 6
    )


def test_any_stretch_is_generated_the_same_whatever_window_asks():
    fs = 64_000
    t = pd.Timestamp("2024-04-01T01:58:00")
    whole = synth.synth_audio(H, t, 20 * fs)
    part = synth.synth_audio(H, t + pd.Timedelta("7s"), 5 * fs)
    np.testing.assert_array_equal(whole[7 * fs : 12 * fs], part)

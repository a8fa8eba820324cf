"""Write ``notebooks/*.ipynb`` (outputs stripped) from the cells below.

The notebooks are executed by ``tests/test_notebooks.py`` (nbclient) on every CI run; keeping
their source here makes them easy to review and edit. Run from the repository root::

    python tools/make_notebooks.py && ruff check notebooks --fix && ruff format notebooks
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]

SETUP = """\
import os

import intake_onc

# No ONC token here? Then use the embedded sandbox: ONC's API and catalogue, synthetic data,
# on a free loopback port. With ONC_TOKEN set, the same cells talk to the real service.
if not os.environ.get("ONC_TOKEN"):
    server = intake_onc.sandbox.SandboxServer(port=0, processing_scale=0.02).start()
    os.environ.update(
        ONC_BASE_URL=server.url,
        ONC_TOKEN=intake_onc.sandbox.SANDBOX_TOKEN,
        # the cache is keyed by what the sandbox serves, so a re-run downloads nothing
        INTAKE_ONC_CACHE_KEY=f"sandbox-{intake_onc.__version__}-seed0",
    )
client = intake_onc.ONCClient(progress=False)
client"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01-discovery": [
        (
            "md",
            "# Discovering what ONC has\n\nLocations, devices, deployments and data products, as pandas tables with real types, and the whole location tree as an Intake catalog.",
        ),
        ("code", SETUP),
        (
            "md",
            "## Locations and the tree\n\nEvery answer is a DataFrame: booleans are booleans, dates are datetimes.",
        ),
        (
            "code",
            'locations = client.locations()\nprint(len(locations), "locations")\nlocations[locations.locationName.str.contains("Barkley")][["locationCode", "locationName", "depth"]]',
        ),
        (
            "code",
            'tree = client.location_tree()\ntree[tree.locationCode.str.startswith("CBCH")][["locationCode", "parentLocationCode", "level", "locationName"]]',
        ),
        (
            "md",
            "## Devices, deployments and sample periods\n\nWhen was a hydrophone in the water, and where? `check_deployed` answers before any order is placed.",
        ),
        (
            "code",
            'client.deployments(device_code="ICLISTENHF6093")[["deviceCode", "locationCode", "begin", "end", "depth"]]',
        ),
        ("code", '[str(r) for r in client.deployment_ranges("ICLISTENHF6093")]'),
        (
            "code",
            'ctd = client.devices(device_code="SBECTD19p6813")\nctd.loc[0, "dataRating"]  # ONC\'s sample periods over time',
        ),
        ("md", "## Data products a device offers, with ONC's options and defaults"),
        (
            "code",
            'products = client.data_products(device_code="ICLISTENHF6093")\nproducts[["dataProductCode", "extension", "dataProductName"]]',
        ),
        (
            "code",
            'hsd = products[(products.dataProductCode == "HSD") & (products.extension == "mat")].iloc[0]\n{o["option"]: o["defaultValue"] for o in hsd.dataProductOptions}',
        ),
        (
            "md",
            "## The tree as an Intake catalog\n\nEach level is read when opened; leaf locations list one entry per device × data product.",
        ),
        (
            "code",
            'array = intake_onc.ONCCatalog("CBCH", start="2024-04-01T00:00", end="2024-04-01T01:00")\nlist(array)',
        ),
        (
            "code",
            'h3 = array["CBCH.H3"].read()\nentry = h3.ICLISTENHF6093_HSD\nentry.metadata["formats"], entry.metadata["deployments"]',
        ),
    ],
    "02-scalar-qc-resample": [
        (
            "md",
            "# A week of CTD data: QAQC flags, ONC's clean rule, hourly statistics\n\nOpened lazily from the shipped Intake catalog; nothing is downloaded until a computation needs it.",
        ),
        ("code", SETUP),
        (
            "code",
            'import intake\n\ncatalog = "sandbox" if os.environ.get("ONC_BASE_URL") else "onc"\ncat = intake.open_catalog(intake_onc.catalog(catalog))\nds = cat.barkley_ctd(start="2024-04-01", end="2024-04-04", quality="raw").read()\nds',
        ),
        (
            "md",
            "Each variable has a CF flag companion (`temperature_qc`): how many samples carry each flag?",
        ),
        ("code", "ds.onc.flags_summary()"),
        (
            "md",
            "ONC's *clean* rule drops flags 3, 4 and 6; `minMaxAvg` gives the mean, extremes (with their times) and the worst flag of what entered each bin.",
        ),
        (
            "code",
            'hourly = ds.onc.clean().onc.resample("1h", method="minMaxAvg").compute()\nhourly[["temperature", "temperature_min", "temperature_max", "temperature_qc"]].to_dataframe().head()',
        ),
        ("code", 'ax = ds.onc.plot_qc("temperature", resampled=hourly)'),
        ("md", "The result is CF-1.8 and ACDD metadata: it writes straight to netCDF."),
        (
            "code",
            'out = os.environ.get("INTAKE_ONC_NOTEBOOK_OUTPUT", ".")\nhourly.to_netcdf(os.path.join(out, "barkley_ctd_hourly.nc"))\nhourly.attrs["Conventions"], hourly.temperature.attrs["cell_methods"]',
        ),
    ],
    "03-hydrophone-audio-and-spectrograms": [
        (
            "md",
            "# An hour of hydrophone audio: ONC's spectrogram and our own\n\nThe sandbox says where its audio holds ships and whales (`/_sandbox/events`); on the real service, pick your own hour.",
        ),
        ("code", SETUP),
        (
            "code",
            'import pandas as pd\nimport requests\n\nhydrophone = "ICLISTENHF6093"\nstart, end = "2024-04-01T01:42", "2024-04-01T02:42"\nif os.environ.get("ONC_BASE_URL", "").startswith("http://127.0.0.1"):\n    events = requests.get(f"{os.environ[\'ONC_BASE_URL\']}/_sandbox/events", params={"deviceCode": hydrophone, "dateFrom": start, "dateTo": end}, timeout=30).json()\n    display(pd.DataFrame(events)[["type", "start", "end", "lowFrequency", "highFrequency", "receivedLevel"]])',
        ),
        (
            "md",
            "The audio is lazy (one dask chunk per 5-minute file) and its time axis is UTC, selectable by time:",
        ),
        (
            "code",
            'audio = intake_onc.open_audio(hydrophone, start, end)\nclip = audio.sel(time=slice("2024-04-01T02:12:00", "2024-04-01T02:12:10"))\nclip.sizes, float(abs(clip).max())',
        ),
        (
            "code",
            'custom = intake_onc.spectrogram(audio, win_dur=1.0, overlap=0.5, freq_lims=(10, 4000), average="10s")\nonc = intake_onc.open_spectrogram(hydrophone, start, end)\ncustom, onc = custom.compute(), onc.compute()\ncustom.sizes, onc.sizes',
        ),
        (
            "code",
            'import matplotlib.pyplot as plt\n\nfrom intake_onc.acoustics.plot import plot_spectrogram\n\nfig, axes = plt.subplots(2, 1, figsize=(12, 7), constrained_layout=True, sharex=True)\nplot_spectrogram(onc, ax=axes[0], title="ONC\'s HSD (one-minute averages, calibrated)")\nplot_spectrogram(custom, ax=axes[1], title="computed here: 1-s frames, 10-s means (full scale)")\nplt.show()',
        ),
    ],
    "04-events-and-downloads": [
        (
            "md",
            "# Event lists, organised downloads and an event dataset\n\nA request file as people write them, checked against deployments, fetched into run folders, and opened as one `(event, sample)` array.",
        ),
        ("code", SETUP),
        (
            "code",
            'import json\nimport tempfile\nfrom pathlib import Path\n\nwork = Path(os.environ.get("INTAKE_ONC_NOTEBOOK_OUTPUT") or tempfile.mkdtemp())\nrequest_file = work / "events.json"\nrequest_file.write_text(json.dumps({\n    "defaults": {"deviceCode": "ICLISTENHF6093", "pad_seconds": 5},\n    "requests": [\n        {"timestamp": "2024-04-01T00:35:51Z", "label": "humpback"},\n        {"timestamp": "2024-04-01T00:12:30Z", "label": "test tone", "pad_after_seconds": 10},\n        {"start": "2024-04-01T02:12:00Z", "end": "2024-04-01T02:12:20Z", "label": "ship at CPA"},\n    ],\n}))\nwindows = intake_onc.parse_requests(request_file)\n[str(w) + " " + w.label for w in windows]',
        ),
        (
            "md",
            "A window outside every deployment is reported with the device's deployments, before any order:",
        ),
        (
            "code",
            'try:\n    intake_onc.check_windows(intake_onc.windows("ICLISTENHF6093", "2022-07-15", "2022-07-15T00:01"))\nexcept intake_onc.RequestError as error:\n    print(error)',
        ),
        (
            "code",
            'plan = intake_onc.fetch(windows, products=("audio", "spectrogram"), out_dir=work / "downloads", dry_run=True)\nplan.files',
        ),
        (
            "code",
            'result = intake_onc.fetch(windows, products=("audio", "spectrogram"), out_dir=work / "downloads")\nsorted(p.relative_to(work).as_posix() for p in (work / "downloads").rglob("*") if p.is_file())',
        ),
        ("code", 'events = intake_onc.open_events(windows, product="audio")\nevents'),
        (
            "code",
            "import matplotlib.pyplot as plt\n\nfrom intake_onc.acoustics.plot import plot_spectrogram\n\nfig, axes = plt.subplots(1, len(windows), figsize=(14, 3.5), constrained_layout=True)\nfor ax, w in zip(axes, windows, strict=True):\n    spec = intake_onc.spectrogram(intake_onc.open_audio(w.device_code, w.start, w.end), win_dur=0.25, overlap=0.75, freq_lims=(10, 2500))\n    plot_spectrogram(spec.compute(), ax=ax, title=w.label)\nplt.show()",
        ),
    ],
    "05-intake-catalogs": [
        (
            "md",
            "# Every way in: Intake 2, Intake v1, and the xarray engine\n\nThe same objects, whichever door you use.",
        ),
        ("code", SETUP),
        (
            "code",
            'import intake\n\ncat = intake.open_catalog(intake_onc.catalog("sandbox" if os.environ.get("ONC_BASE_URL") else "onc"))\nlist(cat)',
        ),
        ("code", 'ds = cat(START="2024-04-01", END="2024-04-02").barkley_oxygen.read()\nds'),
        ("md", "Old-style (v1) YAML with jinja parameters, and `intake.open_onc`:"),
        (
            "code",
            'import tempfile\n\nv1 = """\nsources:\n  ctd:\n    driver: onc\n    parameters:\n      day: {description: day, type: str, default: "2024-04-01"}\n    args: {device_code: SBECTD19p6813, product: scalar, start: "{{ day }}T00:00", end: "{{ day }}T06:00"}\n"""\npath = os.path.join(tempfile.mkdtemp(), "v1.yaml")\nwith open(path, "w") as fh:\n    fh.write(v1)\nold = intake.open_catalog(path)\nold.ctd(day="2024-04-02").to_dask()',
        ),
        (
            "code",
            'intake.open_onc(device_code="ICLISTENHF6093", product="audio", start="2024-04-01T00:00", end="2024-04-01T00:10").to_dask()',
        ),
        ("md", "The xarray engine: `onc://DEVICE/PRODUCT?…`, chunked like ONC's files:"),
        (
            "code",
            'import xarray as xr\n\nxr.open_dataset("onc://SBECTD19p6813/scalar?start=2024-04-01&end=2024-04-03", engine="onc", chunks={})',
        ),
    ],
    "06-distributed": [
        (
            "md",
            "# On a dask.distributed cluster\n\nA 2-worker `LocalCluster` computes a day-long spectrogram (one-minute means) and a month of hourly CTD statistics; the graphs are small (no time arrays inside) and the results equal the local scheduler's.",
        ),
        ("code", SETUP),
        (
            "code",
            'from dask.distributed import Client, LocalCluster\n\ncluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)\ndask_client = Client(cluster)\ndask_client',
        ),
        (
            "code",
            'audio = intake_onc.open_audio("ICLISTENHF6093", "2024-04-01", "2024-04-02")\nday = intake_onc.spectrogram(audio, win_dur=1.0, overlap=0.5, freq_lims=(10, 4000), average="1min")\nday = day.compute()\nday.sizes',
        ),
        (
            "code",
            'from intake_onc.acoustics.plot import plot_spectrogram\n\nax = plot_spectrogram(day, title="ICLISTENHF6093, 2024-04-01: one-minute means, computed on 2 workers")',
        ),
        (
            "code",
            'month = intake_onc.open_scalar("SBECTD19p6813", start="2024-03-01", end="2024-03-31")\nhourly = month.onc.clean().onc.resample("1h", method="minMaxAvg")\nprint(len(hourly.__dask_graph__()), "tasks")\nhourly = hourly.compute()\nhourly.temperature.plot(figsize=(11, 3));',
        ),
        ("code", "dask_client.close()\ncluster.close()"),
    ],
}


def main() -> None:
    folder = ROOT / "notebooks"
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [
            new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
        print(folder / f"{name}.ipynb")


if __name__ == "__main__":
    main()

"""``intake-onc download``, ``deployments`` and ``search``, run as a user runs them (subprocess).

Bad input: exit status 2 and one line, no traceback unless ``--debug``; the token comes from
the environment, never from an argument.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

H = "ICLISTENHF6093"


@pytest.fixture
def run(sandbox_url, sandbox_token, tmp_path):
    env = {
        **os.environ,
        "ONC_BASE_URL": sandbox_url,
        "ONC_TOKEN": sandbox_token,
        "INTAKE_ONC_CACHE": str(tmp_path / "cache"),
    }

    def intake_onc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "intake_onc.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    return intake_onc


def test_deployments_as_a_table_and_as_json(run):
    table = run("deployments", H)
    assert table.returncode == 0, table.stderr
    assert "CBCH.H3" in table.stdout and "ongoing" in table.stdout
    records = json.loads(run("deployments", H, "--json").stdout)
    assert {r["deviceCode"] for r in records} == {H} and len(records) == 2


def test_search_lists_devices_products_and_files(run):
    out = run(
        "search",
        "--location",
        "CBCH.H3",
        "--start",
        "2024-04-01T00:00",
        "--end",
        "2024-04-01T00:10",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert [d["deviceCode"] for d in found["devices"]] == [H]
    assert {"HSD", "AD"} <= {p["dataProductCode"] for p in found["products"]}
    assert any(f["filename"].endswith(".flac") for f in found["files"])


def test_download_a_range_then_a_dry_run(run, tmp_path):
    done = run(
        "download",
        "--device",
        H,
        "--start",
        "2024-04-01T00:00",
        "--end",
        "2024-04-01T00:01",
        "--out",
        "out",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    run_folder = tmp_path / "out" / H / "onc_2024-04-01_to_2024-04-01"
    assert sorted(p.name for p in (run_folder / "audio").iterdir()) == [
        f"{H}_20240401T000000.000Z.flac"
    ]
    plan = run(
        "download",
        "--device",
        H,
        "--start",
        "2024-04-01T01:00",
        "--end",
        "2024-04-01T01:10",
        "--sample",
        "2",
        "--duration",
        "1min",
        "--dry-run",
        "--out",
        "plan",
    )
    assert plan.returncode == 0, plan.stderr
    assert "2 window(s)" in plan.stdout and "dry run" in plan.stdout
    assert not (tmp_path / "plan").exists()


def test_download_from_a_request_file(run, tmp_path):
    (tmp_path / "events.csv").write_text(f"device,timestamp,label\n{H},2024-04-01T00:30:00Z,ship\n")
    done = run("download", "--requests", "events.csv", "--products", "audio", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert "1 file(s) written" in done.stdout
    assert (
        tmp_path
        / "out"
        / H
        / "onc_2024-04-01_to_2024-04-01"
        / "audio"
        / f"{H}_20240401T002930.000Z_ship.flac"
    ).is_file()


def test_download_spectrograms_through_batched_hsd_orders(run, tmp_path):
    window = ("--device", H, "--start", "2024-04-01T02:00", "--end", "2024-04-01T02:10")
    plan = run(
        "download",
        *window,
        "--products",
        "spectrogram",
        "--hsd-downsample",
        "2",
        "--spectrograms-per-order",
        "1",
        "--dry-run",
    )
    assert plan.returncode == 0, plan.stderr
    assert "1 HSD order(s) that ONC estimates at" in plan.stdout
    done = run(
        "download",
        *window,
        "--products",
        "spectrogram",
        "--hsd-downsample",
        "2",
        "--stagger",
        "0",
        "--max-attempts",
        "2",
        "--poll",
        "0.05",
        "--out",
        "out",
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "out" / H / "onc_2024-04-01_to_2024-04-01"
    assert [p.name for p in (folder / "onc_spectrograms").iterdir()] == [
        f"{H}_20240401T020000.000Z-spect.mat"
    ]
    (order,) = json.loads((folder / "summary.json").read_text())["device"]["orders"]
    assert order["status"] == "complete" and order["request_id"] and order["run_ids"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("download",), "give --requests"),
        (("download", "--requests", "missing.json"), "no such request file"),
        (
            ("download", "--device", H, "--start", "2022-07-15", "--end", "2022-07-15T00:01"),
            "not deployed then",
        ),
        (("download", "--device", H, "--start", "2024-13-45", "--end", "2024-04-01"), "start"),
        (
            (
                "download",
                "--device",
                H,
                "--start",
                "2024-04-01",
                "--end",
                "2024-04-02",
                "--sample",
                "0",
            ),
            "--sample",
        ),
        (("download", "--requests", "x.json", "--stagger", "-1"), "--stagger"),
        (("download", "--requests", "x.json", "--max-attempts", "0"), "--max-attempts"),
        (("deployments", "NOSUCHDEVICE"), "NOSUCHDEVICE"),
        (("search", "--start", "2024-04-01"), "--start and --end"),
    ],
)
def test_bad_input_is_one_line_and_status_2(run, args, message):
    out = run(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    last = out.stderr.strip().splitlines()[-1]  # after argparse's usage lines, if any
    assert message in last and "Traceback" not in out.stderr
    assert last.startswith(("intake-onc: error:", "usage:", "intake-onc download: error:"))

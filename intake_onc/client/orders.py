"""Asynchronous data-product orders (``dataProductDelivery``), one at a time or many at once.

An order goes through ONC's delivery life cycle::

    request  ->  run  ->  (poll run while 202)  ->  download index 1, 2, ... (202: not yet,
    404: no more)  ->  download "meta" (optional)

:class:`DataProductOrder` does nothing until :meth:`~DataProductOrder.execute`, then lets you
watch it (``status``, ``logs``, :meth:`~DataProductOrder.update_status`), wait for it, cancel,
restart, and download its files into the cache (``<cache>/<server>/products/<fingerprint>/``,
keyed by the request's parameters, so the same order is never downloaded twice). Orders are
made by :meth:`ONCClient.order <intake_onc.client.batch.OrdersMixin.order>` and run in
parallel by :meth:`~intake_onc.client.batch.OrdersMixin.order_many`.

Statuses: ``created`` (not yet executed), ``queued``, ``running``, ``complete``, ``cancelled``,
``error``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from intake_onc._core.durations import duration_seconds
from intake_onc._core.files import atomic_path
from intake_onc.client._dpo import parse_estimate_bytes, parse_estimate_seconds
from intake_onc.client._redact import MASK
from intake_onc.client.cache import request_fingerprint
from intake_onc.client.errors import (
    GoneError,
    NoDataError,
    OrderError,
    OrderTimeoutError,
)

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client._client import ONCClient

__all__ = ["TERMINAL", "DataProductOrder", "LogEntry"]

TERMINAL = ("complete", "cancelled", "error")
#: Where the first submitter of an order records its dpRequestId (in the order's cache folder).
CLAIM = ".claim.json"
#: Seconds a recorded submission is joined by identical orders (ONC keeps products ~a day).
CLAIM_TTL = 12 * 3600.0


def _run_state(text: Any) -> str:
    value = str(text or "").strip().lower()
    if value in ("complete", "completed"):
        return "complete"
    if value in ("cancelled", "canceled"):
        return "cancelled"
    if value in ("error", "failed", "failure"):
        return "error"
    if value in ("queued", "pending", "open"):
        return "queued"
    return "running"


class LogEntry(NamedTuple):
    """One timestamped message of an order's life (server messages and client events)."""

    time: _dt.datetime
    message: str

    def __str__(self) -> str:
        return f"{self.time:%H:%M:%S} {self.message}"


def _seconds(value: Any, argument: str) -> float | None:
    """A ``poll``/``timeout`` argument (any duration, or None) as float seconds."""
    return None if value is None else duration_seconds(value, argument=argument, allow_zero=True)


class DataProductOrder:
    """One data-product order; nothing happens until :meth:`execute`.

    Create it with :meth:`ONCClient.order <OrdersMixin.order>`. Attributes: ``params`` (ONC's
    request parameters, token-free), ``request_id``, ``run_ids``, ``status``, ``logs``,
    ``estimated_size`` (bytes), ``estimated_time`` (seconds), ``file_count``, ``paths`` (after
    :meth:`download`), ``attempts``.

    Examples
    --------
    >>> order = client.order(product="HSD", extension="mat", device_code="ICLISTENHF6093",
    ...                      start="2024-04-01", end="2024-04-01T01:00")  # doctest: +SKIP
    >>> order.execute().wait()  # doctest: +SKIP
    >>> order.download()  # doctest: +SKIP
    [PosixPath('.../ICLISTENHF6093_20240401T000000.mat'), ...]
    """

    def __init__(
        self,
        client: ONCClient,
        params: Mapping[str, Any],
        *,
        include_metadata: bool = False,
        poll: float | None = None,
    ) -> None:
        self._client = client
        self.params = dict(params)
        self.include_metadata = include_metadata
        self._poll_override = _seconds(poll, "poll")
        self.request_id: int | None = None
        self.run_ids: list[int] = []
        self.status = "created"
        self.logs: list[LogEntry] = []
        self.estimated_size: int | None = None
        self.estimated_time: float | None = None
        self.file_count: int | None = None
        self.request_info: dict[str, Any] = {}
        self.paths: list[Path] = []
        self.attempts = 0
        self.from_cache = False

    # -- identity ---------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """The cache key of this request (its parameters, without the token)."""
        return request_fingerprint(self._client._core.host_key, self.params)

    @property
    def cache_dir(self) -> Path:
        """The cache folder of this order's files."""
        return self._client.cache.product_dir(self._client._core.host_key, self.fingerprint)

    @property
    def poll_period(self) -> float:
        """Seconds between status polls: 2 % of ONC's estimate, clamped to the client's range."""
        low, high = self._client.poll_range
        if self._poll_override is not None:
            return float(self._poll_override)
        guess = 0.02 * self.estimated_time if self.estimated_time else 2.0
        return min(max(guess, low), high)

    def _log(self, message: str) -> None:
        if not self.logs or self.logs[-1].message != message:
            self.logs.append(LogEntry(_dt.datetime.now(_dt.timezone.utc), message))

    def __repr__(self) -> str:
        p = self.params
        source = p.get("deviceCode") or "/".join(
            filter(None, (p.get("locationCode"), p.get("deviceCategoryCode")))
        )
        parts = [
            f"{p.get('dataProductCode')}.{p.get('extension')}",
            source,
            f"{p.get('dateFrom')}..{p.get('dateTo')}",
            f"status={self.status}",
        ]
        if self.request_id is not None:
            parts.append(f"request_id={self.request_id}")
        if self.run_ids:
            parts.append(f"run_ids={self.run_ids}")
        if self.estimated_size is not None or self.estimated_time is not None:
            size = self.request_info.get("estimatedFileSize", self.estimated_size)
            when = self.request_info.get("estimatedProcessingTime", self.estimated_time)
            parts.append(f"estimate={size}, {when}")
        if self.paths:
            parts.append(f"files={len(self.paths)}")
        return f"<DataProductOrder {' '.join(map(str, parts))}>"

    # -- life cycle -------------------------------------------------------------------------
    def _cached_manifest(self) -> dict[str, Any] | None:
        manifest = self._client.cache.read_manifest(self.cache_dir)
        if manifest is None or (self.include_metadata and not manifest.get("include_metadata")):
            return None
        return manifest

    def execute(self) -> DataProductOrder:
        """Submit the request and start the run (idempotent once submitted).

        If the cache already holds this order's complete files, nothing is sent: the order is
        ``complete`` and :meth:`download` returns the cached files. Identical orders (same
        :attr:`fingerprint`) are submitted once, across threads and processes sharing the
        cache: under the order's lock the first submits and records its ``dpRequestId`` in
        the cache (``.claim.json``); the others join that request instead of sending their own,
        and :meth:`download` (under the same kind of lock) fetches the files once.
        """
        if self.status not in ("created", "requested"):
            return self
        with self._client.cache.locked(self.cache_dir / ".submit", timeout=None):
            if self._use_cache():
                return self
            claim = self._read_claim()
            if claim is not None:
                # Another thread or process runs the same order: join it (a request this order
                # sent for its estimate() is left unrun, as ONC allows).
                self._join(claim)
            else:
                if self.status == "created":
                    self._submit()
                self.update_status()  # starts the run at ONC, before anyone joins
                self._write_claim()
                return self
        self.update_status()
        return self

    def _use_cache(self) -> bool:
        """Complete from the cache when it holds this order's files (``True`` then)."""
        manifest = self._cached_manifest()
        if manifest is None:
            return False
        self.from_cache = True
        self.status = "complete"
        if manifest.get("request_id") is not None:  # the request the files came from
            self.request_id = int(manifest["request_id"])
        self._log(f"found complete in the cache ({self.cache_dir})")
        return True

    def estimate(self) -> DataProductOrder:
        """Ask ONC what this order would cost, without running it.

        Sends the request (``dataProductDelivery/request``), which is where ONC answers with
        its estimates, and stops there: no run is started and nothing is downloaded. Afterwards
        :attr:`estimated_size` (bytes) and :attr:`estimated_time` (seconds) hold ONC's figures
        (``request_info`` its own strings) and the status is ``"requested"``; :meth:`execute`
        runs that same request later. An order whose files are in the cache is ``"complete"``
        at once, and sends nothing.

        Examples
        --------
        >>> order = client.order("HSD", "mat", device_code="ICLISTENHF6324",
        ...                      start="2024-04-01", end="2024-04-01T00:30")  # doctest: +SKIP
        >>> order.estimate().estimated_time  # doctest: +SKIP
        150.0
        """
        if self.status != "created":
            return self
        with self._client.cache.locked(self.cache_dir / ".submit", timeout=None):
            if not self._use_cache():
                self._submit()
                self.status = "requested"
        return self

    def _submit(self) -> None:
        self.attempts += 1
        core = self._client._core
        info = core.get_json("dataProductDelivery/request", self.params)
        if not isinstance(info, dict) or "dpRequestId" not in info:
            raise OrderError(f"unexpected answer to the product request: {str(info)[:200]}")
        self.request_info = {k: v for k, v in info.items() if k != "queryURL"}
        self.request_id = int(info["dpRequestId"])
        self.estimated_time = parse_estimate_seconds(info.get("estimatedProcessingTime"))
        self.estimated_size = parse_estimate_bytes(
            info.get("estimatedFileSize", info.get("fileSize"))
        )
        estimate = ", ".join(
            str(info[k]) for k in ("estimatedFileSize", "estimatedProcessingTime") if k in info
        )
        self._log(
            f"requested: dpRequestId={self.request_id}" + (f" ({estimate})" if estimate else "")
        )
        self.status = "queued"

    # -- the claim: one submission per fingerprint ------------------------------------------
    @property
    def _claim_path(self) -> Path:
        return self.cache_dir / CLAIM

    def _read_claim(self) -> dict[str, Any] | None:
        try:
            claim = json.loads(self._claim_path.read_text())
            age = time.time() - float(claim.get("time", 0))
            int(claim["request_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return claim if 0 <= age < CLAIM_TTL else None

    def _write_claim(self) -> None:
        claim = {
            "request_id": self.request_id,
            "run_ids": self.run_ids,
            "request_info": self.request_info,
            "estimated_time": self.estimated_time,
            "estimated_size": self.estimated_size,
            "pid": os.getpid(),
            "time": time.time(),
        }
        with atomic_path(self._claim_path) as tmp:
            tmp.write_text(json.dumps(claim, default=str))

    def _drop_claim(self) -> None:
        """Forget the recorded submission if it is this order's (failed, gone or done)."""
        claim = self._read_claim()
        if claim is not None and int(claim["request_id"]) == self.request_id:
            with contextlib.suppress(OSError):
                self._claim_path.unlink()

    def _join(self, claim: Mapping[str, Any]) -> None:
        self.request_id = int(claim["request_id"])
        self.run_ids = [int(r) for r in claim.get("run_ids") or []]
        self.request_info = dict(claim.get("request_info") or {})
        self.estimated_time = claim.get("estimated_time")
        self.estimated_size = claim.get("estimated_size")
        self.status = "queued"
        self._log(
            f"joined dpRequestId={self.request_id}, submitted by process {claim.get('pid')} "
            "for the same order"
        )

    def update_status(self) -> str:
        """Ask ONC how the run is going (``dataProductDelivery/run``); return the status."""
        if self.request_id is None:
            return self.status
        if self.status in ("cancelled",):
            return self.status
        resp = self._client._core.request(
            "dataProductDelivery/run", {"dpRequestId": self.request_id}, accept=(200, 202)
        )
        try:
            runs = json.loads(self._client._core._scrub(resp.content))
        except ValueError:
            runs = []
        runs = runs if isinstance(runs, list) else [runs]
        states = []
        for run in runs:
            if not isinstance(run, dict):
                continue
            if "dpRunId" in run and int(run["dpRunId"]) not in self.run_ids:
                self.run_ids.append(int(run["dpRunId"]))
            if run.get("fileCount") is not None:
                self.file_count = int(run["fileCount"])
            states.append(_run_state(run.get("status")))
            if run.get("status"):
                self._log(str(run["status"]))
        if "error" in states:
            self.status = "error"
        elif "cancelled" in states:
            self.status = "cancelled"
        elif states and all(s == "complete" for s in states):
            self.status = "complete"
        elif "running" in states or "complete" in states:
            self.status = "running"
        else:
            self.status = "queued"
        return self.status

    def wait(self, timeout: float | None = None, poll: float | None = None) -> DataProductOrder:
        """Poll until the run completes (executing first if needed).

        Parameters
        ----------
        timeout
            How long to wait at most (None: no limit): a duration (seconds, ``"10min"``,
            ``"PT10M"``, a timedelta).
        poll
            Time between polls, a duration (default :attr:`poll_period`).

        Raises
        ------
        OrderTimeoutError
            When ``timeout`` passes first (the order keeps running at ONC).
        OrderError
            When the run ends in ``error`` or ``cancelled``.
        """
        timeout, poll = _seconds(timeout, "timeout"), _seconds(poll, "poll")
        self.execute()
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.status not in TERMINAL:
            period = poll if poll is not None else self.poll_period
            if deadline is not None and time.monotonic() + period > deadline:
                raise OrderTimeoutError(
                    f"order {self.request_id} still {self.status} after {timeout} s; call "
                    "wait() again, or cancel()",
                )
            time.sleep(period)
            self.update_status()
        self._raise_for_state()
        return self

    def _raise_for_state(self) -> None:
        if self.status in ("error", "cancelled"):
            self._drop_claim()
        if self.status == "error":
            tail = "; ".join(e.message for e in self.logs[-3:])
            raise OrderError(f"order {self.request_id} failed at ONC: {tail}")
        if self.status == "cancelled":
            raise OrderError(f"order {self.request_id} was cancelled; call restart() to resume it")

    def cancel(self) -> DataProductOrder:
        """Cancel the run at ONC (``dataProductDelivery/cancel``)."""
        if self.request_id is None:
            self.status = "cancelled"
            return self
        self._client._core.request("dataProductDelivery/cancel", {"dpRequestId": self.request_id})
        self.status = "cancelled"
        self._log("cancelled by the client")
        return self

    def restart(self) -> DataProductOrder:
        """Resume a cancelled (or failed) run at ONC (``dataProductDelivery/restart``)."""
        if self.request_id is None:
            return self.execute()
        self._client._core.request(
            "dataProductDelivery/restart", {"dpRequestId": self.request_id}, accept=(200, 202)
        )
        self._log("restarted by the client")
        self.status = "queued"
        self.update_status()
        return self

    def reset(self) -> DataProductOrder:
        """Forget the submission (request and runs) so that :meth:`execute` submits anew."""
        self._drop_claim()
        self.request_id, self.run_ids, self.status = None, [], "created"
        self.file_count, self.paths = None, []
        return self

    # -- files ------------------------------------------------------------------------------
    def _fetch_index(self, run_id: int, index: str, deadline: float | None) -> Path | None:
        core = self._client._core
        folder = self.cache_dir

        def other(resp: Any) -> tuple[int, Any]:
            try:
                body = json.loads(core._scrub(resp.content)) if resp.content else None
            except ValueError:
                body = None
            return resp.status_code, body

        while True:
            got = core.download(
                "dataProductDelivery/download",
                {"dpRunId": run_id, "index": index},
                dest_dir=folder,
                accept=(200, 202, 204, 404, 410),
                on_other=other,
            )
            if isinstance(got[0], Path):
                path, size = got
                self._log(f"downloaded {path.name} ({size} bytes)")
                return path
            status, body = got
            if status == 202:
                message = body.get("message") if isinstance(body, dict) else None
                self._log(str(message or "running"))
                if deadline is not None and time.monotonic() > deadline:
                    raise OrderTimeoutError(
                        f"order {self.request_id}: file {index} of run {run_id} not ready in time"
                    )
                time.sleep(self.poll_period)
                continue
            if status == 404 or (status == 204 and index == "meta"):
                return None
            if status == 204:
                raise NoDataError(
                    f"order {self.request_id}: ONC found no data for this request (HTTP 204)",
                    status_code=204,
                    url=core.display_url("dataProductDelivery/download", {"dpRunId": run_id}),
                )
            raise GoneError(
                f"order {self.request_id}: file {index} of run {run_id} is gone from ONC's FTP "
                "server (HTTP 410); call reset() and execute() to order it again",
                status_code=410,
            )

    def download(
        self,
        dest: str | os.PathLike[str] | None = None,
        *,
        include_metadata: bool | None = None,
        timeout: float | None = None,
    ) -> list[Path]:
        """Download every file of the order (waiting for it first) and return their paths.

        Files go to the cache; with ``dest`` they are also copied into that folder and those
        paths are returned. The metadata file is included when asked (here or in
        :meth:`~OrdersMixin.order`).

        Examples
        --------
        >>> paths = order.download()  # doctest: +SKIP
        """
        if include_metadata is not None and include_metadata != self.include_metadata:
            self.include_metadata = bool(include_metadata)
            if self.from_cache and self._cached_manifest() is None:
                self.reset()
                self.from_cache = False
        timeout = _seconds(timeout, "timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.status != "complete":
            self.wait(timeout=timeout)
        folder = self.cache_dir
        with self._client.cache.locked(folder / ".order", timeout=timeout):
            manifest = self._cached_manifest()
            if manifest is None:
                if self.from_cache or self.request_id is None:  # cache vanished meanwhile
                    self.reset()
                    self.from_cache = False
                    self.wait(timeout=timeout)
                manifest = self._download_all(deadline)
        self.paths = [
            folder / f["name"]
            for f in manifest["files"]
            if self.include_metadata or f.get("index") != "meta"
        ]
        if dest is not None:
            self.paths = _place(self.paths, Path(dest))
        return list(self.paths)

    def _download_all(self, deadline: float | None) -> dict[str, Any]:
        entries: list[dict[str, Any]] = []
        for run_id in self.run_ids:
            index = 1
            while True:
                path = self._fetch_index(run_id, str(index), deadline)
                if path is None:
                    break
                entries.append(
                    {"name": path.name, "size": path.stat().st_size, "run": run_id, "index": index}
                )
                index += 1
                if self.file_count and self.file_count > 0 and index > self.file_count + 50:
                    break  # a server that never says 404: far past what run announced
            if self.include_metadata:
                path = self._fetch_index(run_id, "meta", deadline)
                if path is not None:
                    self._scrub_file(path)
                    entries.append(
                        {
                            "name": path.name,
                            "size": path.stat().st_size,
                            "run": run_id,
                            "index": "meta",
                        }
                    )
        manifest = {
            "params": self.params,
            "request_id": self.request_id,
            "run_ids": self.run_ids,
            "include_metadata": self.include_metadata,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "files": entries,
        }
        self._client.cache.write_manifest(self.cache_dir, manifest)
        self._drop_claim()
        self._log(f"{len(entries)} files in {self.cache_dir}")
        return manifest

    def _scrub_file(self, path: Path) -> None:
        """Remove the token from a metadata file (it may quote the request URL)."""
        secret = self._client._core._token.reveal().encode()
        data = path.read_bytes()
        if secret and secret in data:
            with atomic_path(path) as tmp:
                tmp.write_bytes(data.replace(secret, MASK.encode()))

    def run(self, timeout: float | None = None, dest: Any = None) -> list[Path]:
        """:meth:`execute`, :meth:`wait` and :meth:`download` in one call."""
        return self.execute().download(dest, timeout=timeout)


def _place(paths: Sequence[Path], dest: Path) -> list[Path]:
    """Copy cached files into ``dest``, atomically; return the new paths.

    Copies, not hard links: editing a delivered file must never change the cache.
    """
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in paths:
        target = dest / src.name
        if not (target.exists() and target.stat().st_size == src.stat().st_size):
            with atomic_path(target) as tmp:
                shutil.copy2(src, tmp)
        out.append(target)
    return out

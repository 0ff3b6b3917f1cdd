"""The collector's YAML config (configs/collector.example.yaml) -> a running :class:`Collector`.

Secrets are references (``community_env``, ``auth_key_file`` ...), resolved only when a session opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from collector.daemon import Collector
from collector.sinks.bus import MqttPublisher
from collector.transport import Credentials, Target
from linkmargin.bus import InProcessBus, Publisher

_CRED_KEYS = {f for f in Credentials.__dataclass_fields__}


def load_config(path: str | Path) -> dict[str, Any]:
    """Parse the config file."""
    doc: dict[str, Any] = YAML(typ="safe").load(Path(path).read_text())
    return doc


def targets_from(doc: dict[str, Any]) -> tuple[list[Target], dict[str, str]]:
    """Targets and per-device profile names from the ``devices`` and ``credentials`` sections."""
    creds: dict[str, Credentials] = {}
    for name, c in (doc.get("credentials") or {}).items():
        c = {k: (str(v) if k == "version" else v) for k, v in c.items() if k in _CRED_KEYS}
        creds[name] = Credentials(**c)
    targets, profiles = [], {}
    for d in doc.get("devices") or []:
        targets.append(
            Target(
                name=d["name"],
                host=str(d["address"]),
                port=int(d.get("port", 161)),
                credentials=creds[d["credentials"]],
                timeout=float(d.get("timeout", 2.0)),
                retries=int(d.get("retries", 1)),
                max_repetitions=int(d.get("max_repetitions", 25)),
            )
        )
        profiles[d["name"]] = d.get("profile", "auto")
    return targets, profiles


async def run_config(path: str, transport: str = "gufo") -> None:
    """Run the collector described by ``path`` until SIGINT/SIGTERM."""
    doc = load_config(path)
    targets, profiles = targets_from(doc)
    bus_doc = doc.get("bus") or {"kind": "none"}
    publisher: Publisher | None = None
    mqtt: MqttPublisher | None = None
    if bus_doc.get("kind") == "mqtt":
        mqtt = MqttPublisher(
            bus_doc.get("host", "127.0.0.1"),
            int(bus_doc.get("port", 1883)),
            bus_doc.get("outbox_dir", "outbox"),
            max_messages=int(bus_doc.get("max_messages", 100_000)),
            username=bus_doc.get("username"),
            password_file=bus_doc.get("password_file"),
            tls=bool(bus_doc.get("tls", False)),
            ca_file=bus_doc.get("ca_file"),
        )
        publisher = mqtt
    elif bus_doc.get("kind") == "inprocess":
        publisher = InProcessBus()
    pq = doc.get("parquet") or {}
    col = Collector(
        targets,
        publisher=publisher,
        parquet_root=pq.get("root"),
        parquet_flush_s=float(pq.get("flush_s", 300)),
        intervals={k: float(v) for k, v in (doc.get("intervals") or {}).items()},
        profiles=profiles,
        transport=doc.get("transport", transport),
        global_limit=int((doc.get("limits") or {}).get("global", 64)),
    )
    exp = doc.get("exporter") or {}
    if exp.get("listen"):
        host, _, port = str(exp["listen"]).rpartition(":")
        col.serve_metrics(int(port), host or "127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(col.run(stop))]
    if mqtt is not None:
        tasks.append(asyncio.create_task(mqtt.run(stop)))
    await asyncio.gather(*tasks)

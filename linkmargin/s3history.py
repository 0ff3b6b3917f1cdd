"""The history on S3-compatible object storage: ``s3://bucket/prefix``, through pyarrow's S3 filesystem.

Settings come from the environment, never from argv, and no secret reaches a log or a message:
``AWS_ENDPOINT_URL`` (an S3-compatible server; unset: AWS), ``AWS_REGION`` / ``AWS_DEFAULT_REGION``
(default ``us-east-1``), and the keys from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (with
``AWS_SESSION_TOKEN``) or else from the shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``,
default ``~/.aws/credentials``, section ``AWS_PROFILE`` or ``default``).

An object is written with one PUT of the whole file, so it is whole or absent (no ``.tmp`` step). S3
has no lock: run one compaction job per prefix (see docs/DEPLOY.md); the collector's sink does not
compact on object storage. :class:`S3Store` counts its requests (``requests``) and the keys its
listings returned (``keys_listed``), which is how pruning is shown.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from linkmargin.history import StoreError, arrow_table

HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for an S3-compatible "
    "server) or a shared credentials file (AWS_SHARED_CREDENTIALS_FILE)"
)
_ACCESS = ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "Forbidden", "403")


@dataclass(frozen=True, repr=False)
class S3Settings:
    """Where the bucket's server is and the keys to it (``repr`` shows no secret)."""

    endpoint: str | None
    key_id: str
    secret: str
    token: str | None
    region: str

    def __repr__(self) -> str:
        return f"S3Settings(endpoint={self.endpoint!r}, region={self.region!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        """Read the settings; raises :class:`StoreError` when no keys are found."""
        env = os.environ if env is None else env
        key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        token = env.get("AWS_SESSION_TOKEN")
        if not (key_id and secret):
            key_id, secret, token = _shared_file(env)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(env.get("AWS_ENDPOINT_URL") or None, key_id, secret, token, region)

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow S3 filesystem on these settings: short timeouts, three attempts per request."""
        scheme, endpoint = "https", None
        if self.endpoint:
            u = urlsplit(self.endpoint)
            scheme, endpoint = u.scheme or "https", u.netloc or u.path
        return pafs.S3FileSystem(
            access_key=self.key_id,
            secret_key=self.secret,
            session_token=self.token,
            region=self.region,
            endpoint_override=endpoint,
            scheme=scheme,
            connect_timeout=2.0,
            request_timeout=15.0,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3),
            check_directory_existence_before_creation=False,
            allow_delayed_open=True,  # a small file is one PutObject, not a multipart upload
        )

    def storage_options(self) -> dict[str, str]:
        """The same settings for polars' object_store reader."""
        out = {
            "aws_access_key_id": self.key_id,
            "aws_secret_access_key": self.secret,
            "aws_region": self.region,
        }
        if self.token:
            out["aws_session_token"] = self.token
        if self.endpoint:
            out["aws_endpoint_url"] = self.endpoint
            if self.endpoint.startswith("http://"):
                out["aws_allow_http"] = "true"
        return out


def _shared_file(env: Mapping[str, str]) -> tuple[str, str, str | None]:
    path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")
    profile = env.get("AWS_PROFILE") or "default"
    cp = configparser.ConfigParser()
    try:
        cp.read(path, encoding="utf-8")
    except (OSError, configparser.Error) as exc:
        raise StoreError(f"{path}: unreadable credentials file ({type(exc).__name__})\n{HINT}") from None
    if not cp.has_option(profile, "aws_access_key_id") or not cp.has_option(profile, "aws_secret_access_key"):
        raise StoreError(f"no S3 credentials in the environment nor in {path} [{profile}]\n{HINT}")
    token = cp.get(profile, "aws_session_token", fallback=None)
    return cp.get(profile, "aws_access_key_id"), cp.get(profile, "aws_secret_access_key"), token


class S3Store:
    """A history under ``s3://bucket/prefix`` (:class:`linkmargin.history.Store`)."""

    default_groups = 16

    def __init__(self, bucket: str, prefix: str, settings: S3Settings) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.base = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        self.root = f"s3://{self.base}"
        self.settings = settings
        self.fs = settings.filesystem()
        self.requests: Counter[str] = Counter()
        self.keys_listed = 0

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] | None = None) -> S3Store:
        u = urlsplit(url)
        if u.scheme != "s3" or not u.netloc:
            raise StoreError(f"{url}: expected s3://BUCKET/PREFIX")
        return cls(u.netloc, u.path, S3Settings.from_env(env))

    @contextlib.contextmanager
    def _call(self, what: str, key: str = "") -> Iterator[None]:
        """Count one request; turn a server or access failure into a :class:`StoreError`."""
        self.requests[what] += 1
        try:
            yield
        except FileNotFoundError:
            raise
        except OSError as exc:
            text = str(exc)
            if "AWS Error" not in text and "curl" not in text.lower():
                raise  # a local decoding error: the caller decides (a bad file)
            where = f"{self.root}/{key}" if key else self.root
            if "NO_SUCH_KEY" in text:  # deleted between a listing and this read (a compaction)
                raise FileNotFoundError(f"{where}: no such key") from None
            for secret in (self.settings.key_id, self.settings.secret):
                text = text.replace(secret, "***")
            code = re.search(r"AWS Error (\w+)", text)
            first = code.group(1) if code else (text.strip().splitlines() or [type(exc).__name__])[0]
            if any(a in text for a in _ACCESS):
                raise StoreError(f"{where}: access denied by the S3 server ({first})\n{HINT}") from None
            server = self.settings.endpoint or "AWS S3"
            raise StoreError(f"{where}: S3 {what} failed at {server} ({first})") from None

    def location(self, key: str) -> str:
        return f"{self.root}/{key}"

    def key(self, location: Path | str) -> str:
        return str(location).removeprefix(self.root + "/")

    def partitions(self) -> list[str]:
        with self._call("list"):
            infos = self.fs.get_file_info(pafs.FileSelector(self.base, recursive=False, allow_not_found=True))
        names = [i.base_name for i in infos if i.type == pafs.FileType.Directory]
        self.keys_listed += len(names)  # common prefixes of one delimiter listing
        return sorted(n for n in names if n.startswith("date="))

    def list_keys(self, prefix: str) -> list[str]:
        base = f"{self.base}/{prefix.strip('/')}" if prefix.strip("/") else self.base
        with self._call("list", prefix):
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        files = [i for i in infos if i.type == pafs.FileType.File]
        self.keys_listed += len(files)
        return sorted(
            i.path.removeprefix(self.base + "/")
            for i in files
            if i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
        )

    def _bytes(self, key: str) -> bytes:
        with self._call("get", key), self.fs.open_input_file(f"{self.base}/{key}") as fh:
            data: bytes = fh.readall()
        return data

    def read_metadata(self, key: str) -> pq.FileMetaData:
        with self._call("get", key), self.fs.open_input_file(f"{self.base}/{key}") as fh:
            return pq.read_metadata(fh)

    def read_frame(self, key: str) -> pl.DataFrame:
        return pl.read_parquet(io.BytesIO(self._bytes(key)))

    def write(
        self,
        frame: pl.DataFrame,
        key: str,
        *,
        replaces: list[str] | None = None,
        covers: list[str] | None = None,
    ) -> str:
        buf = pa.BufferOutputStream()
        pq.write_table(arrow_table(frame, replaces, covers), buf, compression="zstd")
        with self._call("put", key), self.fs.open_output_stream(f"{self.base}/{key}") as out:
            out.write(buf.getvalue())
        return self.location(key)

    def delete(self, keys: list[str]) -> None:
        for k in keys:
            with self._call("delete", k), contextlib.suppress(FileNotFoundError):
                self.fs.delete_file(f"{self.base}/{k}")

    def delete_partition(self, name: str) -> None:
        with self._call("delete", name), contextlib.suppress(FileNotFoundError):
            self.fs.delete_dir(f"{self.base}/{name}")

    def lock(self) -> contextlib.AbstractContextManager[bool]:
        return contextlib.nullcontext(True)

    def clean_tmp(self) -> int:
        return 0

    def scan_source(self, keys: list[str]) -> tuple[list[str], dict[str, str] | None]:
        return [self.location(k) for k in keys], self.settings.storage_options()

"""S3-compatible object storage named by a URL: ``s3://bucket[/prefix]?endpoint=...&region=...``.

The same URL form (and the same ``AWS_*`` variables for credentials) as Pulumi's ``s3://`` backend,
so one object store serves the fleet's stack state (``stacks.locks``) and its backups
(``stacks.backups``). boto3 is imported only when a URL is opened.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclasses.dataclass(frozen=True)
class Bucket:
    """A boto3 client, a bucket and the key prefix everything of ours lives under."""

    client: Any
    name: str
    prefix: str

    def key(self, suffix: str) -> str:
        return f"{self.prefix}/{suffix}" if self.prefix else suffix

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (relative to the URL's prefix), full keys."""
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.name, Prefix=self.key(prefix)):
            found += [str(item["Key"]) for item in page.get("Contents") or []]
        return found


_OPENED: dict[tuple[str, float], Bucket] = {}
_OPENING = threading.Lock()


def open_bucket(url: str, *, read_timeout: float = 10) -> Bucket:
    """The bucket of an ``s3://`` URL, one client per URL for the process (boto3's clients are
    thread-safe, but making them from several threads at once is not, and each costs tens of ms);
    a ``ValueError`` names what is wrong with the URL."""
    with _OPENING:
        if (url, read_timeout) not in _OPENED:
            _OPENED[(url, read_timeout)] = _open(url, read_timeout)
        return _OPENED[(url, read_timeout)]


def _open(url: str, read_timeout: float) -> Bucket:
    import boto3
    from botocore.config import Config

    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket[/prefix] URL: {parsed.scheme or '(no scheme)'}://...")
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    endpoint = options.get("endpoint")
    scheme = "http" if options.get("disableSSL", "").lower() == "true" else "https"
    if endpoint and "://" not in endpoint:
        endpoint = f"{scheme}://{endpoint}"
    config: dict[str, Any] = {}
    if options.get("s3ForcePathStyle", options.get("use_path_style", "")).lower() == "true":
        config["s3"] = {"addressing_style": "path"}
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=options.get("region") or os.environ.get("AWS_REGION") or "us-east-1",
        config=Config(**config, retries={"max_attempts": 3}, connect_timeout=5, read_timeout=read_timeout),
    )
    return Bucket(client=client, name=parsed.netloc, prefix=parsed.path.strip("/"))

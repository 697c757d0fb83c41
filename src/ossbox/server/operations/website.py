"""Static website hosting: PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite, and the index and
error documents GET and HEAD answer with.

Strategy, as OSS: a GET or HEAD of a key that does not exist and names a directory (it ends in `/`) gets
the index document: the directory's own (`dir/index.html`) with SupportSubDir, else the bucket's root
one. An anonymous GET of the bucket itself (its bare address, as a browser asks) gets the root index
document too, where a signed one still lists the bucket. An anonymous GET that still finds nothing gets
the error document, with its HttpStatus (404 by default). Routing rules are checked, kept and answered
as given, but not applied: their redirects and back-to-origin mirroring are the cloud's CDN features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ...protocol.errors import OssError
from .context import Context
from .values import BucketRef, required_config

__all__ = ["Website", "BucketWebsite", "WEBSITE_CONFIG", "MAX_ROUTING_RULES", "stored_website",
           "put_bucket_website", "get_bucket_website", "delete_bucket_website"]

WEBSITE_CONFIG = "website"  # the configuration's name among a bucket's (BucketRecord.configs)
MAX_ROUTING_RULES = 20

# A routing rule kept as given: (tag, text, children) all the way down.
Element = tuple[str, str, tuple]


@dataclass(frozen=True)
class Website:
    index_suffix: str | None = None  # IndexDocument/Suffix: `index.html`
    support_sub_dir: bool | None = None
    index_type: int | None = None
    error_key: str | None = None  # ErrorDocument/Key
    error_status: int | None = None  # ErrorDocument/HttpStatus: 404 unless given
    routing_rules: tuple[Element, ...] = ()

    def index_for(self, key: str) -> str | None:
        """The index document answering for `key`, if it names a directory (or the bucket: "")."""
        if self.index_suffix is None or (key and not key.endswith("/")):
            return None
        return key + self.index_suffix if self.support_sub_dir else self.index_suffix


@dataclass(frozen=True)
class BucketWebsite:
    bucket: str
    website: Website


def _validate(website: Website) -> None:
    if website.index_suffix is None and website.error_key is None:
        raise OssError("MalformedXML", "A website configuration needs an IndexDocument or an ErrorDocument.")
    if website.index_suffix is not None and (not website.index_suffix or "/" in website.index_suffix):
        raise OssError("InvalidArgument", "The index document's Suffix is a file name, without '/'.",
                       ArgumentName="Suffix", ArgumentValue=website.index_suffix)
    if website.error_key == "":
        raise OssError("InvalidArgument", "The error document's Key cannot be empty.", ArgumentName="Key")
    if website.error_status not in (None, 200, 404):
        raise OssError("InvalidArgument", "The error document's HttpStatus is 200 or 404.",
                       ArgumentName="HttpStatus", ArgumentValue=str(website.error_status))
    if len(website.routing_rules) > MAX_ROUTING_RULES:
        raise OssError("InvalidArgument", f"At most {MAX_ROUTING_RULES} routing rules are allowed.")


def stored_website(configs: dict) -> Website | None:
    stored = configs.get(WEBSITE_CONFIG)
    if stored is None:
        return None

    def element(item) -> Element:
        tag, text, children = item
        return tag, text, tuple(element(child) for child in children)

    return Website(**{**stored, "routing_rules": tuple(element(rule) for rule in stored["routing_rules"])})


async def put_bucket_website(context: Context, request: BucketWebsite) -> None:
    _validate(request.website)
    await context.storage.update_bucket(request.bucket, configs={WEBSITE_CONFIG: asdict(request.website)})


async def get_bucket_website(context: Context, request: BucketRef) -> Website:
    return await required_config(context, request.bucket, stored_website, "NoSuchWebsiteConfiguration",
                                 "The specified bucket does not have a website configuration.")


async def delete_bucket_website(context: Context, request: BucketRef) -> None:
    await context.storage.update_bucket(request.bucket, configs={WEBSITE_CONFIG: None})

"""Server-side encryption: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption, and which
encryption a write gets.

Strategy, as OSS: a write names its encryption (AES256, KMS with an optional key id and data algorithm,
or SM4), or gets its bucket's default, or none. A copy does not inherit its source's. An upload's parts
and an appendable object's later appends take the encryption their upload or object began with. A KMS
key id is only recorded: ossbox has no KMS, and without one the bytes are encrypted under the data
directory's key like every other encrypted version (storage/cipher.py). A KMS write that names no key
gets a default key id, stable per server, as the cloud gives its account's default key.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from ...protocol.errors import OssError
from ...storage.records import BucketRecord, Encryption
from .context import Context
from .values import BucketRef, required_config

__all__ = ["SSE_ALGORITHMS", "ENCRYPTION_CONFIG", "BucketEncryption", "requested_encryption", "stored_encryption",
           "write_encryption", "put_bucket_encryption", "get_bucket_encryption", "delete_bucket_encryption"]

SSE_ALGORITHMS = ("AES256", "KMS", "SM4")
_DATA_ALGORITHMS = ("SM4",)
ENCRYPTION_CONFIG = "encryption"  # the bucket default's name among its configurations (BucketRecord.configs)


@dataclass(frozen=True)
class BucketEncryption:
    bucket: str
    rule: Encryption


def requested_encryption(algorithm: str | None, kms_key_id: str | None = None, data_algorithm: str | None = None
                         ) -> Encryption | None:
    """The encryption a request names (None: none), checked as OSS checks it: a key id only with KMS, a
    data algorithm kept only with KMS."""
    if algorithm is None:
        return None
    if algorithm not in SSE_ALGORITHMS:
        raise OssError("InvalidEncryptionAlgorithmError", f"The encryption algorithm {algorithm!r} is not one of "
                       f"{', '.join(SSE_ALGORITHMS)}.", ArgumentName="x-oss-server-side-encryption",
                       ArgumentValue=algorithm)
    if kms_key_id and algorithm != "KMS":
        raise OssError("InvalidArgument", "A KMS key id goes with the KMS algorithm only.",
                       ArgumentName="KMSMasterKeyID", ArgumentValue=kms_key_id)
    if algorithm != "KMS":
        return Encryption(algorithm)
    if kms_key_id and not all("!" <= char <= "~" for char in kms_key_id):  # it goes back out in a header
        raise OssError("InvalidArgument", "A KMS key id is visible ASCII.", ArgumentName="KMSMasterKeyID")
    if data_algorithm is not None and data_algorithm not in _DATA_ALGORITHMS:
        raise OssError("InvalidArgument", f"The data encryption algorithm {data_algorithm!r} is not SM4.",
                       ArgumentName="x-oss-server-side-data-encryption", ArgumentValue=data_algorithm)
    return Encryption("KMS", kms_key_id or None, data_algorithm)


def stored_encryption(configs: dict) -> Encryption | None:
    """A bucket's default encryption, from its stored form; None if it has none."""
    stored = configs.get(ENCRYPTION_CONFIG)
    return None if stored is None else Encryption(**stored)


def write_encryption(context: Context, requested: Encryption | None, bucket: BucketRecord) -> Encryption | None:
    """The encryption of a new version: the one the request names, else its bucket's default; a KMS one
    without a key id gets the server's default key id."""
    encryption = requested or stored_encryption(bucket.configs)
    if encryption is not None and encryption.algorithm == "KMS" and encryption.kms_key_id is None:
        default_key = str(uuid.uuid5(uuid.NAMESPACE_OID, f"ossbox-kms-default-{context.owner_id}"))
        encryption = Encryption("KMS", default_key, encryption.data_algorithm)
    return encryption


async def put_bucket_encryption(context: Context, request: BucketEncryption) -> None:
    await context.storage.update_bucket(request.bucket, configs={ENCRYPTION_CONFIG: asdict(request.rule)})


async def get_bucket_encryption(context: Context, request: BucketRef) -> Encryption:
    return await required_config(context, request.bucket, stored_encryption, "NoSuchServerSideEncryptionRule",
                                 "The server side encryption configuration was not found.")


async def delete_bucket_encryption(context: Context, request: BucketRef) -> None:
    await context.storage.update_bucket(request.bucket, configs={ENCRYPTION_CONFIG: None})

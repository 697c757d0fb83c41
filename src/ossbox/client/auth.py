"""Signing with oss2's auth classes, each a thin adapter over `ossbox.protocol.signing`.

Strategy: an auth object turns an `http.Request` into a `SignedParts` (method, bucket, key, decoded query,
lowercased headers), calls the protocol core's signing function (the very code the server verifies with)
and writes the result back: the `date` / `x-oss-date` and Authorization headers (`_sign_request`) or the
query parameters of a presigned URL (`_sign_url`, which returns the URL). Parameters are added in the order
oss2 adds them, so presigned URLs match oss2's character for character. The clock is a constructor
argument, so tests can stop it. Method names are oss2's (`_sign_request`, `_sign_url`, `auth_version()`).
"""

from __future__ import annotations

import time

from ..protocol.dates import http_date, v4_datetime
from ..protocol.signing import (
    UNSIGNED_PAYLOAD,
    SignedParts,
    v1_authorization,
    v1_presign_params,
    v2_signature,
    v2_string_to_sign,
    v4_authorization,
    v4_presign_params,
)
from .credentials import StaticCredentialsProvider
from .exceptions import ClientError

__all__ = [
    "AUTH_VERSION_1", "AUTH_VERSION_2", "AUTH_VERSION_4", "AuthBase", "ProviderAuth", "Auth", "ProviderAuthV2",
    "AuthV2", "ProviderAuthV4", "AuthV4", "AnonymousAuth", "StsAuth", "make_auth",
]

AUTH_VERSION_1 = "v1"
AUTH_VERSION_2 = "v2"
AUTH_VERSION_4 = "v4"

_SECURITY_TOKEN_HEADER = "x-oss-security-token"
# oss2's V2 header signatures also cover these headers when the request carries them.
_V2_DEFAULT_ADDITIONAL_HEADERS = ("range", "if-modified-since")
# The order in which oss2 appends a V4 presigned URL's parameters.
_V4_PRESIGN_ORDER = ("x-oss-date", "x-oss-expires", "x-oss-signature-version", "x-oss-credential",
                     "x-oss-additional-headers", "x-oss-signature")


def _signed_parts(req, bucket_name, key) -> SignedParts:
    headers = {name.lower(): value for name, value in req.headers.items()}
    return SignedParts(req.method, bucket_name or None, key or None, tuple(req.params.items()), headers)


def _present(req, names) -> list[str]:
    """The lowercased `names` the request carries as headers, sorted."""
    return sorted({n.lower() for n in names if n in req.headers})


class AuthBase:
    def __init__(self, credentials_provider, clock=time.time):
        self.credentials_provider = credentials_provider
        self.clock = clock

    def auth_version(self) -> str:
        return ""


class ProviderAuth(AuthBase):
    """Signature version 1 (HMAC-SHA1)."""

    def _sign_request(self, req, bucket_name, key):
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers[_SECURITY_TOKEN_HEADER] = credentials.get_security_token()
        req.headers["date"] = http_date(self.clock())
        req.headers["authorization"] = v1_authorization(
            _signed_parts(req, bucket_name, key), credentials.get_access_key_id(), credentials.get_access_key_secret())

    def _sign_url(self, req, bucket_name, key, expires):
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.params["security-token"] = credentials.get_security_token()
        req.params.update(v1_presign_params(_signed_parts(req, bucket_name, key), credentials.get_access_key_id(),
                                            credentials.get_access_key_secret(), int(self.clock()) + expires))
        return req.full_url()

    def auth_version(self):
        return AUTH_VERSION_1


class ProviderAuthV2(AuthBase):
    """Signature version 2 (HMAC-SHA256 over every query parameter)."""

    def _sign_request(self, req, bucket_name, key, in_additional_headers=None):
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers[_SECURITY_TOKEN_HEADER] = credentials.get_security_token()
        additional = _present(req, _V2_DEFAULT_ADDITIONAL_HEADERS if in_additional_headers is None
                              else in_additional_headers)
        date = req.headers["date"] = http_date(self.clock())
        signature = v2_signature(credentials.get_access_key_secret(),
                                 v2_string_to_sign(_signed_parts(req, bucket_name, key), date, additional))
        listed = f"AdditionalHeaders:{';'.join(additional)}," if additional else ""
        req.headers["authorization"] = f"OSS2 AccessKeyId:{credentials.get_access_key_id()},{listed}Signature:{signature}"

    def _sign_url(self, req, bucket_name, key, expires, in_additional_headers=None):
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.params["security-token"] = credentials.get_security_token()
        additional = _present(req, in_additional_headers or ())
        expiration = str(int(self.clock()) + expires)
        req.params["x-oss-signature-version"] = "OSS2"
        req.params["x-oss-expires"] = expiration
        req.params["x-oss-access-key-id"] = credentials.get_access_key_id()
        if additional:
            req.params["x-oss-additional-headers"] = ";".join(additional)
        req.params["x-oss-signature"] = v2_signature(
            credentials.get_access_key_secret(),
            v2_string_to_sign(_signed_parts(req, bucket_name, key), expiration, additional))
        return req.full_url()

    def auth_version(self):
        return AUTH_VERSION_2


def _v4_region(req) -> str:
    if req.region is None:
        raise ClientError("The region should not be None in signature version 4.")
    return req.region


class ProviderAuthV4(AuthBase):
    """Signature version 4 (OSS4-HMAC-SHA256, scoped to the request's region)."""

    def _sign_request(self, req, bucket_name, key, in_additional_headers=None):
        region = _v4_region(req)
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers[_SECURITY_TOKEN_HEADER] = credentials.get_security_token()
        req.headers["x-oss-date"] = v4_datetime(self.clock())
        req.headers["x-oss-content-sha256"] = UNSIGNED_PAYLOAD
        req.headers["authorization"] = v4_authorization(
            _signed_parts(req, bucket_name, key), credentials.get_access_key_id(),
            credentials.get_access_key_secret(), region, in_additional_headers or (), req.product)

    def _sign_url(self, req, bucket_name, key, expires, in_additional_headers=None):
        region = _v4_region(req)
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.params["x-oss-security-token"] = credentials.get_security_token()
        added = v4_presign_params(_signed_parts(req, bucket_name, key), credentials.get_access_key_id(),
                                  credentials.get_access_key_secret(), region, v4_datetime(self.clock()), expires,
                                  in_additional_headers or (), req.product)
        req.params.update((name, added[name]) for name in _V4_PRESIGN_ORDER if name in added)
        return req.full_url()

    def auth_version(self):
        return AUTH_VERSION_4


class Auth(ProviderAuth):
    def __init__(self, access_key_id, access_key_secret, clock=time.time):
        super().__init__(StaticCredentialsProvider(access_key_id.strip(), access_key_secret.strip()), clock)


class AuthV2(ProviderAuthV2):
    def __init__(self, access_key_id, access_key_secret, clock=time.time):
        super().__init__(StaticCredentialsProvider(access_key_id.strip(), access_key_secret.strip()), clock)


class AuthV4(ProviderAuthV4):
    def __init__(self, access_key_id, access_key_secret, clock=time.time):
        super().__init__(StaticCredentialsProvider(access_key_id.strip(), access_key_secret.strip()), clock)


class AnonymousAuth:
    """No signature: for public-read (or public-read-write) buckets and objects."""

    def _sign_request(self, req, bucket_name, key):
        pass

    def _sign_url(self, req, bucket_name, key, expires):
        return req.full_url()

    def auth_version(self):
        return ""


_PROVIDER_AUTH = {AUTH_VERSION_2: ProviderAuthV2, AUTH_VERSION_4: ProviderAuthV4}


class StsAuth:
    """Temporary STS credentials (key, secret and security token), signed with the version asked for."""

    def __init__(self, access_key_id, access_key_secret, security_token, auth_version=AUTH_VERSION_1,
                 clock=time.time):
        provider = StaticCredentialsProvider(access_key_id, access_key_secret, security_token)
        self._auth = _PROVIDER_AUTH.get(auth_version, ProviderAuth)(provider, clock)

    def _sign_request(self, req, bucket_name, key):
        self._auth._sign_request(req, bucket_name, key)

    def _sign_url(self, req, bucket_name, key, expires):
        return self._auth._sign_url(req, bucket_name, key, expires)

    def auth_version(self):
        return self._auth.auth_version()


def make_auth(access_key_id, access_key_secret, auth_version=AUTH_VERSION_1):
    """An Auth, AuthV2 or AuthV4 for a fixed access key."""
    klass = {AUTH_VERSION_2: AuthV2, AUTH_VERSION_4: AuthV4}.get(auth_version, Auth)
    return klass(access_key_id, access_key_secret)

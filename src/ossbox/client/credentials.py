"""Where the access key comes from: a fixed key, or the environment, behind oss2's provider interface.

A provider's `get_credentials()` is called for every request it signs, so a provider may rotate keys.
`EnvironmentVariableCredentialsProvider` reads OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and (optionally)
OSS_SESSION_TOKEN each time, the names oss2 and ossutil use.
"""

from __future__ import annotations

import os

from .exceptions import ClientError

__all__ = ["Credentials", "CredentialsProvider", "StaticCredentialsProvider", "EnvironmentVariableCredentialsProvider"]


class Credentials:
    def __init__(self, access_key_id="", access_key_secret="", security_token=""):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token

    def get_access_key_id(self):
        return self.access_key_id

    def get_access_key_secret(self):
        return self.access_key_secret

    def get_security_token(self):
        return self.security_token


class CredentialsProvider:
    def get_credentials(self) -> Credentials:
        raise NotImplementedError


class StaticCredentialsProvider(CredentialsProvider):
    def __init__(self, access_key_id="", access_key_secret="", security_token=""):
        self.credentials = Credentials(access_key_id, access_key_secret, security_token)

    def get_credentials(self):
        return self.credentials


class EnvironmentVariableCredentialsProvider(CredentialsProvider):
    def get_credentials(self):
        access_key_id = os.getenv("OSS_ACCESS_KEY_ID")
        access_key_secret = os.getenv("OSS_ACCESS_KEY_SECRET")
        if not access_key_id:
            raise ClientError("Access key id should not be null or empty.")
        if not access_key_secret:
            raise ClientError("Secret access key should not be null or empty.")
        return Credentials(access_key_id, access_key_secret, os.getenv("OSS_SESSION_TOKEN"))

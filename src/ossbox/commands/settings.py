"""Where a client command's endpoint, region, signature version and access key come from.

Strategy: `resolve_settings` is a pure function of the flags, the environment and the text of the config
file, with the precedence ossutil 2.0 and the AWS CLI share: flags > environment > config file, setting by
setting. That holds for the access key's parts too: the key id, the secret and the STS token are each taken
from the first source that gives them, so `-k SECRET` with OSS_ACCESS_KEY_ID set uses both, and
`Settings.credentials_from` says where each part came from (for the error message of a rejected key). The config
file is `~/.ossutilconfig` in ossutil's INI format: ossutil 2.0's `[default]` / `[profile NAME]` sections
with `access-key-id`, `access-key-secret`, `region`, `endpoint` (kebab, snake or camel case), or ossutil 1's
`[Credentials]` with `endpoint`, `accessKeyID`, `accessKeySecret`. `make_bucket` / `make_service` turn the
settings into `ossbox.client` objects.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import client

__all__ = ["SettingsError", "Settings", "DEFAULT_CONFIG_FILE", "read_config", "resolve_settings", "make_bucket",
           "make_service"]

DEFAULT_CONFIG_FILE = os.path.join("~", ".ossutilconfig")

# Config keys, normalised (lower case, no '-' or '_'), and the setting each one gives.
_CONFIG_KEYS = {
    "accesskeyid": "access_key_id",
    "accesskeysecret": "access_key_secret",
    "ststoken": "security_token",
    "securitytoken": "security_token",
    "sessiontoken": "security_token",
    "region": "region",
    "endpoint": "endpoint",
    "signversion": "sign_version",
    "signatureversion": "sign_version",
    "addressingstyle": "addressing_style",
}
_ALIYUN_ENDPOINT = re.compile(r"^oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
_IP_OR_LOCALHOST = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$")


class SettingsError(ValueError):
    """The configuration is missing something or contradicts itself (a usage error: exit code 1)."""


@dataclass(frozen=True)
class Settings:
    endpoint: str
    region: str | None
    sign_version: str  # "v1" or "v4"
    addressing_style: str  # "virtual", "path" or "cname"
    access_key_id: str
    access_key_secret: str
    security_token: str = ""
    credentials_from: str = ""  # where the access key was found, for error messages


def _normalise(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def read_config(text: str, profile: str | None, path: str = DEFAULT_CONFIG_FILE) -> dict[str, str]:
    """The settings of `profile` (or of `[default]`, else ossutil 1's `[Credentials]`) in config `text`."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keep the keys' case; they are normalised below
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise SettingsError(f"cannot read the config file {path}: {error}") from None
    if profile:
        candidates = [f"profile {profile}", profile] + (["Credentials"] if profile == "default" else [])
    else:
        candidates = ["default", "Credentials"]
    section = next((name for name in candidates if parser.has_section(name)), None)
    if section is None:
        if profile:
            raise SettingsError(f"profile {profile!r} is not in {path} (expected a [profile {profile}] section)")
        return {}
    values: dict[str, str] = {}
    for key, value in parser.items(section):
        setting = _CONFIG_KEYS.get(_normalise(key))
        if setting and value.strip():
            values[setting] = value.strip()
    return values


def _with_scheme(endpoint: str) -> str:
    """Endpoints without a scheme use HTTPS, except an IP address or localhost (a local server)."""
    if "://" in endpoint:
        return endpoint
    host = endpoint.split("/")[0]
    host = host if host.startswith("[") else host.rsplit(":", 1)[0]
    return ("http://" if _IP_OR_LOCALHOST.match(host) else "https://") + endpoint


def _region_of(endpoint: str) -> str | None:
    host = endpoint.split("://", 1)[-1].split("/")[0].split(":")[0]
    match = _ALIYUN_ENDPOINT.match(host)
    return match.group(1) if match else None


_KEY_SOURCES = (  # (setting, flag, environment variable, config key, what to call it in messages)
    ("access_key_id", "access_key_id", "OSS_ACCESS_KEY_ID", "access_key_id", "key id"),
    ("access_key_secret", "access_key_secret", "OSS_ACCESS_KEY_SECRET", "access_key_secret", "secret"),
    ("security_token", "sts_token", "OSS_SESSION_TOKEN", "security_token", "STS token"),
)


def _first_given(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first (value, source) whose value is set, else (None, "")."""
    return next(((value, source) for value, source in candidates if value), (None, ""))


def _access_key(flags: Mapping[str, str | None], env: Mapping[str, str], config: Mapping[str, str],
                config_path: str) -> tuple[dict[str, str], str]:
    """The key id, secret and token, each from its first source (flag, environment, config file), and a
    description of where each came from."""
    chosen: dict[str, str] = {}
    origins: list[str] = []
    for setting, flag, variable, config_key, label in _KEY_SOURCES:
        value, source = _first_given((flags.get(flag), f"--{flag.replace('_', '-')}"), (env.get(variable), variable),
                                     (config.get(config_key), config_path))
        chosen[setting] = (value or "").strip()
        if value:
            origins.append(f"{label} from {source}")
    missing = [(flag, variable, config_key, label) for setting, flag, variable, config_key, label in _KEY_SOURCES[:2]
               if not chosen[setting]]
    if len(missing) == 2:
        raise SettingsError("no access key: pass --access-key-id and --access-key-secret, set OSS_ACCESS_KEY_ID "
                            f"and OSS_ACCESS_KEY_SECRET, or add access-key-id and access-key-secret to {config_path}")
    if missing:
        flag, variable, config_key, label = missing[0]
        raise SettingsError(f"the access key has no {label} (only a {'; '.join(origins)}): pass "
                            f"--{flag.replace('_', '-')}, set {variable}, or add {config_key.replace('_', '-')} "
                            f"to {config_path}")
    return chosen, ", ".join(origins)


def resolve_settings(flags: Mapping[str, str | None], env: Mapping[str, str], config: Mapping[str, str],
                     config_path: str = DEFAULT_CONFIG_FILE) -> Settings:
    """Settings from `flags` (option name -> value or None), the environment and a config section (as
    `read_config` returns it): each setting from the first of them that gives it."""
    def first(*values: str | None) -> str | None:
        return next((v for v in values if v), None)

    key, source = _access_key(flags, env, config, config_path)
    endpoint = first(flags.get("endpoint"), env.get("OSS_ENDPOINT"), config.get("endpoint"))
    region = first(flags.get("region"), env.get("OSS_REGION"), config.get("region"))
    if endpoint:
        endpoint = _with_scheme(endpoint.strip())
        region = region or _region_of(endpoint)
    elif region:
        endpoint = f"https://oss-{region}.aliyuncs.com"
    else:
        raise SettingsError("no endpoint: pass --endpoint (e.g. http://127.0.0.1:9000) or --region, set OSS_ENDPOINT, "
                            f"or add endpoint to {config_path}")

    sign_version = (first(flags.get("sign_version"), config.get("sign_version")) or ("v4" if region else "v1")).lower()
    if sign_version not in ("v1", "v4"):
        raise SettingsError(f"signature version {sign_version!r} is not one of v1, v4")
    if sign_version == "v4" and not region:
        raise SettingsError("signature version 4 needs a region: pass --region (e.g. cn-hangzhou), set OSS_REGION, "
                            "or use --sign-version v1")
    style = (first(flags.get("addressing_style"), config.get("addressing_style")) or "virtual").lower()
    if style not in ("virtual", "path", "cname"):
        raise SettingsError(f"addressing style {style!r} is not one of virtual, path, cname")
    return Settings(endpoint, region, sign_version, style, key["access_key_id"], key["access_key_secret"],
                    key["security_token"], source)


def _auth(settings: Settings):
    provider = client.credentials.StaticCredentialsProvider(settings.access_key_id, settings.access_key_secret,
                                                            settings.security_token)
    return client.ProviderAuthV4(provider) if settings.sign_version == "v4" else client.ProviderAuth(provider)


def make_bucket(settings: Settings, name: str, session: client.Session | None = None) -> client.Bucket:
    return client.Bucket(_auth(settings), settings.endpoint, name, is_cname=settings.addressing_style == "cname",
                         session=session, region=settings.region, is_path_style=settings.addressing_style == "path")


def make_service(settings: Settings, session: client.Session | None = None) -> client.Service:
    return client.Service(_auth(settings), settings.endpoint, session=session, region=settings.region,
                          is_path_style=settings.addressing_style == "path")

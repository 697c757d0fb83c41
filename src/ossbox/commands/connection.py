"""The connection options every client command takes, before or after its name (click only, so `ossbox.cli`
can put them on the group without importing the client)."""

from __future__ import annotations

import click

__all__ = ["CONNECTION_NAMES", "connection_options"]

_OPTIONS = [
    click.option("-e", "--endpoint", help="Endpoint, e.g. http://127.0.0.1:9000 or oss-cn-hangzhou.aliyuncs.com "
                 "(no scheme: https, or http for an IP address or localhost). [env: OSS_ENDPOINT]"),
    click.option("--region", help="Region, e.g. cn-hangzhou (needed by signature v4). [env: OSS_REGION]"),
    click.option("--sign-version", type=click.Choice(["v1", "v4"]),
                 help="Signature version. [default: v4 when a region is known, else v1]"),
    click.option("--addressing-style", type=click.Choice(["virtual", "path", "cname"]),
                 help="virtual: bucket.endpoint; path: endpoint/bucket; cname: the endpoint is the bucket's own "
                      "domain. IP and localhost endpoints always use path. [default: virtual]"),
    click.option("-i", "--access-key-id", help="Access key id. [env: OSS_ACCESS_KEY_ID] The key id, the secret and "
                 "the STS token are each taken on their own from the flag, else the environment, else the config "
                 "file: -k SECRET with OSS_ACCESS_KEY_ID set signs with that id and this secret."),
    click.option("-k", "--access-key-secret", help="Access key secret. [env: OSS_ACCESS_KEY_SECRET]"),
    click.option("--sts-token", help="STS security token, only for a temporary key. [env: OSS_SESSION_TOKEN]"),
    click.option("--profile", help="Profile of the config file: its [profile NAME] section. [default: [default], "
                                   "else ossutil 1's [Credentials]]"),
    click.option("-c", "--config-file", help="ossutil config file (INI). [default: ~/.ossutilconfig]"),
    click.option("--ca-bundle", type=click.Path(dir_okay=False),
                 help="Verify HTTPS servers against the certificate authorities in this PEM file. [default: the "
                      "system's]"),
    click.option("--insecure", is_flag=True, default=None,
                 help="Do not verify HTTPS servers' certificates (anyone on the path can read and change the "
                      "traffic)."),
]
CONNECTION_NAMES = ("endpoint", "region", "sign_version", "addressing_style", "access_key_id",
                    "access_key_secret", "sts_token", "profile", "config_file", "ca_bundle", "insecure")


def connection_options(function):
    """Add the connection options to a click command or group."""
    for option in reversed(_OPTIONS):
        function = option(function)
    return function

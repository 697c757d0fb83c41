"""The `ossbox` command line."""

from __future__ import annotations

import logging
import sys

import click

from . import __version__


@click.group()
@click.version_option(__version__, prog_name="ossbox")
def main() -> None:
    """ossbox: an OSS-compatible object store and downloader."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(file_okay=False),
              help="Where metadata, blobs and generated credentials live.")
@click.option("--access-key-id", envvar="OSSBOX_ACCESS_KEY_ID", help="Access key id [env: OSSBOX_ACCESS_KEY_ID].")
@click.option("--access-key-secret", envvar="OSSBOX_ACCESS_KEY_SECRET",
              help="Access key secret [env: OSSBOX_ACCESS_KEY_SECRET].")
@click.option("--region", default=None,
              help="Region (e.g. cn-hangzhou); when set, V4 signatures must be scoped to it.")
@click.option("--base-domain", default=None,
              help="Domain for virtual-hosted addressing: <bucket>.<base-domain> names a bucket.")
@click.option("--shutdown-timeout", default=30.0, show_default=True, type=float,
              help="Seconds requests in flight may take to finish after SIGTERM/SIGINT.")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
def serve(host: str, port: int, data_dir: str, access_key_id: str | None, access_key_secret: str | None,
          region: str | None, base_domain: str | None, shutdown_timeout: float, access_log: bool) -> None:
    """Run the OSS-compatible server on the embedded storage engine."""
    from .server.context import ServerConfig
    from .server.credentials import load_or_create_credentials
    from .server.runner import serve as run_server
    from .storage import Storage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        credentials = load_or_create_credentials(data_dir, access_key_id, access_key_secret)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if credentials.generated:
        click.echo(f"Generated credentials (saved to {credentials.path}, mode 0600; the secret is shown only now):")
        click.echo(f"  OSSBOX_ACCESS_KEY_ID={credentials.access_key_id}")
        click.echo(f"  OSSBOX_ACCESS_KEY_SECRET={credentials.access_key_secret}")
    elif credentials.path:
        click.echo(f"Access key id {credentials.access_key_id} (secret in {credentials.path})")
    storage = Storage(data_dir, location=f"oss-{region}" if region else "oss-cn-hangzhou")
    swept = storage.sweep_orphans()
    if swept:
        logging.getLogger("ossbox.storage").info("removed %d orphaned blob file(s)", swept)
    config = ServerConfig({credentials.access_key_id: credentials.access_key_secret}, region, base_domain)

    def announce(bound_host: str, bound_port: int) -> None:
        click.echo(f"ossbox {__version__} listening on http://{bound_host}:{bound_port} (data: {data_dir})")
        sys.stdout.flush()

    run_server(storage, config, host, port, shutdown_timeout=shutdown_timeout, access_log=access_log,
               on_listening=announce)


if __name__ == "__main__":
    main()

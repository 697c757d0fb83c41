"""The `ossbox` command line.

Start-up is most of what a small command costs (issue 14), so this module imports click and little else: each
command imports what it uses when it runs (`serve` the server, the client commands `ossbox.commands`, which
defer their own heavy modules in turn).
"""

from __future__ import annotations

import contextlib
import functools
import sys

import click

from . import __version__
from .commands.connection import connection_options

# The client commands live in `ossbox.commands`, imported only when one of them is asked for (or listed), so
# `ossbox serve` imports and behaves exactly as it did.
CLIENT_COMMANDS = ("cp", "ls", "mb", "presign", "rb", "rm", "sign", "stat", "sync")


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *CLIENT_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in CLIENT_COMMANDS:
            from .commands.app import COMMANDS

            return COMMANDS[cmd_name]
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:  # an unknown command: exit 1, as the client commands' usage errors
            error.exit_code = 1
            raise


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="ossbox")
@connection_options
def main(**connection) -> None:
    """ossbox: an OSS-compatible object store and downloader.

    The options below are for the client commands (cp, sync, ls, stat, mb, rb, rm, presign), which also take
    them after their name. Each setting comes from a flag, else the environment (OSS_ENDPOINT, OSS_REGION,
    OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN), else ~/.ossutilconfig, one by one: the key
    id and the secret too, so -k SECRET with OSS_ACCESS_KEY_ID set uses that id with this secret.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--s3-port", envvar="OSSBOX_S3_PORT", default=None, type=click.IntRange(0, 65535),
              help="Also listen on this port for the S3 dialect of the same data (0 picks a free one) [env: "
                   "OSSBOX_S3_PORT]. Requests signed for S3 are answered in S3's dialect on --port too.")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(file_okay=False),
              help="Where metadata, blobs and generated credentials live.")
@click.option("--access-key-id", envvar="OSSBOX_ACCESS_KEY_ID", help="Access key id [env: OSSBOX_ACCESS_KEY_ID].")
@click.option("--access-key-secret", envvar="OSSBOX_ACCESS_KEY_SECRET",
              help="Access key secret [env: OSSBOX_ACCESS_KEY_SECRET].")
@click.option("--region", default=None,
              help="Region (e.g. cn-hangzhou); when set, V4 signatures must be scoped to it. S3 requests are signed "
                   "for it too (us-east-1 when none is given).")
@click.option("--base-domain", default=None,
              help="Domain for virtual-hosted addressing: <bucket>.<base-domain> names a bucket.")
@click.option("--shutdown-timeout", default=30.0, show_default=True, type=float,
              help="Seconds requests in flight may take to finish after SIGTERM/SIGINT.")
@click.option("--body-timeout", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds an upload's body may send nothing before the request is given up (400 RequestTimeout).")
@click.option("--header-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a request's headers may take to arrive, from their first byte, before the server closes "
                   "the connection.")
@click.option("--idle-timeout", default=75.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a connection may stay open without sending a request before the server closes it.")
@click.option("--access-log", "access_log", default=None, is_flag=False, flag_value="-", metavar="[FILE]",
              help="Log every request as a line of JSON, to FILE (reopened when moved, as by logrotate) or, without "
                   "one, to standard error. Never logs a secret or a signature.")
@click.option("--no-access-log", "access_log", flag_value=None, hidden=True)  # the default; kept for old scripts
@click.option("--tls-cert", envvar="OSSBOX_TLS_CERT", default=None, type=click.Path(dir_okay=False),
              help="Serve HTTPS with this certificate chain (PEM), on the same ports; SIGHUP reloads it [env: "
                   "OSSBOX_TLS_CERT].")
@click.option("--tls-key", envvar="OSSBOX_TLS_KEY", default=None, type=click.Path(dir_okay=False),
              help="The private key (PEM) of --tls-cert [env: OSSBOX_TLS_KEY].")
@click.option("--metrics-token", envvar="OSSBOX_METRICS_TOKEN", default=None,
              help="Serve /-/metrics only to requests with `Authorization: Bearer TOKEN` [env: OSSBOX_METRICS_TOKEN].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Server processes sharing the port, each with its own event loop: more use more cores.")
@click.option("--reclaim-delay", default=600.0, show_default=True, type=click.FloatRange(min=0),  # RECLAIM_DELAY
              help="Seconds the later parts of a replaced or deleted multipart or appended object stay on disk for "
                   "readers still streaming it; 0 frees the space at once and cuts such readers short.")
@click.option("--restore-delay", default=60.0, show_default=True, type=click.FloatRange(min=0),  # RESTORE_DELAY
              help="Seconds a RestoreObject of an Archive, Cold Archive or Deep Cold Archive object takes before its "
                   "bytes can be read (the cloud takes minutes to hours).")
@click.option("--metadata", "metadata_url", envvar="OSSBOX_METADATA_URL", default=None,
              help="Where metadata lives: sqlite:///ABSOLUTE/PATH, or postgresql://USER@HOST:PORT/DB for several "
                   "nodes sharing one --data-dir [env: OSSBOX_METADATA_URL; default: SQLite in --data-dir].")
@click.option("--sweep-interval", default=3600.0, show_default=True, type=click.FloatRange(min=1),
              help="With shared (PostgreSQL) metadata: seconds between two sweeps for orphaned files, one node at a "
                   "time.")
@click.option("--lifecycle-interval", default=3600.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds between two passes applying buckets' lifecycle rules (one node at a time).")
@click.option("--ephemeral", is_flag=True,
              help="A throwaway server for tests: its data in a new temporary directory removed when it stops, a free "
                   "port unless --port is given, one JSON line on stdout (endpoint, access key id and secret, region, "
                   "data directory), and it stops by itself when the process that started it ends.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, s3_port: int | None, data_dir: str, access_key_id: str | None,
          access_key_secret: str | None, region: str | None, base_domain: str | None, shutdown_timeout: float,
          body_timeout: float, header_timeout: float, idle_timeout: float, access_log: str | None,
          tls_cert: str | None, tls_key: str | None, metrics_token: str | None, workers: int,
          reclaim_delay: float, restore_delay: float, metadata_url: str | None, sweep_interval: float,
          lifecycle_interval: float, ephemeral: bool) -> None:
    """Run the OSS-compatible server: metadata in SQLite (the default) or PostgreSQL, blobs in --data-dir."""
    import json
    import logging
    import os
    import signal
    import tempfile
    import threading
    import time

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    metrics_dir = _share_metrics(workers)
    if metrics_dir:
        ctx.call_on_close(functools.partial(_remove_if_mine, metrics_dir, os.getpid()))
    from .server.context import ServerConfig
    from .server.credentials import load_or_create_credentials
    from .server.runner import HANDLED_SIGNALS, listen
    from .server.runner import serve as run_server
    from .server.tls import Certificate
    from .server.workers import run_workers, stop_when_orphaned
    from .storage import Storage
    from .storage.dirlock import DataDirInUse, lock_data_dir
    from .storage.metadata import MetadataUnavailable, SchemaMismatch, default_metadata_url, open_metadata

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    announce = functools.partial(click.echo, err=ephemeral)  # an ephemeral server's stdout is its JSON line
    if ephemeral:
        for given in ("data_dir", "metadata_url"):
            if ctx.get_parameter_source(given) is click.core.ParameterSource.COMMANDLINE:
                raise click.UsageError(f"--ephemeral keeps everything in a temporary directory: drop "
                                       f"--{given.replace('_', '-')}")
        if ctx.get_parameter_source("port") is click.core.ParameterSource.DEFAULT:
            port = 0
        metadata_url = None  # OSSBOX_METADATA_URL, if set, is some other server's
        data_dir = tempfile.mkdtemp(prefix="ossbox-ephemeral-")
        ctx.call_on_close(functools.partial(_remove_if_mine, data_dir, os.getpid()))  # however serving ends
    url = metadata_url or default_metadata_url(data_dir)
    shared = not url.startswith("sqlite:")  # several nodes may serve this data directory at once
    try:
        # held, by every worker too, until the server exits; nodes sharing PostgreSQL coordinate through it
        data_dir_lock = contextlib.nullcontext() if shared else lock_data_dir(data_dir)
    except DataDirInUse as error:
        raise click.ClickException(str(error)) from None
    try:
        credentials = load_or_create_credentials(data_dir, access_key_id, access_key_secret)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot keep credentials in {data_dir}: {error}") from None
    if credentials.generated:
        announce(f"Generated credentials (saved to {credentials.path}, mode 0600; the secret is shown only now):")
        announce(f"  OSSBOX_ACCESS_KEY_ID={credentials.access_key_id}")
        announce(f"  OSSBOX_ACCESS_KEY_SECRET={credentials.access_key_secret}")
    elif credentials.path:
        announce(f"Access key id {credentials.access_key_id} (secret in {credentials.path})")
    location = f"oss-{region}" if region else "oss-cn-hangzhou"

    def open_storage(migrate: bool = False) -> Storage:
        metadata = open_metadata(url, defer_release=reclaim_delay > 0, migrate=migrate)
        return Storage(data_dir, metadata, location=location, reclaim_delay=reclaim_delay,
                       restore_delay=restore_delay)

    try:
        storage = open_storage(migrate=True)
        if not shared:
            storage.reap_released(delay=0)  # the only node is starting: no reader is left on its way to them
        storage.close()  # each worker opens its own: no database connection may cross a fork
    # a full disk, a read-only file system, a corrupt database, an unreachable server...
    except (OSError, MetadataUnavailable, SchemaMismatch, ValueError) as error:
        raise click.ClickException(f"cannot open the data directory {data_dir} and its metadata: {error}") from None
    tls = None
    if tls_cert is not None:
        kept_dir = tempfile.mkdtemp(prefix="ossbox-tls-")  # mode 0700: the last pair that loaded (tls.py)
        ctx.call_on_close(functools.partial(_remove_if_mine, kept_dir, os.getpid()))
        try:
            Certificate(tls_cert, tls_key, kept_dir)  # keeps the pair; each worker loads its own from there
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            raise click.ClickException(f"cannot serve HTTPS with {tls_cert} and {tls_key}: {error}") from None
        tls = (tls_cert, tls_key, kept_dir)
    scheme = "https" if tls_cert else "http"
    started = time.time()
    socks = []
    for wanted in (port, s3_port) if s3_port is not None else (port,):
        try:
            socks.append(listen(host, wanted))
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{wanted}: {error.strerror or error}") from None
    bound_host, bound_port = socks[0].getsockname()[:2]
    bound_s3_port = socks[1].getsockname()[1] if s3_port is not None else None
    config = ServerConfig({credentials.access_key_id: credentials.access_key_secret}, region, base_domain,
                          body_timeout=body_timeout, idle_timeout=idle_timeout, header_timeout=header_timeout,
                          shared=shared, sweep_interval=sweep_interval, lifecycle_interval=lifecycle_interval,
                          s3_port=bound_s3_port, metrics_token=metrics_token)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    announce(f"ossbox {__version__} listening on {scheme}://{bound_host}:{bound_port} (data: {data_dir})")
    if bound_s3_port is not None:
        announce(f"  S3 dialect on {scheme}://{bound_host}:{bound_s3_port} (region {config.s3_region})")
    if ephemeral:
        started_with = {
            "endpoint": f"{scheme}://{bound_host}:{bound_port}", "host": bound_host, "port": bound_port,
            "access_key_id": credentials.access_key_id, "access_key_secret": credentials.access_key_secret,
            "region": region or location.removeprefix("oss-"), "data_dir": data_dir, "pid": os.getpid(),
        }
        if bound_s3_port is not None:
            started_with.update(s3_endpoint=f"{scheme}://{bound_host}:{bound_s3_port}", s3_port=bound_s3_port,
                                s3_region=config.s3_region)
        click.echo(json.dumps(started_with))
        # A thread that only polls: harmless to the forks of --workers, which copy no lock of its.
        threading.Thread(target=stop_when_orphaned, args=(os.getppid(),), daemon=True).start()
    sys.stdout.flush()

    def work() -> int:
        run_server(open_storage(), config, socks, shutdown_timeout=shutdown_timeout, access_log=access_log, tls=tls,
                   shared=workers > 1)
        return 0

    def sweep_leftovers() -> None:
        """What the previous run left (a crash's temporary files and unreferenced blobs), removed in the
        background: the server listens at once, however many objects it holds."""
        try:
            storage = open_storage()
            try:
                removed = storage.sweep_orphans(before=started)
            finally:
                storage.close()
        except Exception:
            logging.getLogger("ossbox.storage").exception("the start-up sweep failed")
            return
        logging.getLogger("ossbox.storage").info("start-up sweep done: removed %d orphaned file(s)", removed)

    # With shared metadata other nodes' writes are in flight: their sweep waits for files to age instead.
    beside = None if shared else sweep_leftovers
    with data_dir_lock:
        if workers > 1:
            from prometheus_client.multiprocess import mark_process_dead

            sys.exit(run_workers(workers, work, beside, exited=mark_process_dead))
        if beside is not None:
            threading.Thread(target=beside, name="ossbox-start-up-sweep", daemon=True).start()
        work()


def _remove_if_mine(directory: str, creator: int) -> None:
    """Remove `directory` when serving ends, in the process that made it (not in a forked worker)."""
    import os
    import shutil

    if os.getpid() == creator:
        shutil.rmtree(directory, ignore_errors=True)


def _share_metrics(workers: int) -> str | None:
    """With several workers, a new directory where each writes its metrics for any of them to sum up
    (prometheus_client's multiprocess mode, chosen by PROMETHEUS_MULTIPROC_DIR before it is first imported);
    None for one worker, which keeps them in memory."""
    import os
    import tempfile

    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers == 1:
        return None
    directory = tempfile.mkdtemp(prefix="ossbox-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


@main.command()
@click.option("--data-dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The data directory to check (as given to `ossbox serve`).")
@click.option("--metadata", "metadata_url", envvar="OSSBOX_METADATA_URL", default=None,
              help="The metadata's URL, as given to `ossbox serve` [env: OSSBOX_METADATA_URL; default: SQLite in "
                   "--data-dir].")
@click.option("--deep", is_flag=True, help="Also read every blob and compare CRC-64s (reads all stored bytes).")
@click.option("--repair", is_flag=True,
              help="Delete objects whose blobs are missing or short, and remove orphan blobs and temporary files.")
def check(data_dir: str, metadata_url: str | None, deep: bool, repair: bool) -> None:
    """Verify the storage metadata against its blob files.

    Run it while the server is stopped; with shared (PostgreSQL) metadata nodes may keep running, and their
    writes in flight may show as orphans or temporary files, which --repair then leaves for an hour. Prints
    one line per problem (kind, subject, detail, tab-separated) and a summary. Exits 0 when clean, 1 when
    problems were found (even if --repair fixed them), 2 on a usage error."""
    from .storage.check import CheckError
    from .storage.check import check as run_check
    from .storage.check import repair as run_repair
    from .storage.dirlock import DataDirInUse, lock_data_dir

    shared = metadata_url is not None and not metadata_url.startswith("sqlite:")
    try:
        lock = lock_data_dir(data_dir) if repair and not shared else contextlib.nullcontext()
        report = run_check(data_dir, deep=deep, metadata_url=metadata_url)
    except (CheckError, DataDirInUse) as error:
        raise click.UsageError(str(error)) from None
    for problem in report.problems:
        click.echo(problem.line())
    click.echo(f"checked {report.objects} object(s), {report.parts} part(s), {report.blob_files} blob file(s)"
               f"{' (deep)' if deep else ''}: {len(report.problems)} problem(s)")
    if repair:
        with lock:
            for action in run_repair(data_dir, report, metadata_url, shared=shared):
                click.echo(action)
    sys.exit(0 if report.clean else 1)


@main.group()
def metadata() -> None:
    """Moving metadata between stores."""


@metadata.command("copy")
@click.argument("source_url")
@click.argument("target_url")
def metadata_copy(source_url: str, target_url: str) -> None:
    """Copy every bucket, object version, upload, part and pending release from SOURCE_URL into the empty store
    at TARGET_URL (created if needed), for example a data directory's SQLite into PostgreSQL:

        ossbox metadata copy sqlite:///srv/data/metadata.sqlite3 postgresql://ossbox@db/ossbox

    Stop the servers using SOURCE_URL first; then start them with --metadata TARGET_URL on the same --data-dir."""
    from .storage.metadata import MetadataUnavailable, SchemaMismatch, copy_metadata, open_metadata

    try:
        source = open_metadata(source_url, read_only=True)
        try:
            target = open_metadata(target_url)
            try:
                counts = copy_metadata(source, target)
            finally:
                target.close()
        finally:
            source.close()
    except (MetadataUnavailable, SchemaMismatch, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo("copied " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


@main.group()
def lifecycle() -> None:
    """Buckets' lifecycle rules."""


def _moment(_ctx, _param, value: str | None) -> float | None:
    import datetime

    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give an ISO 8601 date or time, such as 2027-01-31 or 2027-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


@lifecycle.command("run")
@click.option("--data-dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The data directory (as given to `ossbox serve`, which may be running on it).")
@click.option("--metadata", "metadata_url", envvar="OSSBOX_METADATA_URL", default=None,
              help="The metadata's URL, as given to `ossbox serve` [env: OSSBOX_METADATA_URL; default: SQLite in "
                   "--data-dir].")
@click.option("--now", callback=_moment, metavar="DATE",
              help="Apply the rules as if it were DATE (ISO 8601; UTC unless it says otherwise) [default: now].")
def lifecycle_run(data_dir: str, metadata_url: str | None, now: float | None) -> None:
    """Apply every bucket's lifecycle rules once: expire, transition and abort what is due, then print what
    was done. With --now, a test sees in a second what the rules do in days:

        ossbox lifecycle run --data-dir ./data --now 2027-01-31"""
    import time

    from .lifecycle.runner import run_lifecycle_on
    from .storage.metadata import MetadataUnavailable, SchemaMismatch

    try:
        report = run_lifecycle_on(data_dir, metadata_url, time.time() if now is None else now)
    except (MetadataUnavailable, SchemaMismatch, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(report))


if __name__ == "__main__":
    main()

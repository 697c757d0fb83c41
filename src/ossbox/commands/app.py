"""The client commands: cp, sync, ls, stat, mb, rb, rm, presign (alias sign), as ossutil users know them.

Strategy: each command parses its arguments into values (`values`), resolves the connection settings only
when it needs the network (`settings`), calls `ossbox.client`, and writes results to stdout and everything
else (progress, summaries, errors) to stderr. `ClientCommand` is the one place where an exception becomes an
error message and an exit code (`outcome.failure`), including click's usage errors, which exit 1 here.
"""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING

import click

from .. import client
from ..client import exceptions
from ..protocol.etags import quote_etag
from . import values
from .connection import CONNECTION_NAMES, connection_options
from .outcome import EXIT_CODES_HELP, CommandError, ExitCode, failure
from .settings import DEFAULT_CONFIG_FILE, Settings, SettingsError, make_bucket, make_service, read_config, \
    resolve_settings

# What only some commands use (copying, syncing, progress and summary by cp and sync; the date parser by the
# --if-* conditions, json by --output-format json, urllib3 by --insecure) is imported where it is used, so
# `ossbox --help` starts without it.
if TYPE_CHECKING:
    from .copying import CopyOptions, Plan, Report, Runner

__all__ = ["COMMANDS", "ClientCommand"]


# ---- plumbing -------------------------------------------------------------------------------------------


class ClientCommand(click.Command):
    """A command whose errors, click's own included, end with the documented exit codes."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            error.exit_code = ExitCode.USAGE
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            error.exit_code = ExitCode.USAGE
            raise
        except KeyboardInterrupt:
            raise CommandError("interrupted", ExitCode.INTERRUPTED) from None
        except (exceptions.OssError, OSError, ValueError) as error:
            code, message = failure(error, ctx.meta.get("ossbox.subject", ""), ctx.meta.get("ossbox.bucket"))
            raise CommandError(message, code) from None


def _about(url: values.OssUrl) -> None:
    """Name what the command works on, for the error message should it fail."""
    ctx = click.get_current_context()
    ctx.meta["ossbox.subject"], ctx.meta["ossbox.bucket"] = str(url), url.bucket


class _Parsed(click.ParamType):
    def __init__(self, name: str, parse):
        self.name, self._parse = name, parse

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self._parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


SIZE = _Parsed("size", values.parse_size)
RANGE = _Parsed("range", values.parse_range)
TIME = _Parsed("time", values.parse_time)


class Connection:
    """Settings resolved on first use (so argument errors are reported first), and the clients made from them,
    sharing one connection pool."""

    def __init__(self, flags: dict[str, str | None]):
        self.flags = flags
        self._session: client.Session | None = None
        self._pool_size = None

    def reserve(self, connections: int) -> None:
        self._pool_size = max(connections, client.defaults.connection_pool_size)

    @functools.cached_property
    def settings(self) -> Settings:
        explicit = self.flags.get("config_file")
        path = os.path.expanduser(explicit or DEFAULT_CONFIG_FILE)
        profile = self.flags.get("profile")
        try:
            with open(path, encoding="utf-8") as file:
                config = read_config(file.read(), profile, path)
        except FileNotFoundError:
            if explicit:
                raise SettingsError(f"the config file {path} does not exist") from None
            if profile:
                raise SettingsError(f"profile {profile!r} needs a config file, and {path} does not exist") from None
            config = {}
        except OSError as error:
            raise SettingsError(f"cannot read the config file {path}: {error.strerror}") from None
        return resolve_settings(self.flags, os.environ, config, path)

    @property
    def session(self) -> client.Session:
        if self._session is None:
            if self.flags.get("insecure"):
                import urllib3

                click.echo("warning: --insecure: HTTPS certificates are not verified", err=True)
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)  # said once, above
            self._session = client.Session(self._pool_size, ca_bundle=self.flags.get("ca_bundle"),
                                           verify=not self.flags.get("insecure"))
        return self._session

    def bucket(self, name: str) -> client.Bucket:
        if not name:
            raise click.UsageError("the URL names no bucket: use oss://bucket/key")
        return make_bucket(self.settings, name, self.session)

    def service(self) -> client.Service:
        return make_service(self.settings, self.session)


def with_connection(command):
    """Add the connection options; the command receives them as one `conn: Connection`. Given after the
    command they win over the same options given before it (`ossbox --region R ls`)."""
    @functools.wraps(command)
    def wrapper(**kwargs):
        before = click.get_current_context().find_root().params
        flags = {name: kwargs.pop(name) or before.get(name) for name in CONNECTION_NAMES}
        return command(conn=Connection(flags), **kwargs)

    return connection_options(wrapper)


def _remote(text: str, what: str = "URL") -> values.OssUrl:
    url = values.parse_oss_url(text)
    if url is None:
        raise click.UsageError(f"{text!r} is not an oss://bucket[/key] {what}")
    return url


def _note(message: str, quiet: bool = False) -> None:
    if not quiet:
        click.echo(message, err=True)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _json(document) -> None:
    import json

    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


# ---- running a plan: cp and sync ---------------------------------------------------------------------------


def _confirm_overwrites(plan: Plan, quiet: bool) -> None:
    """Ask about each destination that exists (y/n/a/q), or refuse when nobody can be asked (nor when standard
    input is the data to upload)."""
    if not plan.conflicts:
        return
    if not _interactive() or any(item.path == values.STDIO for item in plan.conflicts):
        first = plan.conflicts[0].destination
        more = f" and {len(plan.conflicts) - 1} more" if len(plan.conflicts) > 1 else ""
        raise CommandError(f"{first}{more} already exist{'s' if not more else ''}: pass -f to overwrite, or -u to "
                           "copy only sources newer than their destination", ExitCode.USAGE)
    overwrite_all = False
    for item in plan.conflicts:
        answer = "a" if overwrite_all else click.prompt(
            f"overwrite {item.destination}? [y]es/[n]o/[a]ll/[q]uit", type=click.Choice(["y", "n", "a", "q"]),
            default="n", show_choices=False, err=True)
        if answer == "q":
            raise CommandError("nothing copied: stopped at the overwrite question", ExitCode.USAGE)
        overwrite_all = overwrite_all or answer == "a"
        if answer in ("y", "a"):
            plan.items.append(item)
        else:
            plan.skipped.append((item.source, "not overwritten"))


def _summarize(plan: Plan, report: Report, elapsed: float, quiet: bool, held_back: int = 0) -> None:
    """Each failure on a line of its own, then (unless -q) the summary line."""
    from .summary import summary_line

    for item, error in report.failed:
        click.echo(f"ossbox: error: {failure(error, item.source)[1]}", err=True)
    for source, why in plan.invalid:
        click.echo(f"ossbox: error: {source}: {why}", err=True)
    _note(summary_line(plan, report, elapsed, held_back), quiet)


def _run(plan: Plan, options: CopyOptions, quiet: bool) -> tuple[Runner, Report, float, int]:
    """Run the plan's items, then its deletions if every item succeeded; (runner, report, seconds taken,
    deletions held back)."""
    from .copying import Runner
    from .progress import Progress, progress_wanted

    total = len(plan.items) + len(plan.deletions)
    progress = Progress(sys.stderr, progress_wanted(sys.stderr, os.environ, quiet), files_total=total)
    started = time.monotonic()
    runner = Runner(options, progress)
    held_back = 0
    try:
        report = runner.run(plan.items)
        if report.failed or report.unmet or report.interrupted or plan.invalid:
            held_back = len(plan.deletions)
        elif plan.deletions:
            report.absorb(runner.run(plan.deletions))
    finally:
        progress.close()
    return runner, report, time.monotonic() - started, held_back


def _execute(plan: Plan, options: CopyOptions, quiet: bool, batch: bool, rerun: str) -> None:
    """Run the plan, print what happened, and leave with the exit code it calls for: a single transfer's own
    failure's (`batch` False), else 4 when some items failed (`rerun` says how to finish the job), 5 when
    interrupted."""
    runner, report, elapsed, held_back = _run(plan, options, quiet)
    total = len(plan.items) + len(plan.deletions)
    if report.interrupted:
        if batch:
            _summarize(plan, report, elapsed, quiet, held_back)
        raise CommandError(f"interrupted after {len(report.done)} of {total} items; {_how_to_resume(plan, runner)}",
                           ExitCode.INTERRUPTED)
    if not batch and (report.failed or report.unmet):
        item, error = (report.failed or report.unmet)[0]
        code, message = failure(error, item.source, item.bucket.bucket_name if item.bucket else None)
        raise CommandError(message, code)
    _summarize(plan, report, elapsed, quiet, held_back)
    failed = len(report.failed) + len(plan.invalid)
    if failed:
        raise CommandError(f"{failed} of {total + len(plan.invalid)} items failed (listed above); the others were "
                           f"done: fix the cause and {rerun}", ExitCode.PARTIAL)


def _how_to_resume(plan: Plan, runner: Runner) -> str:
    if any(item.path == values.STDIO for item in plan.items):
        return "a stream cannot be resumed: an upload of standard input was aborted, standard output is incomplete"
    kept = {runner.store.dir, runner.upload_store.dir}
    return (f"run the same command again to resume (transfers of at least the --bigfile-threshold keep their "
            f"progress in {' and '.join(sorted(kept))})")


def _conditions(if_modified_since, if_unmodified_since, if_match, if_none_match) -> dict[str, str]:
    from ..protocol.dates import http_date

    headers = {}
    if if_modified_since is not None:
        headers["If-Modified-Since"] = http_date(if_modified_since)
    if if_unmodified_since is not None:
        headers["If-Unmodified-Since"] = http_date(if_unmodified_since)
    if if_match:
        headers["If-Match"] = quote_etag(if_match)
    if if_none_match:
        headers["If-None-Match"] = quote_etag(if_none_match)
    return headers


_TRANSFER_OPTIONS = [
    click.option("-j", "--jobs", type=click.IntRange(1, 1000), default=3, show_default=True,
                 help="Objects copied at once."),
    click.option("--parallel", type=click.IntRange(1, 1000), default=client.defaults.multiget_num_threads,
                 show_default=True, help="Parts of one object transferred at once."),
    click.option("--part-size", type=SIZE, help="Part size, e.g. 8Mi, 10MiB, 100k. [default: 10Mi]"),
    click.option("--bigfile-threshold", type=SIZE,
                 help="Files and objects at least this large are transferred in parts, checkpointed and resumable. "
                      "[default: 100Mi for downloads, 10Mi for uploads]"),
    click.option("--checkpoint-dir", type=click.Path(file_okay=False),
                 help="Where resume records live. [default: $OSSBOX_CHECKPOINT_DIR, else "
                      "~/.cache/ossbox/download and .../upload (per user)]"),
    click.option("--bandwidth-limit", type=SIZE, help="Bytes per second for all transfers together, e.g. 10Mi."),
    click.option("-q", "--quiet", is_flag=True, help="No progress and no summary; errors only."),
]


def _transfer_options(command):
    """The options cp and sync share: concurrency, parts, checkpoints, bandwidth, -q."""
    for option in reversed(_TRANSFER_OPTIONS):
        command = option(command)
    return command


def _check_sizes(part_size: int | None, bandwidth_limit: int | None) -> None:
    if part_size is not None and part_size < 1 or bandwidth_limit is not None and bandwidth_limit < 1:
        raise click.UsageError("--part-size and --bandwidth-limit must be at least 1 byte")


# ---- cp ----------------------------------------------------------------------------------------------------


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("source")
@click.argument("destination")
@click.option("-r", "--recursive", is_flag=True, help="Copy everything under a prefix or directory; keys are taken "
              "relative to it (the top directory's name is not part of them).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing destinations without asking.")
@click.option("-u", "--update", is_flag=True,
              help="Copy only when the destination is missing or older than the source.")
@_transfer_options
@click.option("--range", "byte_range", type=RANGE,
              help="Download only bytes FIRST-LAST (inclusive, 0-based: 3-9 is 7 bytes), FIRST- or -COUNT "
                   "(the last COUNT bytes).")
@click.option("--version-id", help="Copy this version of the source object.")
@click.option("--if-modified-since", type=TIME, help="Download only if changed after TIME (else exit 6).")
@click.option("--if-unmodified-since", type=TIME, help="Download only if unchanged since TIME (else exit 7).")
@click.option("--if-match", metavar="ETAG", help="Download only if the ETag matches (else exit 7).")
@click.option("--if-none-match", metavar="ETAG", help="Download only if the ETag differs (else exit 6).")
@with_connection
def cp(conn: Connection, source: str, destination: str, recursive: bool, force: bool, update: bool, jobs: int,
       parallel: int, part_size, bigfile_threshold, checkpoint_dir, byte_range, version_id, if_modified_since,
       if_unmodified_since, if_match, if_none_match, bandwidth_limit, quiet: bool) -> None:
    """Copy SRC to DST; either may be oss://bucket/key, a local path, or both remote (a server-side copy).

    A DST ending in / is a directory: `cp a.txt oss://b/x/` makes the key x/a.txt. Downloads go to a temporary
    file beside the destination and are renamed only once complete and checked; an interrupted download of
    a big object resumes when the same command is run again.

    A DST of - writes the object to standard output (binary, nothing else on it; --range too); a SRC of -
    uploads standard input until it ends, as one PUT when it is shorter than --part-size, else as a multipart
    upload of --part-size parts (at most 10000 of them: 10Mi parts take up to 97GiB), holding only --parallel
    + 1 parts in memory. A file named - is ./-.
    """
    from .copying import CopyOptions, plan_copy

    src, dst = values.parse_oss_url(source), values.parse_oss_url(destination)
    headers = _conditions(if_modified_since, if_unmodified_since, if_match, if_none_match)
    downloading = src is not None and dst is None
    if (headers or byte_range) and not downloading:
        raise click.UsageError("--range and the --if-* conditions apply to downloads only (SRC oss://, DST local)")
    if recursive and (byte_range or version_id):
        raise click.UsageError("--range and --version-id apply to a single object, not with -r")
    if version_id and src is None:
        raise click.UsageError("--version-id names a version of a remote SRC")
    _check_sizes(part_size, bandwidth_limit)
    options = CopyOptions(recursive, force, update, jobs, parallel, part_size, bigfile_threshold,
                          os.path.abspath(checkpoint_dir) if checkpoint_dir else None, byte_range, version_id,
                          headers, bandwidth_limit)
    conn.reserve(jobs * parallel + 2)
    if src is not None:
        _about(src)
    elif dst is not None:
        _about(dst)
    try:
        plan = plan_copy(src or source, dst or destination, options, conn.bucket)
    except values.RangeError as error:
        raise CommandError(f"{source}: {error}", ExitCode.USAGE) from None
    except ValueError as error:  # arguments that contradict each other or the files found
        raise click.UsageError(str(error)) from None
    _confirm_overwrites(plan, quiet)
    if recursive and not plan.items and not plan.skipped and not plan.invalid:
        _note(f"nothing to copy: {source} holds no object or file", quiet)
        return
    _execute(plan, options, quiet, batch=recursive, rerun="run the command again with -u to copy only what is missing")


# ---- sync --------------------------------------------------------------------------------------------------


class _SyncCommand(ClientCommand):
    """A client command that also keeps the order in which --include and --exclude were given, as the rules
    list `rules` ((kind, glob) pairs): click gathers each option's values apart, and the order decides."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        order = [param.name for param in self.make_parser(ctx).parse_args(args=list(args))[2]]
        rest = super().parse_args(ctx, args)
        given = {kind: iter(ctx.params.pop(kind) or ()) for kind in ("include", "exclude")}
        ctx.params["rules"] = tuple((name, next(given[name])) for name in order if name in given)
        return rest


@click.command(cls=_SyncCommand, epilog=EXIT_CODES_HELP)
@click.argument("source")
@click.argument("destination")
@click.option("--delete", is_flag=True, help="Also delete what DST holds and SRC does not: only inside DST, never "
              "what --exclude leaves out, and only once every copy succeeded.")
@click.option("--checksum", "compare", flag_value="checksum",
              help="Copy when the size or the content differs, whatever the times say: CRC-64 of local files against "
                   "the objects' x-oss-hash-crc64ecma; between objects the ETags, then the CRC-64s. Reads every local "
                   "file whose size matches.")
@click.option("--size-only", "compare", flag_value="size", help="Copy only when the size differs (or DST lacks it).")
@click.option("--include", multiple=True, metavar="GLOB", help="Sync the paths that match GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Leave out the paths that match GLOB (repeatable). Globs match the path relative to SRC and DST "
                   "(`*` also matches `/`: '*.log' is any .log file at any depth, 'tmp/*' all of tmp/); as in aws-cli, "
                   "everything is included unless a rule matches, and of the --include and --exclude rules that "
                   "match, the last given wins: --exclude '*' --include '*.jpg' syncs only .jpg files.")
@click.option("-n", "--dry-run", is_flag=True,
              help="Print what would be copied and deleted, on stdout, and change nothing.")
@_transfer_options
@with_connection
def sync(conn: Connection, source: str, destination: str, delete: bool, compare: str | None, rules, dry_run: bool,
         jobs: int, parallel: int, part_size, bigfile_threshold, checkpoint_dir, bandwidth_limit, quiet: bool) -> None:
    """Make DST like SRC: copy what is missing or changed, local directory to oss://bucket/prefix, back, or
    between prefixes (server-side copies).

    A file is copied when DST lacks it, when the sizes differ, or when SRC is newer (a file's mtime, an
    object's Last-Modified); --checksum compares contents instead, --size-only sizes alone. A downloaded file
    gets its object's Last-Modified as its mtime, so the next sync either way copies nothing. Keys ending in /
    (directory markers) are neither copied nor deleted. Large files go in parts, resumably, as with cp.
    """
    from .copying import CopyOptions
    from .syncing import SyncOptions, plan_sync

    src, dst = values.parse_oss_url(source), values.parse_oss_url(destination)
    _check_sizes(part_size, bandwidth_limit)
    if src or dst:
        _about(src or dst)
    options = CopyOptions(recursive=True, force=True, jobs=jobs, parallel=parallel, part_size=part_size,
                          threshold=bigfile_threshold,
                          checkpoint_dir=os.path.abspath(checkpoint_dir) if checkpoint_dir else None,
                          bandwidth=bandwidth_limit)
    conn.reserve(jobs * parallel + 2)
    try:
        plan = plan_sync(src or source, dst or destination, SyncOptions(compare or "mtime", delete, rules, jobs),
                         conn.bucket)
    except exceptions.NoSuchBucket as error:
        _about_missing_bucket(error, src, dst)
        raise
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if dry_run:
        _show_dry_run(plan, quiet)
        return
    _execute(plan, options, quiet, batch=True, rerun="run the same sync again: it copies only what is still missing")


def _about_missing_bucket(error: exceptions.NoSuchBucket, *urls: values.OssUrl | None) -> None:
    """Name, in the error message, the side whose bucket is missing."""
    for url in urls:
        if url is not None and url.bucket == error.details.get("BucketName"):
            _about(url)


def _show_dry_run(plan: Plan, quiet: bool) -> None:
    """What the plan would do, a line per item on stdout; the invalid items and the summary on stderr."""
    for item in plan.items:
        click.echo(f"(dry run) {item.kind}: {item.source} -> {item.destination}")
    for item in plan.deletions:
        click.echo(f"(dry run) delete: {item.source}")
    for source, why in plan.invalid:
        click.echo(f"ossbox: error: {source}: {why}", err=True)
    size = sum(item.size or 0 for item in plan.items)
    _note(f"dry run: would {plan.direction} {values.plural(len(plan.items), 'object')} ({values.human_size(size)}), "
          f"delete {len(plan.deletions)}; {len(plan.skipped)} up to date; nothing changed", quiet)


# ---- ls, stat -----------------------------------------------------------------------------------------------


def _object_json(bucket: str, entry) -> dict:
    if entry.is_prefix():
        return {"uri": f"oss://{bucket}/{entry.key}", "key": entry.key, "is_prefix": True}
    return {"uri": f"oss://{bucket}/{entry.key}", "key": entry.key, "size": entry.size,
            "last_modified": values.format_time(entry.last_modified), "etag": entry.etag,
            "storage_class": entry.storage_class, "object_type": entry.type}


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url", required=False, default="oss://")
@click.option("-d", "--directory", is_flag=True,
              help="One level only (delimiter '/'): subdirectories are listed, not their contents.")
@click.option("-s", "--short-format", is_flag=True, help="Names only.")
@click.option("--human-readable", is_flag=True, help="Sizes as 1.5KiB, 12.0MiB.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_connection
def ls(conn: Connection, url: str, directory: bool, short_format: bool, human_readable: bool,
       output_format: str) -> None:
    """List buckets (no URL), or the objects under oss://bucket[/prefix].

    Long format, one per line: last-modified time (UTC), size, storage class, ETag, URL; a subdirectory
    (-d) shows DIR as its size and - in the other columns.
    """
    target = _remote(url)
    if not target.bucket:
        buckets = list(client.BucketIterator(conn.service(), max_keys=1000))
        if output_format == "json":
            _json([{"name": b.name, "location": b.location, "creation_date": values.format_time(b.creation_date),
                    "storage_class": b.storage_class, "region": b.region} for b in buckets])
            return
        for b in buckets:
            click.echo(f"oss://{b.name}" if short_format else
                       f"{values.format_time(b.creation_date)}  {b.location:<18} {b.storage_class or '-':<12} "
                       f"oss://{b.name}")
        return
    _about(target)
    entries = client.ObjectIteratorV2(conn.bucket(target.bucket), prefix=target.key,
                                      delimiter="/" if directory else "", max_keys=1000)
    if output_format == "json":
        _json([_object_json(target.bucket, entry) for entry in entries])
        return
    for entry in entries:
        uri = f"oss://{target.bucket}/{entry.key}"
        if short_format:
            click.echo(uri)
        elif entry.is_prefix():
            click.echo(f"{'-':<20}  {'DIR':>12}  {'-':<12}  {'-':<34}  {uri}")
        else:
            size = values.human_size(entry.size) if human_readable else str(entry.size)
            click.echo(f"{values.format_time(entry.last_modified):<20}  {size:>12}  {entry.storage_class or '-':<12}  "
                       f"{entry.etag or '-':<34}  {uri}")


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option("--version-id", help="Describe this version of the object.")
@click.option("--human-readable", is_flag=True, help="Size as 1.5KiB, 12.0MiB.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_connection
def stat(conn: Connection, url: str, version_id: str | None, human_readable: bool, output_format: str) -> None:
    """Describe an object (oss://bucket/key) or a bucket (oss://bucket)."""
    target = _remote(url)
    _about(target)
    bucket = conn.bucket(target.bucket)
    if not target.key:
        info = bucket.get_bucket_info()
        facts = {"uri": str(target), "name": info.name, "location": info.location,
                 "creation_date": info.creation_date, "storage_class": info.storage_class,
                 "acl": info.acl.grant if info.acl else None, "extranet_endpoint": info.extranet_endpoint,
                 "intranet_endpoint": info.intranet_endpoint, "versioning": info.versioning_status}
    else:
        head = bucket.head_object(target.key, params={"versionId": version_id} if version_id else None)
        facts = {"uri": str(target), "size": head.content_length,
                 "last_modified": values.format_time(head.last_modified), "etag": head.etag,
                 "content_type": head.content_type, "object_type": head.object_type,
                 "storage_class": head.headers.get("x-oss-storage-class"), "crc64ecma": head.server_crc,
                 "version_id": head.versionid}
        facts.update({f"meta.{name[len('x-oss-meta-'):]}": value for name, value in head.headers.items()
                      if name.lower().startswith("x-oss-meta-")})
    if output_format == "json":
        _json(facts)
        return
    width = max(len(name) for name in facts)
    for name, value in facts.items():
        if value is None:
            continue
        if name == "size" and human_readable:
            value = values.human_size(value)
        click.echo(f"{name:<{width}}  {value}")


# ---- mb, rb, rm ---------------------------------------------------------------------------------------------


def _bucket_only(url: str) -> values.OssUrl:
    target = _remote(url)
    if not target.bucket or target.key:
        raise click.UsageError(f"{url!r} is not a bucket: use oss://bucket")
    _about(target)
    return target


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option("--acl", type=click.Choice(["private", "public-read", "public-read-write"]), help="Canned ACL.")
@click.option("--storage-class", type=click.Choice(["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"]),
              help="Default storage class of the bucket's objects.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@with_connection
def mb(conn: Connection, url: str, acl: str | None, storage_class: str | None, quiet: bool) -> None:
    """Make a bucket: oss://bucket.

    A bucket that exists already is an error (exit 2), yours or another account's, as in ossutil (OSS answers
    409 BucketAlreadyExists even to its owner) and aws-cli (BucketAlreadyOwnedByYou): nothing is changed.
    """
    target = _bucket_only(url)
    bucket = conn.bucket(target.bucket)
    if _own_bucket_exists(bucket):
        raise CommandError(f"{target}: BucketAlreadyExists: the bucket already exists and you already own it; nothing "
                           "was changed", ExitCode.SERVER)
    config = client.models.BucketCreateConfig(storage_class) if storage_class else None
    bucket.create_bucket(permission=acl, input=config)
    _note(f"created {target}", quiet)


def _own_bucket_exists(bucket: client.Bucket) -> bool:
    """Whether the bucket exists and this key may read it (a server that, unlike OSS, accepts an owner's
    repeated PutBucket would otherwise say nothing); another account's bucket is left for PutBucket to refuse."""
    try:
        bucket.get_bucket_info()
    except exceptions.NoSuchBucket:
        return False
    except exceptions.ServerError as error:
        if error.status == 403:
            return False
        raise
    return True


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@with_connection
def rb(conn: Connection, url: str, quiet: bool) -> None:
    """Remove an empty bucket: oss://bucket."""
    target = _bucket_only(url)
    conn.bucket(target.bucket).delete_bucket()
    _note(f"removed {target}", quiet)


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Remove every object whose key starts with the URL's key "
              "(the whole bucket when it has none).")
@click.option("-f", "--force", is_flag=True, help="Do not ask before removing recursively.")
@click.option("--version-id", help="Remove this version of the object.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@with_connection
def rm(conn: Connection, url: str, recursive: bool, force: bool, version_id: str | None, quiet: bool) -> None:
    """Remove an object (oss://bucket/key), or with -r everything under a prefix."""
    target = _remote(url)
    _about(target)
    if not recursive:
        if not target.key:
            raise click.UsageError(f"{url} names no object: give oss://bucket/key, or -r to remove a prefix")
        bucket = conn.bucket(target.bucket)
        params = {"versionId": version_id} if version_id else None
        if _object_missing(bucket, target.key, params):
            raise CommandError(_no_such_object(bucket, target, version_id), ExitCode.SERVER)
        bucket.delete_object(target.key, params=params)
        _note(f"removed {target}", quiet)
        return
    if version_id:
        raise click.UsageError("--version-id names one object: not with -r")
    if not force:
        if not _interactive():
            raise CommandError(f"refusing to remove everything under {target} without -f (nobody to ask)",
                               ExitCode.USAGE)
        if not click.confirm(f"remove every object under {target}?", err=True):
            raise CommandError("nothing removed", ExitCode.USAGE)
    bucket = conn.bucket(target.bucket)
    removed, batch = 0, []
    for entry in client.ObjectIteratorV2(bucket, prefix=target.key, max_keys=1000):
        if entry.is_prefix():
            continue
        batch.append(entry.key)
        if len(batch) == 1000:
            removed += len(bucket.batch_delete_objects(batch).deleted_keys)
            batch = []
    if batch:
        removed += len(bucket.batch_delete_objects(batch).deleted_keys)
    _note(f"removed {removed} object{'s' if removed != 1 else ''} under {target}", quiet)


def _object_missing(bucket: client.Bucket, key: str, params: dict[str, str] | None) -> bool:
    """Whether there is no such object (or version): DeleteObject would succeed all the same, saying nothing."""
    try:
        bucket.get_object_meta(key, params=params)
    except exceptions.NotFound:
        return True  # NoSuchBucket too: looking under the key for the message then raises it
    except exceptions.ServerError as error:
        if error.status != 405:  # 405: the version is a delete marker, which can be deleted but not read
            raise
    return False


def _no_such_object(bucket: client.Bucket, target: values.OssUrl, version_id: str | None) -> str:
    """The error for removing what does not exist, pointing at -r when objects lie under it as a prefix."""
    what = f"version {version_id} of {target}" if version_id else str(target)
    prefix = target.key if target.key.endswith("/") else target.key + "/"
    under = next(iter(client.ObjectIteratorV2(bucket, prefix=prefix, max_keys=1)), None)
    if under is None:
        return f"{what}: NoSuchKey: there is no such object; nothing was removed"
    return (f"{what}: NoSuchKey: there is no such object, but there are objects under {target.child(prefix)}: "
            f"`ossbox rm -r {target.child(prefix)}` removes them")


# ---- presign ------------------------------------------------------------------------------------------------


@click.command(cls=ClientCommand, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option("--expires", type=click.IntRange(1, 7 * 24 * 3600), default=3600, show_default=True,
              help="Seconds the URL stays valid (at most 7 days, as signature v4 allows).")
@click.option("--method", type=click.Choice(["GET", "PUT", "HEAD", "DELETE"], case_sensitive=False), default="GET",
              show_default=True, help="The request the URL allows.")
@click.option("--version-id", help="Sign for this version of the object.")
@with_connection
def presign(conn: Connection, url: str, expires: int, method: str, version_id: str | None) -> None:
    """Print a URL that gives access to oss://bucket/key without credentials, for --expires seconds."""
    target = _remote(url)
    if not target.key:
        raise click.UsageError(f"{url} names no object: use oss://bucket/key")
    _about(target)
    signed = conn.bucket(target.bucket).sign_url(method.upper(), target.key, expires, slash_safe=True,
                                                 params={"versionId": version_id} if version_id else None)
    click.echo(signed)


sign = ClientCommand("sign", params=presign.params, callback=presign.callback, epilog=EXIT_CODES_HELP,
                     help="Alias of presign. " + (presign.help or ""), short_help="Alias of presign.")

COMMANDS: dict[str, click.Command] = {"cp": cp, "sync": sync, "ls": ls, "stat": stat, "mb": mb, "rb": rb, "rm": rm,
                                      "presign": presign, "sign": sign}

"""Exit codes, and the one place where an error becomes a message and an exit code.

Strategy: `failure(error, subject)` classifies any exception a command meets (the client's OssError
family, OSError, the parsers' ValueError, the settings' SettingsError) into an `ExitCode` and a sentence that
says what went wrong and what to do. `CommandError` is the click exception carrying both, printed on stderr.
"""

from __future__ import annotations

import enum

import click

from ..client import exceptions
from .settings import SettingsError

__all__ = ["ExitCode", "EXIT_CODES_HELP", "CommandError", "failure"]


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 1
    SERVER = 2
    CLIENT = 3
    PARTIAL = 4
    INTERRUPTED = 5
    NOT_MODIFIED = 6
    PRECONDITION_FAILED = 7


# `\b` keeps click from rewrapping the table.
EXIT_CODES_HELP = """\b
Exit codes:
  0  success (including objects skipped by -u or, in a batch, by a condition)
  1  bad parameters or usage (also: a destination exists and neither -f nor -u)
  2  the server answered with an error (no such bucket/key, access denied, ...)
  3  client-side error: network, local disk, data check
  4  some items of a batch (-r, sync) failed; the others were done
  5  interrupted (Ctrl-C); run the same command again to resume
  6  not modified (--if-none-match / --if-modified-since: 304)
  7  precondition failed (--if-match / --if-unmodified-since: 412)"""


class CommandError(click.ClickException):
    """A message for stderr and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = ExitCode.USAGE):
        super().__init__(message)
        self.exit_code = int(exit_code)

    def show(self, file=None) -> None:
        click.echo(f"ossbox: error: {self.format_message()}", err=True)


_CREDENTIALS_HINT = ("check the access key (--access-key-id/--access-key-secret, OSS_ACCESS_KEY_ID/"
                     "OSS_ACCESS_KEY_SECRET or the config file), --region and --sign-version")


def _server_hint(error: exceptions.ServerError, bucket: str | None) -> str:
    code = error.code
    if isinstance(error, exceptions.NoSuchBucket):
        return f"check the bucket name, or create it with `ossbox mb oss://{bucket}`" if bucket else \
            "check the bucket name"
    if isinstance(error, exceptions.NotFound):
        return "check the key with `ossbox ls`"
    if code in ("AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId") or error.status == 403:
        return _CREDENTIALS_HINT
    if isinstance(error, exceptions.BucketNotEmpty):
        return f"remove its objects first: `ossbox rm -r -f oss://{bucket}`" if bucket else "remove its objects first"
    if code == "BucketAlreadyExists":
        return "bucket names are global: choose another name"
    if error.status >= 500:
        return "the server failed; try again later"
    return ""


def failure(error: BaseException, subject: str = "", bucket: str | None = None) -> tuple[ExitCode, str]:
    """(exit code, message) for an error met while working on `subject` (e.g. `oss://b/k`)."""
    prefix = f"{subject}: " if subject else ""
    if isinstance(error, exceptions.NotModified):
        return ExitCode.NOT_MODIFIED, f"{prefix}not modified (304): the condition says there is nothing to download"
    if isinstance(error, exceptions.PreconditionFailed):
        return ExitCode.PRECONDITION_FAILED, f"{prefix}precondition failed (412): nothing was downloaded"
    if isinstance(error, exceptions.ServerError):
        described = f"{error.code or 'HTTP ' + str(error.status)}"
        if error.message:
            described += f": {error.message}"
        hint = _server_hint(error, bucket)
        request_id = f" (request id {error.request_id})" if error.request_id else ""
        return ExitCode.SERVER, f"{prefix}{described}{request_id}" + (f"; {hint}" if hint else "")
    if isinstance(error, exceptions.RequestError):
        import urllib3

        cause = getattr(error, "exception", error)
        if isinstance(cause, urllib3.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return ExitCode.CLIENT, (f"{prefix}the server's HTTPS certificate cannot be verified: {cause}; give its "
                                     f"certificate authority with --ca-bundle FILE (or, knowing the risk, --insecure)")
        return ExitCode.CLIENT, f"{prefix}the request failed: {cause}; check --endpoint and the network, then retry"
    if isinstance(error, exceptions.InconsistentError):
        return ExitCode.CLIENT, f"{prefix}data check failed: {error.body}; run the command again"
    if isinstance(error, exceptions.ClientError):
        return ExitCode.USAGE, f"{prefix}{error.body.removeprefix('ClientError: ')}"
    if isinstance(error, SettingsError):
        return ExitCode.USAGE, str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else prefix
        return ExitCode.CLIENT, f"{where}{error.strerror or error}"
    if isinstance(error, ValueError):
        return ExitCode.USAGE, f"{prefix}{error}"
    return ExitCode.CLIENT, f"{prefix}{type(error).__name__}: {error}"

"""HTTPS on the server's ports (`ossbox serve --tls-cert FILE --tls-key FILE`), with the certificate reloaded
on SIGHUP.

Strategy: the listening sockets keep one SSL context for their lifetime (asyncio gives no way to swap it), whose
SNI callback hands each new handshake the context of the certificate loaded last. A load reads the two files
once, writes them as one PEM into a private directory of the server's (`kept_dir`, mode 0700), builds a
complete context from that copy, and only then makes it the kept pair, by one rename. So a renewal caught
half-written, or a key that does not match its certificate, leaves the server on the certificate it had, with
an error in the log; and a worker started later (one that replaces a crashed worker) loads the kept pair, the
last that worked, not files that may have gone bad since.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile

__all__ = ["Certificate"]

log = logging.getLogger("ossbox.server")

_KEPT = "certificate-and-key.pem"


def _context(pem_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(pem_file)  # the chain and its key, in one file
    return context


class Certificate:
    def __init__(self, cert_file: str, key_file: str, kept_dir: str) -> None:
        """The kept pair if there is one, else the files (kept from now on): OSError or ssl.SSLError if they
        cannot be used."""
        self.cert_file, self.key_file = cert_file, key_file
        self._kept_dir = kept_dir
        kept = os.path.join(kept_dir, _KEPT)
        self._current = _context(kept) if os.path.exists(kept) else self._load()
        self.listening = _context(kept)
        self.listening.sni_callback = self._hand_over

    def _hand_over(self, connection: ssl.SSLObject, _server_name: str | None, _context: ssl.SSLContext) -> None:
        connection.context = self._current

    def _load(self) -> ssl.SSLContext:
        with open(self.cert_file, "rb") as chain, open(self.key_file, "rb") as key:
            pem = chain.read().rstrip(b"\n") + b"\n" + key.read()
        descriptor, candidate = tempfile.mkstemp(dir=self._kept_dir, suffix=".pem")  # mode 0600
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            context = _context(candidate)
            os.replace(candidate, os.path.join(self._kept_dir, _KEPT))
            return context
        except BaseException:
            if os.path.exists(candidate):
                os.unlink(candidate)
            raise

    def reload(self) -> bool:
        """Load the files again; new connections get the new certificate. False, logged, if it cannot be used."""
        try:
            self._current = self._load()
        except (OSError, ssl.SSLError) as error:
            log.error("SIGHUP: keeping the current TLS certificate: cannot load %s and %s: %s",
                      self.cert_file, self.key_file, error)
            return False
        log.info("SIGHUP: reloaded the TLS certificate from %s", self.cert_file)
        return True

"""HTTPS on the server's ports (`ossbox serve --tls-cert FILE --tls-key FILE`), with the certificate reloaded
on SIGHUP.

Strategy: the listening sockets keep one SSL context for their lifetime (asyncio gives no way to swap it), whose
SNI callback hands each new handshake the context of the certificate loaded last. A reload builds a complete
new context from the files first: a renewal caught half-written, or a key that does not match its
certificate, leaves the server on the certificate it had, with an error in the log.
"""

from __future__ import annotations

import logging
import ssl

__all__ = ["Certificate"]

log = logging.getLogger("ossbox.server")


def _context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert_file, key_file)
    return context


class Certificate:
    def __init__(self, cert_file: str, key_file: str) -> None:
        """Load the certificate chain and its key: OSError or ssl.SSLError if they cannot be used."""
        self.cert_file = cert_file
        self.key_file = key_file
        self._current = _context(cert_file, key_file)
        self.listening = _context(cert_file, key_file)
        self.listening.sni_callback = self._hand_over

    def _hand_over(self, connection: ssl.SSLObject, _server_name: str | None, _context: ssl.SSLContext) -> None:
        connection.context = self._current

    def reload(self) -> bool:
        """Load the files again; new connections get the new certificate. False, logged, if it cannot be used."""
        try:
            self._current = _context(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:
            log.error("SIGHUP: keeping the current TLS certificate: cannot load %s and %s: %s",
                      self.cert_file, self.key_file, error)
            return False
        log.info("SIGHUP: reloaded the TLS certificate from %s", self.cert_file)
        return True

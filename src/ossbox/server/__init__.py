"""The OSS-compatible HTTP server: addressing, routing, authentication and handlers over storage."""

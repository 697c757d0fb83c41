"""The OSS-compatible HTTP server: the OSS codec (server/oss/), the operations (server/operations/) and the
dispatcher between them (server/dispatch.py), over storage."""

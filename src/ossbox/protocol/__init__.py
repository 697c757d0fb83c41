"""The OSS protocol without I/O: dates, ranges, preconditions, signing, errors, CRC64, names.

Shared by the server and the client; imports no socket, file or framework code.
"""

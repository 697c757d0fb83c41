"""Process-wide defaults, with oss2's names and values so code that tunes `oss2.defaults` keeps working.

Each value is read when it is needed (a Bucket reads the timeouts when it is created, a Session its pool
size), so assigning to a name here changes what later objects do.
"""

from __future__ import annotations

__all__ = [
    "get",
    "connect_timeout",
    "read_timeout",
    "request_retries",
    "multipart_threshold",
    "multipart_num_threads",
    "part_size",
    "max_part_count",
    "min_part_size",
    "connection_pool_size",
    "multiget_threshold",
    "multiget_num_threads",
    "multiget_part_size",
]


def get(value, default_value):
    """`value`, or `default_value` when it is None."""
    return default_value if value is None else value


#: Seconds to establish a connection.
connect_timeout = 60

#: Seconds a response may stall between two reads (oss2 used connect_timeout for both).
read_timeout = 60

#: Attempts a listing iterator makes when the server answers 5xx or the connection fails.
request_retries = 3

#: Uploads of at least this many bytes use multipart upload.
multipart_threshold = 10 * 1024 * 1024

#: Threads a multipart upload uses by default.
multipart_num_threads = 1

#: Default multipart part size.
part_size = 10 * 1024 * 1024

#: Most parts one multipart upload may have.
max_part_count = 10000

#: Smallest part (other than the last) OSS accepts.
min_part_size = 100 * 1024

#: Connections each Session keeps per host.
connection_pool_size = 10

#: Downloads of objects at least this large are fetched in ranged parts.
multiget_threshold = 100 * 1024 * 1024

#: Threads a ranged download uses by default.
multiget_num_threads = 4

#: Default part size of a ranged download.
multiget_part_size = 10 * 1024 * 1024

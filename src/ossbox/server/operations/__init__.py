"""The operations, one function each, named as OSS names them: a typed request in, a typed result out.

Strategy: an operation knows what it means to get, put or list, and nothing of how a dialect writes it on
the wire: no header name, no XML, no status code. It calls storage (through `Context.storage`, off the
event loop), decides conditions and ranges with the pure functions of `protocol/`, and raises `OssError`
(whose codes both dialects map) or an outcome such as `NotModified`. The codecs (`server/oss/`, and the S3
one to come) turn HTTP requests into these requests and these results into HTTP responses.
"""

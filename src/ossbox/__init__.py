"""ossbox: a self-hosted object store that speaks Alibaba Cloud OSS's protocol."""

__version__ = "0.1.0"

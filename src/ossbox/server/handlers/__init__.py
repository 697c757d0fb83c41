"""Request handlers, one module per family of OSS operations, named `handle_<operation>`."""

"""The pure core and use cases: parse what people type, resolve who they are, look up, digest."""

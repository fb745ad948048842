"""The ``noop`` network driver: supports nothing, so attach answers 501."""

from interface_attach.network import base


class NoopDriver(base.NetworkDriver):
    """A network back end without interface attach (like nova-network)."""

"""WSGI middleware of the interface-attach pipeline (see api-paste.ini)."""

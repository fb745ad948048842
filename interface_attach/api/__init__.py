"""The HTTP API: routing, handlers, validation and fault rendering."""

"""interface-attach: the compute os-interface API as a WSGI service."""

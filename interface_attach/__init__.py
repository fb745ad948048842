"""interface-attach: the OpenStack compute os-interface API as a WSGI service."""

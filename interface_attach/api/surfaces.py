"""API surfaces: what differs between /v2 (the spec) and later surfaces.

One handler serves every surface; a Surface carries the error table that
maps domain exceptions to status codes, and the body schemas.
"""

from interface_attach.api import faults
from interface_attach.api import schemas
from interface_attach.api import validation
from interface_attach import exception

ATTACH_FAILED = exception.AttachFailed.msg_fmt


class Surface:

    def __init__(self, name, error_table, create_schema):
        self.name = name
        # Most specific class first: the first match wins.
        self._error_table = error_table
        self.create_validator = validation.Validator(create_schema)

    def status_for(self, error):
        """(status, message) for a domain exception."""
        for cls, status, message in self._error_table:
            if isinstance(error, cls):
                return status, message or error.message
        return 500, faults.SERVER_ERROR

    def fault(self, error):
        status, message = self.status_for(error)
        return faults.fault_response(status, message)


# The spec's response-code table. "Port / network not found" is a 500
# "Failed to attach interface", as Juno answered.
V2 = Surface(
    'v2',
    error_table=[
        (exception.PortNotFound, 500, ATTACH_FAILED),
        (exception.NetworkNotFound, 500, ATTACH_FAILED),
        (exception.Invalid, 400, None),
        (exception.Forbidden, 403, None),
        (exception.NotFound, 404, None),
        (exception.Conflict, 409, None),
        (exception.AttachFailed, 500, None),
        (exception.DriverNotSupported, 501, None),
    ],
    create_schema=schemas.create_v2,
)

BY_NAME = {surface.name: surface for surface in (V2,)}

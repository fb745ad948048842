"""API surfaces: what differs between /v2 (the spec) and /v2.1 (Nova).

One handler serves every surface. A Surface carries what differs: the
error table mapping domain exceptions to status codes, microversion
negotiation, and how strictly the body is read.
"""

from interface_attach.api import faults
from interface_attach.api import microversion
from interface_attach.api import schemas
from interface_attach.api import validation
from interface_attach import exception

ATTACH_FAILED = exception.AttachFailed.msg_fmt
NOT_SUPPORTED = exception.DriverNotSupported.msg_fmt


class Surface:

    def __init__(self, name, error_table):
        self.name = name
        # Most specific class first: the first match wins.
        self._error_table = error_table

    def status_for(self, error):
        """(status, message) for a domain exception."""
        for cls, status, message in self._error_table:
            if isinstance(error, cls):
                return status, message or error.message
        return 500, faults.SERVER_ERROR

    def fault(self, error):
        status, message = self.status_for(error)
        retry_after = getattr(error, 'retry_after', None)
        headers = ({'Retry-After': str(retry_after)}
                   if status == 503 and retry_after is not None else None)
        return faults.fault_response(status, message, headers=headers)


class LegacyV2(Surface):
    """/v2/{project_id}: the spec, with no microversions."""

    def __init__(self):
        super().__init__('v2', error_table=[
            # The spec's "500 failed to attach interface" rows.
            (exception.PortNotFound, 500, ATTACH_FAILED),
            (exception.NetworkNotFound, 500, ATTACH_FAILED),
            # Nova's legacy v2 answered quota errors with 413 overLimit.
            (exception.PortLimitExceeded, 413, None),
            (exception.ServiceUnavailable, 503, None),
            (exception.Invalid, 400, None),
            (exception.Forbidden, 403, None),
            (exception.NotFound, 404, None),
            (exception.Conflict, 409, None),
            # The spec's words, whatever the back end said.
            (exception.AttachFailed, 500, ATTACH_FAILED),
            (exception.DetachFailed, 500, None),
            (exception.DriverNotSupported, 501, NOT_SUPPORTED),
        ])
        self._create = validation.Validator(schemas.create_v2)

    def negotiate(self, req, max_version):
        """No microversions: their headers are ignored."""
        return None

    def headers(self, version):
        return {}

    def check_query(self, req, version):
        """Any query parameter is ignored."""

    def create_body(self, req, version):
        body = validation.json_body(req, require_content_type=True)
        body = {} if body is None else body
        self._create.validate(body)
        return body


class V21(Surface):
    """/v2.1[/{project_id}]: Nova's current contract, with microversions."""

    def __init__(self):
        super().__init__('v2.1', error_table=[
            (exception.PortInUse, 409, None),
            (exception.FixedIpAlreadyInUse, 409, None),
            (exception.PortLimitExceeded, 403, None),
            (exception.ServiceUnavailable, 503, None),
            (exception.UnsupportedContentType, 415, None),
            (exception.Invalid, 400, None),
            (exception.Forbidden, 403, None),
            (exception.NotFound, 404, None),
            (exception.VersionNotSupported, 406, None),
            (exception.Conflict, 409, None),
            (exception.AttachFailed, 500, None),
            (exception.DetachFailed, 500, None),
            # Nova's controller: a compute host that cannot hot-plug is 400.
            (exception.AttachNotSupported, 400, None),
            (exception.DriverNotSupported, 501, None),
        ])
        self._create = validation.Validator(schemas.create_v21)
        self._create_tagged = validation.Validator(schemas.create_v249)
        self._no_query = validation.Validator(schemas.no_query)

    def negotiate(self, req, max_version):
        return microversion.requested_version(req.headers, max_version)

    def headers(self, version):
        return microversion.response_headers(
            version or microversion.MIN_VERSION)

    def check_query(self, req, version):
        """From 2.102, a query parameter on list or show is a 400."""
        if version >= microversion.STRICT_QUERY:
            self._no_query.validate(req.GET.dict_of_lists())

    def create_body(self, req, version):
        body = validation.json_body(req, require_content_type=False)
        validator = (self._create_tagged
                     if version >= microversion.TAG_ON_CREATE
                     else self._create)
        validator.validate(body)
        return body


V2 = LegacyV2()
V2_1 = V21()

BY_NAME = {surface.name: surface for surface in (V2, V2_1)}


def takes_tag(version):
    """Whether a create may carry "tag" (2.49 and later; never on /v2)."""
    return version is not None and version >= microversion.TAG_ON_CREATE


def show_tag(version):
    """Whether responses carry "tag" (2.70 and later; never on /v2)."""
    return version is not None and version >= microversion.TAG_IN_RESPONSE

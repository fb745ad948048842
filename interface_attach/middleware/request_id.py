"""Request ids: oslo.middleware's, plus Nova's x-compute-request-id header."""

import re

from oslo_context import context
from oslo_middleware import request_id

COMPUTE_REQUEST_ID = 'x-compute-request-id'

_INBOUND = 'HTTP_' + request_id.INBOUND_HEADER.upper().replace('-', '_')
_GLOBAL_ID = re.compile(request_id.ID_FORMAT)


class ComputeRequestId(request_id.RequestId):
    """Return the same ``req-<uuid4>`` in both request-id headers.

    oslo.middleware's contract (its environ keys, id format and inbound
    global request id), as plain WSGI: this filter sees every request, and
    building webob requests and responses in each filter cost a fifth of
    a short request.
    """

    compat_headers = [COMPUTE_REQUEST_ID]

    def __call__(self, environ, start_response):
        inbound = environ.get(_INBOUND, '')
        if _GLOBAL_ID.match(inbound):
            environ[request_id.GLOBAL_REQ_ID] = inbound
        req_id = context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id
        names = [request_id.HTTP_RESP_HEADER_REQUEST_ID] + self.compat_headers

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend((name, req_id) for name in names
                           if name not in present)
            return start_response(status, headers, exc_info)
        return self.application(environ, start)

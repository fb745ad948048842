"""Request ids: oslo.middleware's, plus Nova's x-compute-request-id header."""

from oslo_middleware import request_id

COMPUTE_REQUEST_ID = 'x-compute-request-id'


class ComputeRequestId(request_id.RequestId):
    """Return the same ``req-<uuid4>`` in both request-id headers."""

    compat_headers = [COMPUTE_REQUEST_ID]

"""The fault wrapper: every error leaves the pipeline as a Nova JSON fault.

An unexpected exception becomes a 500 computeFault whose traceback goes to
the log only. Error responses made below us by other middleware
(keystonemiddleware's 401, webob's defaults) are rewritten into the same
shape, so clients see one error format.
"""

from oslo_log import log as logging
import webob.dec
import webob.exc

from interface_attach.api import faults

LOG = logging.getLogger(__name__)

# Headers of a foreign error response that still mean something to clients
# (the microversion ones: the versions filter puts them on /v2.1 responses
# made before the router, keystonemiddleware's 401 among them).
_KEPT_HEADERS = ('WWW-Authenticate', 'Retry-After', 'Allow',
                 'OpenStack-API-Version', 'X-OpenStack-Nova-API-Version',
                 'Vary')


class FaultWrapper:

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            response = req.get_response(self.application)
        except webob.exc.HTTPException as e:
            return faults.fault_response(e.code, e.detail or e.explanation)
        except Exception:
            LOG.exception('Unexpected error in %s %s', req.method,
                          req.path_info)
            return faults.fault_response(500, faults.SERVER_ERROR)
        if response.status_int >= 400 and not faults.is_fault(response):
            headers = {name: response.headers[name] for name in _KEPT_HEADERS
                       if name in response.headers}
            return faults.fault_response(response.status_int,
                                         faults.message_of(response),
                                         headers=headers)
        return response

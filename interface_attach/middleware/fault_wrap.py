"""The fault wrapper: every error leaves the pipeline as a Nova JSON fault.

An unexpected exception becomes a 500 computeFault whose traceback goes to
the log only; a client that hangs up while sending its body is a
warning, and a 400 nobody reads. Error responses made below us by other
middleware (keystonemiddleware's 401, webob's defaults) are rewritten into
the same shape, so clients see one error format.
"""

from oslo_log import log as logging
import webob
import webob.exc
import webob.request

from interface_attach.api import faults

LOG = logging.getLogger(__name__)

# Headers of a foreign error response that still mean something to clients
# (the microversion ones: the versions filter puts them on /v2.1 responses
# made before the router, keystonemiddleware's 401 among them).
_KEPT_HEADERS = ('WWW-Authenticate', 'Retry-After', 'Allow',
                 'OpenStack-API-Version', 'X-OpenStack-Nova-API-Version',
                 'Vary')
INCOMPLETE_BODY = 'The request body was not received whole.'


class _ClientInput:
    """wsgi.input, whose errors are the client's: a hang-up, a stall.

    Each server says so with its own exception (gunicorn's NoMoreData,
    uwsgi's and mod_wsgi's OSError); webob says so when a body ends short.
    """

    def __init__(self, stream):
        self._stream = stream

    def read(self, *args):
        return self._client_call(self._stream.read, *args)

    def readline(self, *args):
        return self._client_call(self._stream.readline, *args)

    def readlines(self, *args):
        return self._client_call(self._stream.readlines, *args)

    def __iter__(self):
        return iter(self.readline, b'')

    def __getattr__(self, name):
        return getattr(self._stream, name)

    @staticmethod
    def _client_call(method, *args):
        try:
            return method(*args)
        except OSError as e:
            raise webob.request.DisconnectionError(str(e)) from e


class FaultWrapper:

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if 'wsgi.input' in environ:
            environ['wsgi.input'] = _ClientInput(environ['wsgi.input'])
        try:
            status, headers, app_iter = webob.Request(
                environ).call_application(self.application)
        except webob.exc.HTTPException as e:
            response = faults.fault_response(e.code,
                                             e.detail or e.explanation)
            return response(environ, start_response)
        except webob.request.DisconnectionError as e:
            LOG.warning('The client of %s %s sent part of the body only: %s',
                        environ.get('REQUEST_METHOD'),
                        environ.get('PATH_INFO'), e)
            response = faults.fault_response(400, INCOMPLETE_BODY)
            return response(environ, start_response)
        except Exception:
            LOG.exception('Unexpected error in %s %s',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'))
            response = faults.fault_response(500, faults.SERVER_ERROR)
            return response(environ, start_response)
        if int(status.split(' ', 1)[0]) < 400:
            # Plain WSGI for the common case: a webob response costs more
            # than the rest of this filter.
            start_response(status, headers)
            return app_iter
        response = webob.Response(status=status, headerlist=headers,
                                  app_iter=app_iter)
        if not faults.is_fault(response):
            kept = {name: response.headers[name] for name in _KEPT_HEADERS
                    if name in response.headers}
            response = faults.fault_response(response.status_int,
                                             faults.message_of(response),
                                             headers=kept)
        return response(environ, start_response)

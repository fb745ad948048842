"""The context filter: an oslo.context RequestContext per request.

It trusts the identity headers, so it must run after authentication
(authtoken or noauth); it refuses requests whose identity is not
confirmed.
"""

from oslo_context import context

from interface_attach.api import faults
from interface_attach import context as ia_context


class ContextMiddleware:

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            response = faults.fault_response(401, faults.UNAUTHORIZED)
            return response(environ, start_response)
        environ[ia_context.ENVIRON_KEY] = (
            context.RequestContext.from_environ(environ))
        return self.application(environ, start_response)

"""The context filter: an oslo.context RequestContext per request.

It trusts the identity headers, so it must run after authentication
(authtoken or noauth); it refuses requests whose identity is not
confirmed.
"""

from oslo_context import context
import webob.dec

from interface_attach.api import faults
from interface_attach import context as ia_context


class ContextMiddleware:

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        if req.headers.get('X-Identity-Status') != 'Confirmed':
            return faults.fault_response(401, faults.UNAUTHORIZED)
        req.environ[ia_context.ENVIRON_KEY] = (
            context.RequestContext.from_environ(req.environ))
        return req.get_response(self.application)

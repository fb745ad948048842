"""The route table and the WSGI application that dispatches to handlers.

ROUTES is the one place that lists every URL the service answers. A path
matched with a method it lacks is a 405; a path not matched is a 404 in
the standalone app and passes to the next application in filter mode.
"""

import routes
import webob

from interface_attach.api import faults
from interface_attach.api import interfaces
from interface_attach.api import surfaces
from interface_attach import context as ia_context
from interface_attach import exception

ROUTES = (
    ('/v2/{project_id}/servers/{server_id}/os-interface', surfaces.V2,
     {'POST': interfaces.create_interface}),
)


def _make_mapper():
    mapper = routes.Mapper()
    for path, surface, methods in ROUTES:
        for method, handler in methods.items():
            mapper.connect(path, handler=handler, surface=surface.name,
                           conditions={'method': [method]})
        # Any other method on a known path.
        mapper.connect(path, handler=None, surface=surface.name,
                       allowed=', '.join(sorted(methods)))
    return mapper


class Router:
    """Dispatch os-interface requests; ``next_app`` makes it a filter."""

    _ROUTE_KEYS = ('handler', 'surface', 'allowed', 'project_id')

    def __init__(self, services, next_app=None):
        self.services = services
        self.next_app = next_app
        self.mapper = _make_mapper()

    def __call__(self, environ, start_response):
        match = self.mapper.match(environ=environ)
        if match is None:
            if self.next_app is not None:
                return self.next_app(environ, start_response)
            response = faults.fault_response(404, faults.NOT_FOUND)
        else:
            response = self._dispatch(environ, match)
        return response(environ, start_response)

    def _dispatch(self, environ, match):
        handler = match['handler']
        surface = surfaces.BY_NAME[match['surface']]
        if handler is None:
            return faults.fault_response(
                405, 'The method %s is not allowed for this resource.'
                % environ['REQUEST_METHOD'],
                headers={'Allow': match['allowed']})
        context = ia_context.from_environ(environ)
        if context.project_id is None:
            return faults.fault_response(401, faults.UNAUTHORIZED)
        args = {k: v for k, v in match.items() if k not in self._ROUTE_KEYS}
        try:
            url_project = match.get('project_id')
            if url_project is not None and url_project != context.project_id:
                # Before anything else, and for admins too (Nova does so).
                raise exception.ProjectMismatch(url=url_project,
                                                context=context.project_id)
            context.is_admin = self.services.policy.is_admin(context)
            return handler(self.services, webob.Request(environ), context,
                           surface, **args)
        except exception.InterfaceAttachError as e:
            return surface.fault(e)

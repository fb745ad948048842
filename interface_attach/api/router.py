"""The route table and the WSGI application that dispatches to handlers.

ROUTES lists every URL the service answers, under each surface's prefix.
A path matched with a method it lacks is a 405; a path not matched is a
404 in the standalone app, and passes to the next application in filter
mode, where only the os-interface routes are ours.
"""

import collections
import urllib.parse

import routes
import webob

from interface_attach.api import faults
from interface_attach.api import interfaces
from interface_attach.api import servers
from interface_attach.api import surfaces
from interface_attach.api import versions
from interface_attach import context as ia_context
from interface_attach import exception

# (prefix, surface) of each API surface.
PREFIXES = (
    ('/v2/{project_id}', surfaces.V2),
    ('/v2.1/{project_id}', surfaces.V2_1),
    ('/v2.1', surfaces.V2_1),
)


def _url_is_utf8(environ):
    """Whether the path, and the query string once unquoted, are UTF-8."""
    try:
        for name in ('SCRIPT_NAME', 'PATH_INFO'):
            environ.get(name, '').encode('latin-1').decode('utf-8')
        urllib.parse.unquote_to_bytes(environ.get(
            'QUERY_STRING', '').encode('latin-1')).decode('utf-8')
    except UnicodeError:
        return False
    return True


def _version_document(services, call):
    """GET /v2.1/{project_id}: novaclient discovers here, authenticated."""
    document = versions.V21 if call.surface is surfaces.V2_1 else versions.V2
    return versions.version_response(document, call.req.application_url)


# (path under the prefix, {method: handler}, served in filter mode).
ROUTES = (
    ('/servers/{server_id}/os-interface',
     {'GET': interfaces.list_interfaces,
      'POST': interfaces.create_interface}, True),
    ('/servers/{server_id}/os-interface/{port_id}',
     {'GET': interfaces.show_interface,
      'DELETE': interfaces.delete_interface}, True),
    # "detail" before {server_id}, which would match it too.
    ('/servers/detail', {'GET': servers.list_servers_detail}, False),
    ('/servers/{server_id}', {'GET': servers.show_server}, False),
    ('', {'GET': _version_document}, False),
    ('/', {'GET': _version_document}, False),
)

_VERSIONS = ('v2', 'v2.1')

# What a handler gets besides the services and the path variables.
Call = collections.namedtuple('Call', 'req context surface version')


def _make_mapper(filter_mode):
    mapper = routes.Mapper()
    for prefix, surface in PREFIXES:
        for path, methods, in_filter in ROUTES:
            if filter_mode and not in_filter:
                continue
            if path in ('', '/') and '{' not in prefix:
                continue    # /v2.1[/]: the versions filter, no token
            for method, handler in methods.items():
                mapper.connect(prefix + path, handler=handler,
                               surface=surface.name,
                               conditions={'method': [method]})
            # Any other method on a known path.
            mapper.connect(prefix + path, handler=None,
                           surface=surface.name,
                           allowed=', '.join(sorted(methods)))
    return mapper


def _surface_of_path(path):
    return surfaces.V2_1 if path.startswith('/v2.1') else surfaces.V2


class Router:
    """Dispatch API requests; ``next_app`` makes it a filter."""

    _ROUTE_KEYS = ('handler', 'surface', 'allowed', 'project_id')

    def __init__(self, services, next_app=None):
        self.services = services
        self.next_app = next_app
        self.mapper = _make_mapper(filter_mode=next_app is not None)

    def __call__(self, environ, start_response):
        match = self.mapper.match(url=self._routed_path(environ),
                                  environ=environ)
        if match is None:
            if self.next_app is not None:
                return self.next_app(environ, start_response)
            surface = _surface_of_path(environ.get('PATH_INFO', ''))
            response = faults.fault_response(404, faults.NOT_FOUND)
            response.headers.update(surface.headers(None))
        else:
            response = self._dispatch(environ, match)
        return response(environ, start_response)

    def _routed_path(self, environ):
        """The path our routes see.

        A filter behind a URL map (nova's api-paste.ini maps /v2 and /v2.1
        to their pipelines) finds the API version in SCRIPT_NAME; the
        standalone app never looks there.
        """
        path = environ.get('PATH_INFO', '')
        if self.next_app is None:
            return path
        version = environ.get('SCRIPT_NAME', '').rstrip('/').rpartition(
            '/')[2]
        return '/%s%s' % (version, path) if version in _VERSIONS else path

    def _dispatch(self, environ, match):
        surface = surfaces.BY_NAME[match['surface']]
        req = webob.Request(environ)
        version = None
        try:
            if not _url_is_utf8(environ):
                # Told here, as webob decodes the path and the query string
                # lazily, wherever a handler first reads them.
                raise exception.Invalid('The request URL is not valid UTF-8.')
            version = surface.negotiate(req, self.services.max_version)
            response = self._handle(req, surface, version, match)
        except exception.InterfaceAttachError as e:
            response = surface.fault(e)
        response.headers.update(surface.headers(version))
        return response

    def _handle(self, req, surface, version, match):
        handler = match['handler']
        if handler is None:
            return faults.fault_response(
                405, 'The method %s is not allowed for this resource.'
                % req.method, headers={'Allow': match['allowed']})
        context = ia_context.from_environ(req.environ)
        if context is None or context.project_id is None:
            return faults.fault_response(401, faults.UNAUTHORIZED)
        url_project = match.get('project_id')
        if url_project is not None and url_project != context.project_id:
            # Before anything else, and for admins too (Nova does so).
            raise exception.ProjectMismatch(url=url_project,
                                            context=context.project_id)
        context.is_admin = self.services.policy.is_admin(context)
        args = {k: v for k, v in match.items() if k not in self._ROUTE_KEYS}
        call = Call(req, context, surface, version)
        if req.method == 'GET':
            return self.services.read(handler, call, **args)
        return handler(self.services, call, **args)

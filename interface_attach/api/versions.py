"""Version documents, as Nova serves them, for client discovery.

``GET /`` lists the versions; ``GET /v2[/]`` and ``GET /v2.1[/]`` describe
one. None needs a token: keystoneauth discovers before it authenticates.
The ``VersionsFilter`` answers them in front of authentication.
"""

import webob

from interface_attach.api import faults
from interface_attach.api import microversion

V2 = {'id': 'v2.0', 'status': 'SUPPORTED', 'version': '',
      'min_version': '', 'updated': '2011-01-21T11:33:21Z', 'path': 'v2'}
V21 = {'id': 'v2.1', 'status': 'CURRENT',
       'version': microversion.to_string(microversion.MAX_VERSION),
       'min_version': microversion.to_string(microversion.MIN_VERSION),
       'updated': '2013-07-23T11:33:21Z', 'path': 'v2.1'}

DOCUMENTS = {'/v2': V2, '/v2/': V2, '/v2.1': V21, '/v2.1/': V21}
_HEADER = microversion.HEADER.lower()


def _summary(version, base_url):
    summary = {key: value for key, value in version.items() if key != 'path'}
    summary['links'] = [{'rel': 'self',
                         'href': '%s/%s/' % (base_url, version['path'])}]
    return summary


def versions_response(base_url):
    return faults.json_response(
        200, {'versions': [_summary(v, base_url) for v in (V2, V21)]})


def version_response(version, base_url):
    document = _summary(version, base_url)
    document['links'].append({'rel': 'describedby', 'type': 'text/html',
                              'href': 'http://docs.openstack.org/'})
    document['media-types'] = [{
        'base': 'application/json',
        'type': 'application/vnd.openstack.compute+json;version=%s'
                % version['id'][1:]}]
    return faults.json_response(200, {'version': document})


class VersionsFilter:
    """Answer GET on the version documents before authentication.

    It also puts the microversion headers on /v2.1 responses made before
    the router ran (a 401 from authentication, say), so that every /v2.1
    response has them.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if environ['REQUEST_METHOD'] in ('GET', 'HEAD') and (
                path == '/' or path in DOCUMENTS):
            response = self._document(webob.Request(environ))
            return response(environ, start_response)
        if not path.startswith('/v2.1'):
            return self.application(environ, start_response)

        def start(status, headers, exc_info=None):
            if not any(name.lower() == _HEADER for name, _ in headers):
                version = _discovery_version(webob.Request(environ).headers)
                headers.extend(microversion.response_headers(version).items())
            return start_response(status, headers, exc_info)
        return self.application(environ, start)

    @staticmethod
    def _document(req):
        if req.path_info == '/':
            return versions_response(req.application_url)
        version = DOCUMENTS[req.path_info]
        response = version_response(version, req.application_url)
        if version is V21:
            response.headers.update(microversion.response_headers(
                _discovery_version(req.headers)))
        return response


def _discovery_version(headers):
    """Echo a valid requested version, else the minimum; never fail."""
    try:
        return microversion.requested_version(headers)
    except Exception:
        return microversion.MIN_VERSION

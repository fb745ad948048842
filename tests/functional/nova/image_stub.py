"""The little of Glance v2 that Nova's boot path reads, for one image.

``GET /`` (versions), ``GET /v2/schemas/image`` (python-glanceclient builds
its image model from it; every property listed is a base property, the
rest would be Nova's ``properties``) and ``GET /v2/images/<id>``; every
other image is 404. Served by wsgiref in a thread of the test process; no
token is checked.
"""

import json
import re
import socketserver
import threading
import uuid
from wsgiref import simple_server

import fixtures

IMAGE_FIELDS = ['id', 'name', 'status', 'container_format', 'disk_format',
                'size', 'virtual_size', 'min_ram', 'min_disk', 'visibility',
                'owner', 'checksum', 'os_hash_algo', 'os_hash_value',
                'os_hidden', 'protected', 'tags', 'created_at',
                'updated_at', 'file', 'self', 'schema', 'direct_url',
                'locations']


def image(image_id):
    return {
        'id': image_id, 'name': 'ia-test-image', 'status': 'active',
        'container_format': 'bare', 'disk_format': 'raw', 'size': 1024,
        'virtual_size': None, 'min_ram': 0, 'min_disk': 0,
        'visibility': 'public', 'owner': None, 'checksum': None,
        'os_hash_algo': None, 'os_hash_value': None, 'os_hidden': False,
        'protected': False, 'tags': [],
        'created_at': '2026-01-01T00:00:00Z',
        'updated_at': '2026-01-01T00:00:00Z',
        'file': '/v2/images/%s/file' % image_id,
        'self': '/v2/images/%s' % image_id, 'schema': '/v2/schemas/image',
    }


SCHEMA = {'name': 'image', 'additionalProperties': {'type': 'string'},
          'properties': {name: {} for name in IMAGE_FIELDS}, 'links': []}


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):

    def log_message(self, *args):
        pass


class ImageService(fixtures.Fixture):
    """A Glance stub on 127.0.0.1:<free port> knowing ``image_id``."""

    def __init__(self, image_id=None):
        super().__init__()
        self.image_id = image_id or str(uuid.uuid4())

    def _setUp(self):
        self.server = simple_server.make_server(
            '127.0.0.1', 0, self.application, server_class=_Server,
            handler_class=_QuietHandler)
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        thread = threading.Thread(target=self.server.serve_forever,
                                  name='image-stub', daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def application(self, environ, start_response):
        path = environ.get('PATH_INFO', '/').rstrip('/') or '/'
        status, body = '404 Not Found', {'message': 'not found'}
        if environ['REQUEST_METHOD'] not in ('GET', 'HEAD'):
            status, body = '405 Method Not Allowed', {'message': 'read only'}
        elif path == '/':
            status, body = '300 Multiple Choices', {'versions': [{
                'id': 'v2.9', 'status': 'CURRENT',
                'links': [{'rel': 'self', 'href': self.url + '/v2/'}]}]}
        elif path == '/v2/schemas/image':
            status, body = '200 OK', SCHEMA
        else:
            match = re.match(r'^/v2/images/([^/]+)$', path)
            if match and match.group(1) == self.image_id:
                status, body = '200 OK', image(self.image_id)
        data = json.dumps(body).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(data)))])
        return [data]

"""Bad input at volume: generated requests never get a 5xx or a traceback.

Hypothesis generates bodies (wrong types, deep nesting, huge numbers and
strings, odd unicode, invalid UTF-8), headers (bad, duplicate, odd
microversions and content types), methods and paths, on both surfaces.
Every answer must be below 500, and every error a JSON fault of Nova's
shape with a message and the request ids.
"""

import json
import urllib.parse

import hypothesis
from hypothesis import strategies as st
import webob

from tests.functional import base

EXAMPLES = 1000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=80)
    | st.integers(min_value=10 ** 30, max_value=10 ** 40)
    | st.sampled_from(['', 'a' * 5000, '10.0.0.5', '::1', '1.2.3',
                       'c20c7086-eb16-4b3b-96e4-4da2f5037bcf',
                       'C20C7086EB164B3B96E44DA2F5037BCF', '\u0000',
                       '\ud7ff\ue000', '🙂' * 10]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(['interfaceAttachment', 'port_id', 'net_id',
                         'fixed_ips', 'ip_address', 'tag', 'subnet_id'])
        | st.text(max_size=10), children, max_size=4),
    max_leaves=20)

attachment_bodies = st.fixed_dictionaries({}, optional={
    'port_id': json_values, 'net_id': json_values, 'tag': json_values,
    'fixed_ips': json_values | st.lists(st.fixed_dictionaries(
        {}, optional={'ip_address': json_values, 'subnet_id': json_values}),
        max_size=3)}).map(lambda a: {'interfaceAttachment': a})

raw_bodies = (
    json_values.map(lambda v: json.dumps(v).encode())
    | attachment_bodies.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=300)
    | st.just(b'[' * 100000)
    | st.just(b'\xff\xfe{"interfaceAttachment": {}}'))

paths = st.sampled_from([
    '/v2/{project}/servers/{server}/os-interface',
    '/v2/{project}/servers/{server}/os-interface/{port}',
    '/v2.1/servers/{server}/os-interface',
    '/v2.1/{project}/servers/{server}/os-interface/{port}',
    '/v2.1/servers/{server}', '/v2.1/servers/detail?name=%ff%fe',
    '/v2/{project}/servers/%00/os-interface',
    '/v2.1/servers/{server}/os-interface/..%2f..%2f',
    '/v2/other/servers/{server}/os-interface', '/v2.1/' + 'x' * 3000,
    '/', '/v2.1', '/nope/{server}', '/v2.1/servers/🙂/os-interface'])

headers = st.dictionaries(
    st.sampled_from(['Content-Type', 'OpenStack-API-Version',
                     'X-OpenStack-Nova-API-Version', 'Accept',
                     'X-Auth-Token', 'X-Project-Id', 'X-Roles',
                     'Content-Length', 'X-Openstack-Request-Id']),
    st.sampled_from(['application/json', 'text/plain', '', 'compute 2.70',
                     'compute latest', '2.49', '2.999', 'garbage',
                     'compute 2.1, compute 2.70', 'alice:x', 'admin',
                     'application/json; charset=latin-1', '-1', '99999999',
                     'req-not-a-uuid']),
    max_size=4)


methods = st.sampled_from(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD',
                          'OPTIONS', 'TRACE', 'FOO'])

SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))


class FuzzTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.world = self.make_world()

    def send(self, method, path, body, extra_headers):
        path = urllib.parse.quote(path.format(
            project=self.world.project, server=self.world.server,
            port=self.world.port), safe='/?=%&')
        req = webob.Request.blank(path, method=method)
        req.headers['X-Auth-Token'] = base.member()
        for name, value in extra_headers.items():
            if name == 'Content-Length':
                continue  # webob sets it from the body
            req.headers[name] = value
        if body is not None:
            req.body = body
        return req.get_response(self.service.wsgi_app)

    def assertWellFormed(self, response, method='POST'):
        self.assertLess(response.status_int, 500, response.text[:500])
        for marker in base.TRACEBACK_MARKERS:
            self.assertNotIn(marker.encode(), response.body)
        self.assertRequestIds(response)
        if response.status_int >= 400 and method != 'HEAD':
            self.assertTrue(response.content_type.startswith(
                'application/json'), response.headers)
            fault = json.loads(response.body)
            (name, detail), = fault.items()
            self.assertEqual(base.FAULT_NAMES.get(response.status_int,
                                                  'computeFault'), name)
            self.assertEqual(response.status_int, detail['code'])
            self.assertIsInstance(detail['message'], str)

    @SETTINGS
    @hypothesis.given(body=raw_bodies, extra=headers)
    def test_bodies_on_create(self, body, extra):
        for path in ('/v2/{project}/servers/{server}/os-interface',
                     '/v2.1/servers/{server}/os-interface'):
            self.assertWellFormed(self.send('POST', path, body, dict(
                extra, **{'Content-Type': 'application/json'})))

    @SETTINGS
    @hypothesis.given(method=methods, path=paths,
                      body=st.none() | raw_bodies, extra=headers)
    def test_any_request(self, method, path, body, extra):
        self.assertWellFormed(self.send(method, path, body, extra), method)

"""Bad input at volume: generated requests never get a 5xx or a traceback.

Hypothesis generates bodies (wrong types, deep nesting, huge numbers and
strings, odd unicode, NUL and unpaired surrogates, invalid UTF-8), headers
(bad, duplicate, odd microversions and content types), methods, paths and
query strings, on both surfaces, with the store on SQLite, PostgreSQL and
MariaDB; and broken chunked framing sent to a real process. Every answer
must be below 500, and every error a JSON fault of Nova's shape with a
message and the request ids. Text no database stores (NUL, an unpaired
surrogate) in a field or query parameter the service reads is a 400
badRequest naming it.
"""

import json
import re
import socket
import urllib.parse

import fixtures
import hypothesis
from hypothesis import strategies as st
from oslotest import base as oslo_base
import webob

from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach import demo
from tests import api_process
from tests import databases
from tests.functional import base
from tests.functional import test_server_protocol

EXAMPLES = 1000

# NUL (PostgreSQL refuses it in text) and unpaired surrogates (no UTF-8
# at all), which st.text leaves out unless asked.
UNSTORABLE = ['\x00', '\ud800', '\udbff', '\udc00', '\udfff']
_UNSTORABLE = re.compile('[\x00\ud800-\udfff]')
SURROGATE = '[\ud800-\udfff]'

any_text = st.text(st.characters(exclude_categories=())
                   | st.sampled_from(UNSTORABLE), max_size=80)
unstorable_text = st.tuples(any_text, st.sampled_from(UNSTORABLE),
                            any_text).map(''.join)


def json_text(value, ascii_only):
    """``value`` as raw JSON: \\u escapes ("\\ud800"), or surrogates as is.

    json.loads reads both: escapes, and bytes with surrogates encoded as
    UTF-8 would encode them if it could (it decodes with surrogatepass).
    """
    if ascii_only:
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode(
        'utf-8', 'surrogatepass')


def url_quote(text):
    """``text`` percent-encoded, surrogates as UTF-8 would encode them."""
    return urllib.parse.quote(text.encode('utf-8', 'surrogatepass'), safe='')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | any_text
    | st.integers(min_value=10 ** 30, max_value=10 ** 40)
    | st.sampled_from(['', 'a' * 5000, '10.0.0.5', '::1', '1.2.3',
                       'c20c7086-eb16-4b3b-96e4-4da2f5037bcf',
                       'C20C7086EB164B3B96E44DA2F5037BCF', '\u0000',
                       '\ud7ff\ue000', '🙂' * 10] + UNSTORABLE),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(['interfaceAttachment', 'port_id', 'net_id',
                         'fixed_ips', 'ip_address', 'tag', 'subnet_id'])
        | st.text(st.characters(exclude_categories=()), max_size=10),
        children, max_size=4),
    max_leaves=20)

attachment_bodies = st.fixed_dictionaries({}, optional={
    'port_id': json_values, 'net_id': json_values, 'tag': json_values,
    'fixed_ips': json_values | st.lists(st.fixed_dictionaries(
        {}, optional={'ip_address': json_values, 'subnet_id': json_values}),
        max_size=3)}).map(lambda a: {'interfaceAttachment': a})

raw_bodies = (
    st.builds(json_text, json_values | attachment_bodies, st.booleans())
    | st.binary(max_size=300)
    | st.just(b'[' * 100000)
    | st.just(b'\xff\xfe{"interfaceAttachment": {}}'))

# '{segment}' is a generated path segment; the others name world ids.
path_templates = st.sampled_from([
    '/v2/{project}/servers/{server}/os-interface',
    '/v2/{project}/servers/{server}/os-interface/{port}',
    '/v2.1/servers/{server}/os-interface',
    '/v2.1/{project}/servers/{server}/os-interface/{port}',
    '/v2.1/servers/{server}', '/v2.1/servers/detail?name=%ff%fe',
    '/v2/{project}/servers/%00/os-interface',
    '/v2.1/servers/{server}/os-interface/..%2f..%2f',
    '/v2/other/servers/{server}/os-interface', '/v2.1/' + 'x' * 3000,
    '/', '/v2.1', '/nope/{server}', '/v2.1/servers/🙂/os-interface',
    '/v2/{segment}/servers/{server}/os-interface',
    '/v2.1/servers/{segment}/os-interface',
    '/v2.1/{project}/servers/{server}/os-interface/{segment}',
    '/v2/{project}/servers/{segment}', '/v2.1/servers/detail',
    '/v2/{project}/servers/detail', '/v2.1/{project}/servers/detail'])

# Parameters on any path; "name" is the one servers/detail reads.
query_strings = st.lists(st.tuples(
    st.sampled_from(['name', 'tag', 'limit', 'marker', 'all_tenants']),
    any_text), max_size=3).map(lambda params: '&'.join(
        '%s=%s' % (key, url_quote(value)) for key, value in params))


def _path(template, segment, query):
    path = template.replace('{segment}', url_quote(segment))
    if not query:
        return path
    return path + ('&' if '?' in path else '?') + query


paths = st.builds(_path, path_templates, any_text, query_strings)

headers = st.dictionaries(
    st.sampled_from(['Content-Type', 'OpenStack-API-Version',
                     'X-OpenStack-Nova-API-Version', 'Accept',
                     'X-Auth-Token', 'X-Project-Id', 'X-Roles',
                     'Content-Length', 'X-Openstack-Request-Id']),
    st.sampled_from(['application/json', 'text/plain', '', 'compute 2.70',
                     'compute latest', '2.49', '2.999', 'garbage',
                     'compute 2.1, compute 2.70', 'alice:x', 'admin',
                     'application/json; charset=latin-1', '-1', '99999999',
                     'req-not-a-uuid', 'compute 2.49\x00']),
    max_size=4)

methods = st.sampled_from(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD',
                          'OPTIONS', 'TRACE', 'FOO'])

surfaces = st.sampled_from(['/v2/{project}', '/v2.1', '/v2.1/{project}'])

SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))


def unstorable(text):
    return _UNSTORABLE.search(text) is not None


class FuzzTest(base.FunctionalTestCase):
    """The paste app on SQLite; the subclasses below on the servers."""

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
            # Never echoed: many JSON parsers refuse an unpaired surrogate.
            self.assertNotRegex(detail['message'], SURROGATE)

    def assertBadRequest(self, response, message_start):
        self.assertWellFormed(response)
        self.assertEqual(400, response.status_int, response.text)
        message = response.json['badRequest']['message']
        self.assertTrue(message.startswith(message_start), message)

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

    @SETTINGS
    @hypothesis.given(
        surface=surfaces, field=st.sampled_from(
            ['net_id', 'port_id', 'ip_address', 'tag']),
        text=unstorable_text | any_text, ascii_only=st.booleans(),
        version=st.sampled_from(['2.49', '2.70']))
    def test_unstorable_text_in_a_field_is_a_400(self, surface, field, text,
                                                 ascii_only, version):
        on_v21 = surface.startswith('/v2.1')
        attachment = {'net_id': self.world.net,
                      'fixed_ips': [{'ip_address': '10.0.0.9'}]}
        if field == 'port_id':
            attachment = {'port_id': text}
        elif field == 'ip_address':
            attachment['fixed_ips'][0]['ip_address'] = text
        else:
            attachment[field] = text
        if on_v21 and field != 'tag':
            attachment['tag'] = 'nic'
        body = json_text({'interfaceAttachment': attachment}, ascii_only)
        response = self.send(
            'POST', surface + '/servers/{server}/os-interface', body,
            {'Content-Type': 'application/json',
             'OpenStack-API-Version': 'compute %s' % version})
        # What the service reads: an escaped pair is one character again.
        sent = json.loads(body)['interfaceAttachment']
        value = (sent['fixed_ips'][0]['ip_address'] if field == 'ip_address'
                 else sent[field])
        if unstorable(value) and (on_v21 or field != 'tag'):
            self.assertBadRequest(
                response, 'Invalid input for field/attribute %s. ' % field)
        else:
            # /v2 ignores "tag", as any unknown key.
            self.assertWellFormed(response)

    @SETTINGS
    @hypothesis.given(surface=surfaces, name=unstorable_text | any_text)
    def test_unstorable_text_in_the_name_query_is_a_400(self, surface,
                                                        name):
        response = self.send(
            'GET', '%s/servers/detail?name=%s' % (surface, url_quote(name)),
            None, {})
        if re.search(SURROGATE, name):
            # Never decoded: a surrogate's UTF-8 is not valid UTF-8.
            self.assertBadRequest(response,
                                  'The request URL is not valid UTF-8.')
        elif '\x00' in name:
            self.assertBadRequest(
                response, 'Invalid input for query parameters name. ')
        else:
            self.assertWellFormed(response, 'GET')
            self.assertEqual(200, response.status_int, response.text)


class FuzzTestMySQL(FuzzTest):
    backend = 'mysql'


class FuzzTestPostgreSQL(FuzzTest):
    backend = 'postgresql'


# Broken chunked framing, against the HTTP server of a real process.

SHOW = '/v2.1/servers/%s/os-interface' % demo.SERVER_ID
HEAD = ('POST %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: demo:%s\r\n'
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n'
        'Connection: close\r\n\r\n' % (SHOW, demo.PROJECT_ID)).encode()
MALFORMED_CHUNKS = 'Malformed request: Invalid chunked body'

# None: the right size; else a size line as sent.
size_lines = st.none() | st.sampled_from(
    [b'zz', b'-1', b'', b' ', b'0x2', b'+2', b'2 ', b'1;ext=1', b'g', b'\x00',
     b'2\x00', b'ffffffffffffffffffffffff', b'\xff']) | st.binary(max_size=6)
chunk_ends = st.sampled_from([b'\r\n', b'\r\n', b'', b'\n', b'XX', b'\r'])
last_chunks = st.sampled_from([b'0\r\n\r\n', b'0\r\nX-Trailer: 1\r\n\r\n',
                               b'00\r\n\r\n', b'0;x=y\r\n\r\n', b'0\r\n',
                               b'', b'0\r\nbroken trailer\r\n\r\n'])
chunk_data = st.binary(max_size=20) | st.builds(
    json_text, attachment_bodies, st.booleans())
chunks = st.lists(st.tuples(size_lines, chunk_data, chunk_ends), max_size=4)


def chunked_body(chunk_list, last):
    """The body, and whether its framing is right throughout."""
    body, right = b'', True
    for size, data, end in chunk_list:
        if not data:
            continue  # an empty chunk is the last one
        right = right and size is None and end == b'\r\n'
        body += b'%s\r\n%s%s' % (b'%x' % len(data) if size is None else size,
                                 data, end)
    right = right and last.endswith(b'\r\n\r\n') and b'broken' not in last
    return body + last, right


def exchange(port, data):
    """Everything the server answers before closing; we send EOF first."""
    with socket.create_connection(('127.0.0.1', port), 10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return test_server_protocol.read_all(sock)


class ChunkedFramingFuzzTest(oslo_base.BaseTestCase):
    """interface-attach-api with its demo data, on SQLite or a server."""

    backend = None

    def setUp(self):
        super().setUp()
        directory = self.useFixture(fixtures.TempDir()).path
        connection = (databases.database_url(self.backend)
                      if self.backend is not None else None)
        self.port = api_process.free_port()
        config = api_process.write_config(directory, api_process.dev_sections(
            directory, self.port, connection))
        if self.backend is not None:
            database = engine.Database(
                ia_conf.new_conf(config_files=[config]).database)
            try:
                migration.db_sync(database)
                databases.empty(database)
            finally:
                database.dispose()
        self.server = self.useFixture(api_process.ApiProcess(config,
                                                             self.port))

    def answer(self, body):
        """(status, fault or body) of the answer; None if none came."""
        received = exchange(self.port, HEAD + body)
        if not received:
            return None
        head, _, content = received.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        status = int(lines[0].split()[1])
        fields = dict(line.split(': ', 1) for line in lines[1:])
        fields = {name.lower(): value for name, value in fields.items()}
        self.assertLess(status, 500, received)
        self.assertNotIn(b'Traceback', received)
        self.assertRegex(fields.get('x-openstack-request-id', ''),
                         base.REQUEST_ID)
        answer = json.loads(content)
        if status >= 400:
            (name, detail), = answer.items()
            self.assertEqual(base.FAULT_NAMES[status], name)
            self.assertEqual(status, detail['code'])
        return status, answer

    def test_chunk_size_zz_is_a_400(self):
        self.assertEqual(
            (400, {'badRequest': {'code': 400,
                                  'message': MALFORMED_CHUNKS}}),
            self.answer(b'zz\r\n{}\r\n0\r\n\r\n'))

    @hypothesis.settings(SETTINGS, max_examples=EXAMPLES // 2)
    @hypothesis.given(chunk_list=chunks, last=last_chunks)
    def test_broken_chunked_framing(self, chunk_list, last):
        body, right = chunked_body(chunk_list, last)
        answer = self.answer(body)
        if right:
            # A whole request: the application answers it.
            self.assertIsNotNone(answer, body)
        elif (chunk_list and chunk_list[0][1]
                and chunk_list[0][0] in (b'zz', b'-1', b'', b'g', b'0x2')):
            # A first size that is no hexadecimal number.
            self.assertEqual(
                (400, {'badRequest': {'code': 400,
                                      'message': MALFORMED_CHUNKS}}),
                answer)
        # Else the server may find it broken (400), or wait for the rest
        # of a body cut short and close at our EOF without a word.

    def tearDown(self):
        # Read while it runs: a worker stopped while it boots may log one.
        with open(self.server.output) as f:
            self.assertNotIn('Traceback', f.read())
        super().tearDown()


class ChunkedFramingFuzzTestMySQL(ChunkedFramingFuzzTest):
    backend = 'mysql'


class ChunkedFramingFuzzTestPostgreSQL(ChunkedFramingFuzzTest):
    backend = 'postgresql'

"""interface-attach-api against idle, slow and malformed clients.

A real process with the default serving options: idle connections and
clients trickling a request hold no thread, so other requests are
answered at once, and they are closed after ``[api]
client_request_timeout``; every error found in a request's framing is a
Nova JSON fault with the request-id headers, never a 5xx or HTML; headers
a client sends never change routing unless ``[api] forwarded_allow_ips``
trusts it.
"""

import concurrent.futures
import json
import re
import socket
import threading
import time

import fixtures
from oslotest import base

from interface_attach import demo
from tests import api_process

TOKEN_VALUE = 'demo:%s' % demo.PROJECT_ID
TOKEN = 'X-Auth-Token: %s\r\n' % TOKEN_VALUE
SHOW = '/v2.1/servers/%s/os-interface' % demo.SERVER_ID
DETAIL = '/v2.1/servers/detail'
IDLE = 50
SLOW = 50
LEGITIMATE = 100


def raw(port, data, timeout=10):
    """Everything the server answers to ``data`` before it closes."""
    with socket.create_connection(('127.0.0.1', port), timeout) as sock:
        sock.sendall(data)
        return read_all(sock)


def read_all(sock):
    received = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk


def parse(response):
    """(status, headers, body) of one HTTP response as bytes."""
    head, _, body = response.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = dict(line.split(': ', 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in
                                      headers.items()}, body


class ServerTestBase(base.BaseTestCase):

    sections = {}

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = api_process.free_port()
        sections = api_process.dev_sections(self.dir, self.port)
        for group, options in self.sections.items():
            sections.setdefault(group, {}).update(options)
        self.server = self.useFixture(api_process.ApiProcess(
            api_process.write_config(self.dir, sections), self.port))

    def get(self, path, extra=''):
        return parse(raw(self.port, (
            'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%sConnection: '
            'close\r\n\r\n' % (path, self.port, TOKEN, extra)).encode()))


class SlowClientsTest(ServerTestBase):

    def test_idle_and_slow_clients_neither_block_others_nor_stay(self):
        # The default configuration: no serving option is set.
        opened = time.monotonic()
        idle = [socket.create_connection(('127.0.0.1', self.port))
                for _ in range(IDLE)]
        # Half trickle their head, half a body announced by its head.
        slow_data = [b'GET %s HTTP/1.1\r\nHost: x\r\n' % SHOW.encode(),
                     b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 40'
                     b'\r\nContent-Type: application/json\r\n\r\n{"interf'
                     % SHOW.encode()]
        slow = []
        for i in range(SLOW):
            sock = socket.create_connection(('127.0.0.1', self.port))
            data = slow_data[i % 2]
            sock.sendall(data[:-8])
            slow.append((sock, data[-8:]))
        for sock in idle + [s for s, _ in slow]:
            self.addCleanup(sock.close)
        stop = threading.Event()

        def trickle():
            # One byte every 3 s on each slow connection, as the attack.
            sent = 0
            while not stop.wait(3):
                for sock, rest in slow:
                    try:
                        sock.send(rest[sent:sent + 1])
                    except OSError:
                        pass
                sent += 1
        trickler = threading.Thread(target=trickle)
        trickler.start()
        self.addCleanup(trickler.join)
        self.addCleanup(stop.set)

        def legitimate(_):
            started = time.monotonic()
            status, _, body = api_process.request(
                self.port, 'GET', SHOW, token=TOKEN_VALUE)
            return status, time.monotonic() - started
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(legitimate, range(LEGITIMATE)))
        self.assertEqual([200] * LEGITIMATE, [s for s, _ in results])
        latencies = sorted(t for _, t in results)
        self.assertLess(latencies[int(LEGITIMATE * 0.99) - 1], 1.0,
                        latencies)
        self.assertLess(time.monotonic() - opened, 8,
                        'the attack must still be on for the next checks')

        # [api] client_request_timeout (10 s by default) after they
        # connected: an idle connection is closed without a word, a slow
        # one with a 408 fault.
        for sock in idle:
            sock.settimeout(15)
            self.assertEqual(b'', read_all(sock))
        closed = time.monotonic() - opened
        self.assertGreater(closed, 9.5)
        self.assertLess(closed, 13)
        for sock, _ in slow:
            sock.settimeout(5)
            status, headers, body = parse(read_all(sock))
            self.assertEqual(408, status)
            self.assertEqual('The request was not received in time.',
                             json.loads(body)['computeFault']['message'])
            self.assertIn('x-openstack-request-id', headers)
        stop.set()
        # Nothing is left open: SIGTERM does not wait for [api]
        # graceful_timeout (30 s) as it would for a connection in flight.
        started = time.monotonic()
        self.assertEqual(0, self.server.stop())
        self.assertLess(time.monotonic() - started, 15)

    def test_expect_100_continue_gets_one_interim_answer(self):
        body = b'{"interfaceAttachment": {}}'
        with socket.create_connection(('127.0.0.1', self.port), 10) as sock:
            sock.sendall(
                b'POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: '
                b'application/json\r\nExpect: 100-continue\r\nContent-'
                b'Length: %d\r\nConnection: close\r\n\r\n'
                % (SHOW.encode(), TOKEN.encode(), len(body)))
            self.assertEqual(b'HTTP/1.1 100 Continue\r\n\r\n',
                             sock.recv(25))
            sock.sendall(body)
            response = read_all(sock)
        status, _, answer = parse(response)
        self.assertEqual(200, status, response)
        self.assertNotIn(b'100 Continue', response)
        self.assertIn('interfaceAttachment', json.loads(answer))

    def test_pipelined_requests_on_a_kept_alive_connection(self):
        request = ('GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n' % (SHOW, TOKEN))
        last = request.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')
        response = raw(self.port, (request * 2 + last).encode())
        self.assertEqual(3, response.count(b'HTTP/1.1 200 OK'), response)


# (name, raw request, status, fault name, message pattern)
MALFORMED = [
    ('request line too long', 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n'
     % ('a' * 9000), 414, 'computeFault', 'Request Line is too large'),
    ('header too large', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: %s\r\n\r\n'
     % ('a' * 9000), 431, 'computeFault', 'limit request headers'),
    ('too many headers', 'GET / HTTP/1.1\r\nHost: x\r\n%s\r\n'
     % ''.join('X-%d: a\r\n' % i for i in range(120)), 431, 'computeFault',
     'limit request headers fields'),
    ('unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n'
     '\r\n', 417, 'computeFault', 'expectation'),
    ('unknown transfer coding', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' % SHOW,
     400, 'badRequest', 'Unsupported transfer coding'),
    ('chunk size zz', 'POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: '
     'application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n'
     '0\r\n\r\n' % (SHOW, TOKEN), 400, 'badRequest', 'chunked body'),
    ('chunk without its CRLF', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n' % SHOW, 400,
     'badRequest', 'chunked body'),
    ('broken chunked trailer', 'POST %s HTTP/1.1\r\nHost: x\r\n%sContent-'
     'Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}'
     '\r\n0\r\nno colon\r\n\r\n' % (SHOW, TOKEN), 400, 'badRequest',
     "Invalid HTTP Header: 'no colon'"),
    ('chunked body over the size limit', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Transfer-Encoding: chunked\r\n\r\n30000\r\n%s' % (SHOW, 'x' * 1000),
     413, 'overLimit', 'max_request_body_size (114688)'),
    ('Content-Length over the size limit', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     '%sContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{'
     % (SHOW, TOKEN), 413, 'overLimit', 'max_request_body_size (114688)'),
    ('garbage request line', 'GARBAGE\r\n\r\n', 400, 'badRequest',
     'request line'),
    ('unknown HTTP version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 400,
     'badRequest', 'HTTP Version'),
    ('Content-Length and chunked', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
     % SHOW, 400, 'badRequest', 'CONTENT-LENGTH'),
    ('two Content-Lengths', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}' % SHOW, 400,
     'badRequest', 'CONTENT-LENGTH'),
    ('Content-Length not a number', 'POST %s HTTP/1.1\r\nHost: x\r\n'
     'Content-Length: 1x\r\n\r\n{}' % SHOW, 400, 'badRequest',
     'CONTENT-LENGTH'),
    ('obsolete line folding', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n'
     ' b\r\n\r\n', 400, 'badRequest', 'folding'),
    ('bare LF', 'GET / HTTP/1.1\nHost: x\n\n', 400, 'badRequest',
     'bare LF'),
    ('space in a header name', 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: a'
     '\r\n\r\n', 400, 'badRequest', 'Header'),
    ('NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b'
     '\r\n\r\n', 400, 'badRequest', 'Header'),
    ('two Host headers', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
     400, 'badRequest', 'HOST'),
]


class MalformedRequestsTest(ServerTestBase):

    def test_every_framing_error_is_a_json_fault(self):
        for name, request, status, fault, pattern in MALFORMED:
            with self.subTest(name):
                response = raw(self.port, request.encode('latin-1'))
                code, headers, body = parse(response)
                self.assertEqual(status, code, response)
                fault_body = json.loads(body)
                self.assertEqual([fault], list(fault_body))
                self.assertEqual(status, fault_body[fault]['code'])
                self.assertRegex(fault_body[fault]['message'],
                                 '(?i)' + re.escape(pattern))
                self.assertEqual('application/json; charset=UTF-8',
                                 headers['content-type'])
                self.assertRegex(headers['x-openstack-request-id'],
                                 r'^req-[0-9a-f-]{36}$')
                self.assertEqual(headers['x-openstack-request-id'],
                                 headers['x-compute-request-id'])
                self.assertEqual('close', headers['connection'])
        # The service still answers, and logged no traceback.
        self.assertEqual(200, self.get(SHOW)[0])
        self.server.stop()
        with open(self.server.output) as f:
            output = f.read()
        self.assertNotIn('Traceback', output)
        # Each refused before the pipeline is one WARNING line (the size
        # limit of the pipeline answers the announced oversized body).
        self.assertEqual(len(MALFORMED) - 1, output.count(
            '[WARNING] Invalid request from ip=127.0.0.1'), output)

    def test_client_hanging_up_mid_body_is_one_warning(self):
        with socket.create_connection(('127.0.0.1', self.port)) as sock:
            sock.sendall(b'POST %s HTTP/1.1\r\nHost: x\r\n%s'
                         b'Content-Type: application/json\r\n'
                         b'Content-Length: 100\r\n\r\n{"interfa'
                         % (SHOW.encode(), TOKEN.encode()))
        # The service still answers; the hang-up was seen before that.
        self.assertEqual(200, self.get(SHOW)[0])
        # A worker stopped while it boots logs a traceback of its own.
        self.server.workers(expected=2)
        self.server.stop()
        with open(self.server.output) as f:
            output = f.read()
        self.assertEqual(1, output.count('[WARNING]'), output)
        self.assertIn('[WARNING] Client 127.0.0.1 hung up after sending '
                      'part of a request', output)
        self.assertNotIn('Traceback', output, output)
        self.assertNotIn('[ERROR]', output, output)
        with open(self.dir + '/api.log') as f:
            self.assertIsNone(re.search(r'^\S+ \S+ \d+ (ERROR|WARNING) ',
                                        f.read(), re.MULTILINE))

    def test_client_sent_routing_headers_change_nothing(self):
        _, _, plain = self.get(DETAIL)
        for extra in ('SCRIPT_NAME: /zzz\r\n', 'SCRIPT_NAME: /v2.1\r\n',
                      'PATH_INFO: /zzz\r\n', 'X-Forwarded-Proto: https\r\n',
                      'X-Forwarded-Host: evil.example\r\n'
                      'X-Forwarded-Prefix: /zzz\r\n'):
            with self.subTest(extra):
                status, _, body = self.get(DETAIL, extra)
                self.assertEqual(200, status)
                self.assertEqual(json.loads(plain), json.loads(body))
        link = json.loads(plain)['servers'][0]['links'][0]['href']
        self.assertTrue(link.startswith('http://127.0.0.1:%d/v2.1/'
                                        % self.port), link)


class TrustedProxyTest(ServerTestBase):
    """An operator's opt-in: a proxy on 127.0.0.1 mounts us under /compute."""

    sections = {'api': {'forwarded_allow_ips': '127.0.0.1'}}

    def test_a_trusted_proxy_sets_the_prefix_and_the_scheme(self):
        status, _, body = self.get(
            '/compute' + DETAIL,
            'SCRIPT_NAME: /compute\r\nX-Forwarded-Proto: https\r\n')
        self.assertEqual(200, status, body)
        link = json.loads(body)['servers'][0]['links'][0]['href']
        self.assertTrue(link.startswith('https://127.0.0.1:%d/compute/v2.1/'
                                        % self.port), link)
        # A path outside the proxy's prefix is the proxy's mistake, a 400.
        status, _, body = self.get(DETAIL, 'SCRIPT_NAME: /compute\r\n')
        self.assertEqual(400, status)
        self.assertIn('SCRIPT_NAME', json.loads(body)['badRequest'][
            'message'])

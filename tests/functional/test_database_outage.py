"""A database outage: 503 within a bounded time, then service resumes.

The service reaches MariaDB or PostgreSQL through a TCP proxy that the
test cuts (every connection reset, new ones refused) and restores, with
no restart of the service in between.
"""

import time

import sqlalchemy as sa

from interface_attach import checker
from tests import databases
from tests import fixtures as ia_fixtures
from tests.functional import base as functional
from tests import tcp_proxy

# The longest a request may take to fail while the database is down.
BOUND = 15


class DatabaseOutageTest(functional.FunctionalTestCase):

    backend = 'postgresql'

    def setUp(self):
        super().setUp()
        url = sa.engine.make_url(databases.database_url(self.backend))
        self.proxy = self.useFixture(tcp_proxy.TcpProxy(url.host, url.port))
        proxied = url.set(host='127.0.0.1', port=self.proxy.port)
        self.start_service_on(
            proxied.render_as_string(hide_password=False))

    def start_service_on(self, connection):
        self.service = self.useFixture(ia_fixtures.ServiceFixture(
            backend=self.backend, connection=connection))
        self.app = self.service.app
        self.servers = self.service.servers
        self.networks = self.service.networks

    def timed(self, call):
        started = time.monotonic()
        response = call()
        return response, time.monotonic() - started

    def test_requests_fail_fast_with_503_then_resume(self):
        w = self.make_world()
        response = self.attach(w.server, {'interfaceAttachment': {
            'port_id': w.port}})
        self.assertEqual(200, response.status_int, response.text)

        self.proxy.cut()
        for _ in range(3):
            response, took = self.timed(lambda: self.attach(
                w.server, {'interfaceAttachment': {}}))
            self.assertFault(response, 503, 'The database service is '
                             'unavailable. Please try again later.')
            self.assertEqual('5', response.headers['Retry-After'])
            self.assertRequestIds(response)
            self.assertLess(took, BOUND)

        self.proxy.restore()
        response = self.attach(w.server, {'interfaceAttachment': {}},
                               token=functional.admin())
        # The network of the first attach: a 400, from a working service.
        self.assertEqual(400, response.status_int, response.text)
        self.assertEqual([], checker.check(self.service.database, False,
                                           300))


class DatabaseOutageMySQLTest(DatabaseOutageTest):
    backend = 'mysql'

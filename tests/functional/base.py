"""Helpers of the functional tests: a service per test, requests, faults.

Every request goes through the app loaded from the shipped api-paste.ini
(``tests.fixtures.ServiceFixture``). Noauth tokens name the caller:
``<user>:<project>[:<roles>]``.
"""

import json
import re
import uuid

import fixtures
from oslotest import base
import sqlalchemy as sa
import webob

from interface_attach.db import tables
from tests import fixtures as ia_fixtures

# Keystone-style project ids, as in the spec's examples.
PROJECT = 'e4ee5a9bdf934e35b62c8b995152feee'
OTHER_PROJECT = 'ad355aa6ed3e4cf5ae0fa0df652bc291'

REQUEST_ID = re.compile(
    r'^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-'
    r'[0-9a-f]{12}$')

FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    500: 'computeFault',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}

# Words that would betray a traceback or an internal class name.
TRACEBACK_MARKERS = ('Traceback', 'File "', 'RuntimeError', 'Exception',
                     'interface_attach.', '.py')


def token(project=PROJECT, user='alice', roles=None):
    """A noauth token; no roles means a member of ``project``."""
    if roles is None:
        return '%s:%s' % (user, project)
    return '%s:%s:%s' % (user, project, roles)


def member(project=PROJECT):
    return token(project)


def admin(project=PROJECT):
    return token(project, user='root', roles='admin')


def interfaces_url(server_id, project_id=PROJECT):
    return '/v2/%s/servers/%s/os-interface' % (project_id, server_id)


class World:
    """The objects a test works on; attributes name ids for messages."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)

    def fill(self, value):
        """``value`` with every '{name}' replaced by this world's ids."""
        if isinstance(value, str):
            return value.format(**self.__dict__)
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


class FunctionalTestCase(base.BaseTestCase):
    """A service loaded from the shipped paste file, one per test."""

    #: Configuration options of the service, {'section': {'opt': value}}.
    options = None
    #: (filename, text) of a policy file.
    policy = None
    #: The paste pipeline to load.
    pipeline = 'interface_attach_noauth'
    #: None (SQLite), or 'mysql' / 'postgresql' (tests.databases).
    backend = None

    def setUp(self):
        super().setUp()
        self.service = None

    def start_service(self, options=None, policy=None, pipeline=None):
        """Start the service (config file, database, paste app)."""
        merged = {}
        for source in (self.options or {}, options or {}):
            for section, values in source.items():
                merged.setdefault(section, {}).update(values)
        self.service = self.useFixture(ia_fixtures.ServiceFixture(
            options=merged, policy=policy or self.policy,
            pipeline=pipeline or self.pipeline, backend=self.backend))
        self.app = self.service.app
        self.servers = self.service.servers
        self.networks = self.service.networks
        return self.service

    def make_world(self):
        """The usual scene, started service included.

        An active server of PROJECT, one network of PROJECT with an IPv4
        /24 subnet (gateway 10.0.0.1) and a free port on it (10.0.0.2).
        """
        if self.service is None:
            self.start_service()
        server = self.servers.create(PROJECT, 'vm1', user_id='alice')
        net = self.networks.create_network(PROJECT, 'private')
        subnet = self.networks.create_subnet(net.id, '10.0.0.0/24')
        port = self.create_port(PROJECT, net.id)
        return World(project=PROJECT, other_project=OTHER_PROJECT,
                     server=server.id, net=net.id, subnet=subnet.id,
                     port=port.id, missing=str(uuid.uuid4()))

    def create_port(self, project_id, network_id, **kwargs):
        row, _ = self.networks.create_port(project_id, network_id, **kwargs)
        return row

    # Reads straight from the tables, whatever the stores' read API.

    def port_of(self, port_id):
        """(port row, [{'subnet_id', 'ip_address'}]) from the database."""
        ports, ips = tables.ports, tables.ip_allocations
        with self.service.database.reader() as conn:
            row = conn.execute(
                sa.select(ports).where(ports.c.id == port_id)).one()
            fixed_ips = conn.execute(
                sa.select(ips.c.ip_address, ips.c.subnet_id)
                .select_from(ips.join(tables.subnets))
                .where(ips.c.port_id == port_id)
                .order_by(tables.subnets.c.ip_version,
                          tables.subnets.c.created_at)).all()
        return row, [dict(ip._mapping) for ip in fixed_ips]

    def ports_bound_to(self, server_id):
        """Ids of the ports whose device_id is ``server_id``."""
        ports = tables.ports
        with self.service.database.reader() as conn:
            return sorted(conn.execute(sa.select(ports.c.id).where(
                ports.c.device_id == server_id)).scalars())

    # Requests

    def attach(self, server_id, body=None, token=None, project_id=PROJECT,
               raw=None, content_type='application/json', headers=None):
        """POST the os-interface collection; the webtest response.

        ``body`` is sent as JSON; ``raw`` (bytes) is sent as is.
        """
        all_headers = {'X-Auth-Token': member() if token is None else token,
                       'Accept': 'application/json'}
        all_headers.update(headers or {})
        if token is False:
            del all_headers['X-Auth-Token']
        if raw is None:
            raw = b'' if body is None else json.dumps(body).encode('utf-8')
        return self.app.post(interfaces_url(server_id, project_id),
                             params=raw, headers=all_headers,
                             content_type=content_type if raw else None,
                             expect_errors=True)

    # Assertions

    def assertFault(self, response, status, message):
        """A Nova fault body: {"<name>": {"code": status, "message": ...}}."""
        self.assertEqual(
            (status, {FAULT_NAMES[status]: {'code': status,
                                            'message': message}}),
            (response.status_int, response.json),
            response.text)
        self.assertEqual('application/json', response.content_type)
        self.assertNoTraceback(response)

    def assertNoTraceback(self, response):
        for marker in TRACEBACK_MARKERS:
            self.assertNotIn(marker, response.text)

    def assertRequestIds(self, response):
        """Both request-id headers, equal, ``req-<uuid4>``."""
        compute = response.headers.get('x-compute-request-id')
        openstack = response.headers.get('x-openstack-request-id')
        self.assertIsNotNone(compute, response.headers)
        self.assertEqual(compute, openstack)
        self.assertRegex(compute, REQUEST_ID)

    # Store snapshots

    def snapshot(self):
        """Every row of every table, without ``updated_at``.

        ``updated_at`` is left out: releasing a claimed port is a real
        write and may stamp it, while every column that means something
        (binding, status, addresses, attachments) must be as before.
        """
        result = {}
        with self.service.database.reader() as conn:
            for table in tables.metadata.sorted_tables:
                columns = [c for c in table.c if c.name != 'updated_at']
                rows = conn.execute(sa.select(*columns)).all()
                result[table.name] = sorted(
                    (tuple(str(v) for v in row) for row in rows))
        return result

    def patch_after(self, cls, method, exception=None):
        """Make ``cls.method`` do its work, then raise (a driver failure)."""
        original = getattr(cls, method)
        exception = exception or RuntimeError('driver exploded')

        def failing(*args, **kwargs):
            original(*args, **kwargs)
            raise exception
        self.useFixture(fixtures.MockPatchObject(cls, method, failing))


class Case:
    """One row of a behaviour table: a request and its expected fault.

    Strings in ``body``, ``message``, ``server``, ``project`` and ``token``
    may name world ids, e.g. ``'Instance {server} is locked'``.
    ``arrange(test, world)`` prepares the scene before the request; a
    ``token`` of None sends no token; ``body`` None sends an empty body;
    ``options`` configure the service of that row.
    """

    def __init__(self, name, status, message, body=None, arrange=None,
                 token='alice:{project}', server='{server}',
                 project='{project}', raw=None,
                 content_type='application/json', options=None):
        self.name = name
        self.status = status
        self.message = message
        self.body = body
        self.arrange = arrange
        self.token = token
        self.server = server
        self.project = project
        self.raw = raw
        self.content_type = content_type
        self.options = options


def slug(text):
    return re.sub(r'[^0-9a-z]+', '_', text.lower()).strip('_')


def add_row_tests(cls, rows, make_test):
    """One test method per row, ``test_<status>_<row name>``."""
    for row in rows:
        name = 'test_%d_%s' % (row.status, slug(row.name))
        if hasattr(cls, name):
            raise ValueError('Duplicate row name: %s' % name)
        test = make_test(row)
        test.__name__ = name
        test.__doc__ = '%d: %s' % (row.status, row.name)
        setattr(cls, name, test)
    return cls


def fault_table(cases):
    """Class decorator: one test method per Case, named after the row.

    Each row asserts status, fault name and exact message, the request
    ids, and that the store is exactly as before the request.
    """
    def decorate(cls):
        return add_row_tests(cls, cases, _row_test)
    return decorate


def _row_test(case):
    def test(self):
        self.start_service(options=case.options)
        world = self.make_world()
        if case.arrange is not None:
            case.arrange(self, world)
        before = self.snapshot()
        raw = case.raw.encode('utf-8') if isinstance(case.raw, str) \
            else case.raw
        response = self.attach(
            world.fill(case.server), body=world.fill(case.body),
            token=world.fill(case.token) if case.token else False,
            project_id=world.fill(case.project), raw=raw,
            content_type=case.content_type)
        self.assertFault(response, case.status, world.fill(case.message))
        self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())
    return test


# Requests on any surface: /v2/{project_id}, /v2.1/{project_id}, /v2.1.

def surface_prefix(surface, project_id=PROJECT):
    """The URL prefix of ``surface``: 'v2', 'v2.1/project' or 'v2.1'."""
    return {'v2': '/v2/%s' % project_id,
            'v2.1/project': '/v2.1/%s' % project_id,
            'v2.1': '/v2.1'}[surface]


def resource_url(prefix, server_id, port_id=None):
    """The os-interface collection, or one of its members, under prefix."""
    url = '%s/servers/%s/os-interface' % (prefix, server_id)
    return url if port_id is None else '%s/%s' % (url, port_id)


def send(test, method, url, token=None, body=None, raw=None,
         content_type='application/json', headers=None):
    """Any request through ``test.app``; the webtest response.

    ``token`` None is a member of PROJECT, False sends no token. ``body``
    is sent as JSON, ``raw`` (bytes) as is; ``content_type`` None sends no
    Content-Type header at all.
    """
    all_headers = {'Accept': 'application/json'}
    if token is not False:
        all_headers['X-Auth-Token'] = member() if token is None else token
    if raw is None and body is not None:
        raw = json.dumps(body).encode('utf-8')
    if raw and content_type is not None:
        all_headers['Content-Type'] = content_type
    all_headers.update(headers or {})
    req = webob.Request.blank(url, method=method, headers=all_headers)
    if raw:
        req.body = raw
    if 'Content-Type' not in all_headers:
        req.environ.pop('CONTENT_TYPE', None)
    return test.app.request(req, expect_errors=True)

"""The paste pipeline around the handlers.

Request ids, the fault wrapper, the body size limit, routing (404 and 405
as JSON faults), noauth and keystonemiddleware authentication, and the
paste filter that serves os-interface in front of another application.
"""

import datetime
import io
import json
import logging
import os

import fixtures
from keystonemiddleware import fixture as ks_fixture
from oslo_utils import timeutils
from paste.deploy import loadapp
import sqlalchemy.exc
import webob
import webtest

from interface_attach import compute
from interface_attach.db import servers
from interface_attach.network import local
from interface_attach import policy
from tests import api_process
from tests.functional import base

SERVER_ERROR = ('The server has either erred or is incapable of performing '
                'the requested operation.')
NOT_FOUND = 'The resource could not be found.'
UNAUTHORIZED = 'The request you have made requires authentication.'
KEYSTONE_URI = 'https://keystone.example.com/identity'


def port_body(port_id):
    return {'interfaceAttachment': {'port_id': port_id}}


class TestRequestIds(base.FunctionalTestCase):
    """x-compute-request-id = x-openstack-request-id = req-<uuid4>."""

    def _check(self, response, status):
        self.assertEqual(status, response.status_int, response.text)
        self.assertRequestIds(response)

    def test_on_success(self):
        w = self.make_world()
        self._check(self.attach(w.server, port_body(w.port)), 200)

    def test_on_400(self):
        w = self.make_world()
        self._check(self.attach(w.server, raw=b'{'), 400)

    def test_on_401(self):
        w = self.make_world()
        self._check(self.attach(w.server, port_body(w.port), token=False),
                    401)

    def test_on_404_missing_server(self):
        w = self.make_world()
        self._check(self.attach(w.missing, port_body(w.port)), 404)

    def test_on_404_unknown_url(self):
        self.start_service()
        self._check(self.app.get('/nowhere', headers={
            'X-Auth-Token': base.member()}, expect_errors=True), 404)

    def test_on_405(self):
        w = self.make_world()
        self._check(self.app.put(base.interfaces_url(w.server), headers={
            'X-Auth-Token': base.member()}, expect_errors=True), 405)

    def test_on_409(self):
        w = self.make_world()
        self.servers.set_locked(w.server, True)
        self._check(self.attach(w.server, port_body(w.port)), 409)

    def test_on_413(self):
        w = self.make_world()
        self._check(self.attach(w.server, raw=b' ' * 200000), 413)

    def test_on_500_attach_failed(self):
        w = self.make_world()
        self._check(self.attach(w.server, port_body(w.missing)), 500)

    def test_on_500_unexpected_exception(self):
        w = self.make_world()
        self.useFixture(fixtures.MockPatchObject(
            compute.ComputeService, 'get_server',
            side_effect=RuntimeError('boom')))
        self._check(self.attach(w.server, port_body(w.port)), 500)

    def test_each_request_gets_its_own_id(self):
        w = self.make_world()
        ids = {self.attach(w.server, raw=b'{').headers[
            'x-compute-request-id'] for _ in range(3)}
        self.assertEqual(3, len(ids))


class TestFaultWrapper(base.FunctionalTestCase):
    """An unexpected exception is a 500 computeFault, no traceback."""

    def _unexpected(self, cls, method, error):
        w = self.make_world()
        self.useFixture(fixtures.MockPatchObject(
            cls, method, side_effect=error))
        before = self.snapshot()
        response = self.attach(w.server, port_body(w.port))
        self.assertFault(response, 500, SERVER_ERROR)
        self.assertNotIn('secret', response.text)
        self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())

    def test_exception_in_the_compute_service(self):
        self._unexpected(compute.ComputeService, 'get_server',
                         RuntimeError('secret detail'))

    def test_exception_in_attach(self):
        self._unexpected(compute.ComputeService, 'attach_interface',
                         KeyError('secret detail'))

    def test_exception_in_the_policy(self):
        self._unexpected(policy.Policy, 'authorize',
                         ValueError('secret detail'))

    def test_database_error(self):
        self._unexpected(servers.ServerStore, 'get',
                         sqlalchemy.exc.OperationalError(
                             'SELECT secret', {}, Exception('secret')))

    def test_driver_exception_is_attach_failed_without_detail(self):
        w = self.make_world()
        self.useFixture(fixtures.MockPatchObject(
            local.LocalDriver, 'get_port',
            side_effect=RuntimeError('secret detail')))
        response = self.attach(w.server, port_body(w.port))
        self.assertFault(response, 500, 'Failed to attach interface')
        self.assertNotIn('secret', response.text)


class _HangingUpInput(io.BytesIO):
    """A server's wsgi.input once its client hung up, as uwsgi's says."""

    def read(self, size=-1):
        raise OSError('error waiting for wsgi.input data')


class TestClientHangsUp(base.FunctionalTestCase):
    """A body cut short by its client: one WARNING line, no traceback.

    However the server says so: a body shorter than its Content-Length,
    or an error reading it (gunicorn's NoMoreData, uwsgi's OSError). The
    400 is never read, the client having gone.
    """

    def _post(self, body_file, length):
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='interface_attach', level=logging.WARNING))
        w = self.make_world()
        request = webob.Request.blank(
            base.interfaces_url(w.server), method='POST',
            headers={'X-Auth-Token': base.member(),
                     'Content-Type': 'application/json',
                     'Accept': 'application/json'})
        request.body_file = body_file
        request.content_length = length
        before = self.snapshot()
        response = request.get_response(self.service.wsgi_app)
        self.assertFault(response, 400,
                         'The request body was not received whole.')
        self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())
        lines = self.logger.output.splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertRegex(lines[0], r'^The client of POST /v2/\S+ sent part '
                                   r'of the body only: ')
        return lines[0]

    def test_body_shorter_than_its_length(self):
        line = self._post(io.BytesIO(b'{"interfa'), 100)
        self.assertIn('91 more bytes were expected', line)

    def test_error_reading_the_body(self):
        line = self._post(_HangingUpInput(b'{"interfa'), 100)
        self.assertIn('error waiting for wsgi.input data', line)


class TestSizeLimit(base.FunctionalTestCase):
    """Bodies over [oslo_middleware] max_request_body_size: 413."""

    def _padded(self, port_id, size):
        body = json.dumps(port_body(port_id)).encode('utf-8')
        return body + b' ' * (size - len(body))

    def test_default_limit(self):
        w = self.make_world()
        response = self.attach(w.server, raw=self._padded(w.port, 114689))
        self.assertFault(response, 413, 'Request is too large. Larger than '
                                        'max_request_body_size (114688).')
        self.assertRequestIds(response)

    def test_configured_limit(self):
        self.start_service(
            options={'oslo_middleware': {'max_request_body_size': '1024'}})
        w = self.make_world()
        response = self.attach(w.server, raw=self._padded(w.port, 1025))
        self.assertFault(response, 413, 'Request is too large. Larger than '
                                        'max_request_body_size (1024).')
        response = self.attach(w.server, raw=self._padded(w.port, 1024))
        self.assertEqual(200, response.status_int, response.text)

    def test_limit_applies_before_authentication(self):
        w = self.make_world()
        response = self.attach(w.server, raw=b' ' * 200000, token=False)
        self.assertFault(response, 413, 'Request is too large. Larger than '
                                        'max_request_body_size (114688).')

    def _chunked(self, body):
        request = webob.Request.blank(
            base.interfaces_url(self.world.server), method='POST',
            headers={'X-Auth-Token': base.member(),
                     'Content-Type': 'application/json',
                     'Accept': 'application/json',
                     'Transfer-Encoding': 'chunked'})
        request.body_file = io.BytesIO(body)
        request.environ.pop('CONTENT_LENGTH', None)
        return request.get_response(self.service.wsgi_app)

    def test_chunked_body_over_the_limit(self):
        self.world = self.make_world()
        response = self._chunked(self._padded(self.world.port, 200000))
        self.assertEqual(413, response.status_int)
        self.assertEqual(
            {'overLimit': {'code': 413,
                           'message': 'Request is too large. Larger than '
                                      'max_request_body_size (114688).'}},
            response.json)

    def test_chunked_body_within_the_limit(self):
        self.world = self.make_world()
        response = self._chunked(self._padded(self.world.port, 2000))
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(self.world.port,
                         response.json['interfaceAttachment']['port_id'])


class TestRouting(base.FunctionalTestCase):
    """Unknown URLs: 404 itemNotFound; other methods: 405 badMethod."""

    def _request(self, method, path, token=True):
        headers = {'Accept': 'application/json'}
        if token:
            headers['X-Auth-Token'] = base.member()
        return self.app.request(path, method=method, headers=headers,
                                expect_errors=True)

    def test_unknown_urls(self):
        w = self.make_world()
        server = '/v2/%s/servers/%s' % (w.project, w.server)
        for method, path in [
                ('GET', '/nowhere'),
                ('GET', '/v3/%s/servers/%s/os-interface' % (w.project,
                                                            w.server)),
                ('POST', '/v3/%s/servers/%s/os-interface' % (w.project,
                                                             w.server)),
                ('GET', '/v2/%s/flavors' % w.project),
                ('POST', server + '/os-interfaces'),
                ('POST', server + '/os-interface/%s/extra' % w.port),
                ('POST', '/v2/%s/servers/os-interface/extra' % w.project),
                ('POST', '/servers/%s/os-interface' % w.server)]:
            response = self._request(method, path)
            self.assertFault(response, 404, NOT_FOUND)
            self.assertRequestIds(response)
        self.assertEqual([], self.ports_bound_to(w.server))

    def test_unknown_url_needs_authentication_first(self):
        self.start_service()
        self.assertFault(self._request('GET', '/nowhere', token=False), 401,
                         UNAUTHORIZED)

    def test_other_methods_on_the_collection(self):
        """405 badMethod; Allow names the methods there, POST among them."""
        w = self.make_world()
        before = self.snapshot()
        for method in ('PUT', 'DELETE', 'PATCH'):
            response = self._request(method, base.interfaces_url(w.server))
            self.assertFault(
                response, 405,
                'The method %s is not allowed for this resource.' % method)
            allowed = response.headers['Allow'].split(', ')
            self.assertIn('POST', allowed)
            self.assertNotIn(method, allowed)
            self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())


class TestNoAuth(base.FunctionalTestCase):
    """The development pipeline: identity comes from the token only."""

    def test_identity_headers_from_the_client_are_ignored(self):
        w = self.make_world()
        server = self.servers.create(base.OTHER_PROJECT, 'theirs')
        response = self.attach(
            server.id, port_body(w.port), headers={
                'X-Roles': 'admin', 'X-Project-Id': base.OTHER_PROJECT,
                'X-Identity-Status': 'Confirmed'})
        self.assertFault(response, 404,
                         'Instance %s could not be found.' % server.id)

    def test_malformed_token_says_how_to_authenticate(self):
        w = self.make_world()
        response = self.attach(w.server, port_body(w.port), token='nope')
        self.assertFault(response, 401, UNAUTHORIZED)
        self.assertEqual('noauth', response.headers['WWW-Authenticate'])


class TestKeystoneUnreachable(base.FunctionalTestCase):
    """Keystone down: keystonemiddleware's 503, in our shape, says when."""

    pipeline = 'interface_attach'

    def setUp(self):
        # Nothing listens on the port: every validation is refused.
        closed = 'http://127.0.0.1:%d/identity' % api_process.free_port()
        self.options = {
            'api': {'auth_strategy': 'keystone'},
            'keystone_authtoken': {
                'www_authenticate_uri': KEYSTONE_URI,
                'auth_type': 'password', 'auth_url': closed,
                'username': 'ia', 'password': 'secret',
                'project_name': 'service', 'user_domain_id': 'default',
                'project_domain_id': 'default',
                'http_request_max_retries': '0'}}
        super().setUp()
        self.world = self.make_world()

    def test_503_with_retry_after(self):
        response = self.attach(self.world.server, port_body(self.world.port),
                               token='any-token')
        self.assertFault(response, 503,
                         'The server is currently unavailable. Please try '
                         'again at a later time. The Keystone service is '
                         'temporarily unavailable.')
        self.assertEqual('5', response.headers['Retry-After'])
        self.assertRequestIds(response)


class TestKeystone(base.FunctionalTestCase):
    """Pipeline ``interface_attach``: keystonemiddleware auth_token."""

    pipeline = 'interface_attach'
    options = {'api': {'auth_strategy': 'keystone'},
               'keystone_authtoken': {'www_authenticate_uri': KEYSTONE_URI}}

    def setUp(self):
        super().setUp()
        self.tokens = self.useFixture(ks_fixture.AuthTokenFixture())
        self.world = self.make_world()
        self.tokens.add_token_data(
            token_id='good-token', project_id=base.PROJECT,
            user_id='alice', role_list=['member', 'reader'])

    def _unauthorized(self, token, **kwargs):
        before = self.snapshot()
        response = self.attach(self.world.server, port_body(self.world.port),
                               token=token, **kwargs)
        self.assertFault(response, 401, UNAUTHORIZED)
        self.assertEqual('Keystone uri="%s"' % KEYSTONE_URI,
                         response.headers['WWW-Authenticate'])
        self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())

    def test_valid_token(self):
        response = self.attach(self.world.server, port_body(self.world.port),
                               token='good-token')
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(self.world.port,
                         response.json['interfaceAttachment']['port_id'])
        self.assertRequestIds(response)

    def test_bogus_token(self):
        self._unauthorized('bogus-token')

    def test_missing_token(self):
        self._unauthorized(False)

    def test_noauth_token_means_nothing(self):
        self._unauthorized(base.admin())

    def test_expired_token(self):
        self.tokens.add_token_data(
            token_id='old-token', project_id=base.PROJECT, user_id='alice',
            role_list=['member'],
            expires=timeutils.utcnow() - datetime.timedelta(hours=1))
        self._unauthorized('old-token')

    def test_spoofed_identity_headers_do_not_authenticate(self):
        self._unauthorized('bogus-token', headers={
            'X-Identity-Status': 'Confirmed', 'X-Project-Id': base.PROJECT,
            'X-Roles': 'admin'})

    def test_roles_of_the_token_meet_the_policy(self):
        self.tokens.add_token_data(
            token_id='reader-token', project_id=base.PROJECT,
            user_id='rita', role_list=['reader'])
        response = self.attach(self.world.server, port_body(self.world.port),
                               token='reader-token')
        self.assertFault(response, 403,
                         "Policy doesn't allow os_compute_api:os-attach-"
                         "interfaces:create to be performed.")

    def test_url_project_must_be_the_token_project(self):
        response = self.attach(self.world.server, port_body(self.world.port),
                               token='good-token',
                               project_id=base.OTHER_PROJECT)
        self.assertFault(response, 400,
                         "Malformed request URL: URL's project_id '%s' "
                         "doesn't match Context's project_id '%s'"
                         % (base.OTHER_PROJECT, base.PROJECT))


# Filter mode: our filter in front of another application.

DUMMY_BODY = b'dummy says hello'


class DummyApp:
    """The next application: echoes what reached it, in headers."""

    def __call__(self, environ, start_response):
        body = environ['wsgi.input'].read(
            int(environ.get('CONTENT_LENGTH') or 0))
        start_response('202 Accepted', [
            ('Content-Type', 'text/plain'),
            ('X-Dummy', 'yes'),
            ('X-Dummy-Method', environ['REQUEST_METHOD']),
            ('X-Dummy-Script-Name', environ.get('SCRIPT_NAME', '')),
            ('X-Dummy-Path-Info', environ.get('PATH_INFO', '')),
            ('X-Dummy-Query', environ.get('QUERY_STRING', '')),
            ('X-Dummy-Body', body.decode('utf-8')),
            ('Content-Length', str(len(DUMMY_BODY)))])
        return [DUMMY_BODY]


def dummy_app_factory(global_conf, **local_conf):
    return DummyApp()


FILTER_PASTE = '''\
[pipeline:main]
pipeline = request_id faultwrap noauth context interface_attach_filter dummy

[filter:request_id]
paste.filter_factory = interface_attach.api.paste:request_id_filter_factory

[filter:faultwrap]
paste.filter_factory = interface_attach.api.paste:faultwrap_filter_factory

[filter:noauth]
paste.filter_factory = interface_attach.api.paste:noauth_filter_factory

[filter:context]
paste.filter_factory = interface_attach.api.paste:context_filter_factory

[filter:interface_attach_filter]
paste.filter_factory = interface_attach.api.paste:filter_factory

[app:dummy]
paste.app_factory = tests.functional.test_pipeline:dummy_app_factory
'''


class TestFilterMode(base.FunctionalTestCase):
    """paste.filter_factory: os-interface is ours, the rest passes on."""

    def setUp(self):
        super().setUp()
        self.world = self.make_world()
        path = os.path.join(self.service.dir, 'filter-paste.ini')
        with open(path, 'w') as f:
            f.write(FILTER_PASTE)
        self.app = webtest.TestApp(loadapp(
            'config:%s' % path,
            global_conf={'config_file': self.service.config_file}))

    def assertReachedDummy(self, response, method, path, query='', body=''):
        self.assertEqual(202, response.status_int)
        self.assertEqual(DUMMY_BODY, response.body)
        self.assertEqual('text/plain', response.content_type)
        self.assertEqual(
            ('yes', method, '', path, query, body),
            tuple(response.headers[name] for name in (
                'X-Dummy', 'X-Dummy-Method', 'X-Dummy-Script-Name',
                'X-Dummy-Path-Info', 'X-Dummy-Query', 'X-Dummy-Body')))

    def test_os_interface_post_is_handled_by_the_filter(self):
        response = self.attach(self.world.server,
                               port_body(self.world.port))
        self.assertEqual(200, response.status_int, response.text)
        self.assertNotIn('X-Dummy', response.headers)
        self.assertEqual(self.world.port,
                         response.json['interfaceAttachment']['port_id'])
        port, _ = self.port_of(self.world.port)
        self.assertEqual(self.world.server, port.device_id)
        self.assertRequestIds(response)

    def test_os_interface_faults_come_from_the_filter(self):
        response = self.attach(self.world.missing,
                               port_body(self.world.port))
        self.assertFault(response, 404, 'Instance %s could not be found.'
                         % self.world.missing)
        self.assertNotIn('X-Dummy', response.headers)

    def test_os_interface_project_mismatch_in_the_filter(self):
        response = self.attach(self.world.server, port_body(self.world.port),
                               project_id=base.OTHER_PROJECT)
        self.assertFault(response, 400,
                         "Malformed request URL: URL's project_id '%s' "
                         "doesn't match Context's project_id '%s'"
                         % (base.OTHER_PROJECT, base.PROJECT))

    def test_other_paths_reach_the_next_application_untouched(self):
        headers = {'X-Auth-Token': base.member()}
        server_url = '/v2/p/servers/x'
        self.assertReachedDummy(
            self.app.get(server_url, headers=headers), 'GET', server_url)
        self.assertReachedDummy(self.app.get('/', headers=headers),
                                'GET', '/')
        self.assertReachedDummy(
            self.app.get('/v2/p/servers?name=vm1', headers=headers),
            'GET', '/v2/p/servers', query='name=vm1')
        action = '/v2/%s/servers/%s/action' % (base.PROJECT,
                                               self.world.server)
        self.assertReachedDummy(
            self.app.post(action, params=b'{"reboot": {"type": "SOFT"}}',
                          headers=headers, content_type='application/json'),
            'POST', action, body='{"reboot": {"type": "SOFT"}}')

    def test_other_paths_leave_the_store_alone(self):
        before = self.snapshot()
        self.app.post('/v2/%s/servers/%s/os-interfaces' % (
            base.PROJECT, self.world.server),
            params=json.dumps(port_body(self.world.port)),
            headers={'X-Auth-Token': base.member()},
            content_type='application/json')
        self.assertEqual(before, self.snapshot())

    def test_behind_a_url_map_the_version_is_in_script_name(self):
        """As in nova's api-paste.ini, which maps /v2 and /v2.1 so."""
        response = self.app.post(
            '/%s/servers/%s/os-interface' % (base.PROJECT, self.world.server),
            params=json.dumps(port_body(self.world.port)),
            headers={'X-Auth-Token': base.member()},
            content_type='application/json',
            extra_environ={'SCRIPT_NAME': '/v2'})
        self.assertEqual(200, response.status_int, response.text)
        self.assertNotIn('X-Dummy', response.headers)
        response = self.app.get(
            '/servers/%s/os-interface' % self.world.server,
            headers={'X-Auth-Token': base.member(),
                     'OpenStack-API-Version': 'compute 2.70'},
            extra_environ={'SCRIPT_NAME': '/v2.1'})
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual([self.world.port], [
            a['port_id'] for a in response.json['interfaceAttachments']])
        self.assertEqual('compute 2.70',
                         response.headers['OpenStack-API-Version'])


FILTER_BEHIND_AUTHTOKEN_PASTE = '''\
[pipeline:main]
pipeline = request_id faultwrap interface_attach_filter dummy

[filter:request_id]
paste.filter_factory = interface_attach.api.paste:request_id_filter_factory

[filter:faultwrap]
paste.filter_factory = interface_attach.api.paste:faultwrap_filter_factory

[filter:interface_attach_filter]
paste.filter_factory = interface_attach.api.paste:filter_factory

[app:dummy]
paste.app_factory = tests.functional.test_pipeline:dummy_app_factory
'''


class TestFilterBehindAuthtoken(base.FunctionalTestCase):
    """Identity headers as authtoken leaves them, with no context filter.

    With ``delay_auth_decision`` authtoken passes invalid tokens on.
    """

    def setUp(self):
        super().setUp()
        self.world = self.make_world()
        path = os.path.join(self.service.dir, 'filter-paste.ini')
        with open(path, 'w') as f:
            f.write(FILTER_BEHIND_AUTHTOKEN_PASTE)
        self.app = webtest.TestApp(loadapp(
            'config:%s' % path,
            global_conf={'config_file': self.service.config_file}))

    def attach_as(self, identity_status):
        headers = {'X-Project-Id': base.PROJECT, 'X-User-Id': 'alice',
                   'X-Roles': 'member,reader'}
        if identity_status is not None:
            headers['X-Identity-Status'] = identity_status
        return self.attach(self.world.server, port_body(self.world.port),
                           token=False, headers=headers)

    def test_an_identity_not_confirmed_is_401(self):
        for status in ('Invalid', 'invalid', '', None):
            before = self.snapshot()
            self.assertFault(self.attach_as(status), 401, UNAUTHORIZED)
            self.assertEqual(before, self.snapshot())

    def test_a_confirmed_identity_attaches(self):
        response = self.attach_as('Confirmed')
        self.assertEqual(200, response.status_int, response.text)

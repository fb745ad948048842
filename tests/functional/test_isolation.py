"""Isolation: no spoofed identity, no development auth by accident, and
no secret or token in the logs."""

import os

import fixtures
from oslotest import base
from paste.deploy import loadapp

from interface_attach.api import paste
from interface_attach import demo
from tests import api_process
from tests import fixtures as ia_fixtures

SECRET = 's3cret-Passw0rd'


class NoauthNeedsConsentTest(base.BaseTestCase):

    def test_noauth_pipeline_refuses_to_load_with_keystone_strategy(self):
        service = self.useFixture(ia_fixtures.ServiceFixture(
            options={'api': {'auth_strategy': 'keystone'}},
            pipeline='interface_attach'))
        paste._confs.clear()
        error = self.assertRaises(
            ValueError, loadapp, 'config:%s' % ia_fixtures.API_PASTE,
            name='interface_attach_noauth',
            global_conf={'config_file': service.config_file})
        self.assertIn('auth_strategy = noauth', str(error))


class SecretsNeverLoggedTest(base.BaseTestCase):

    def test_keystone_password_and_tokens_stay_out_of_the_log(self):
        directory = self.useFixture(fixtures.TempDir()).path
        port = api_process.free_port()
        sections = api_process.dev_sections(directory, port)
        sections['api']['auth_strategy'] = 'keystone'
        sections['keystone_authtoken'] = {
            'auth_type': 'password',
            # Nothing listens there: every token check fails.
            'auth_url': 'http://127.0.0.1:%d/v3' % api_process.free_port(),
            'www_authenticate_uri': 'http://127.0.0.1:5000/v3',
            'username': 'interface-attach', 'password': SECRET,
            'project_name': 'service', 'user_domain_id': 'default',
            'project_domain_id': 'default', 'http_connect_timeout': '2'}
        config = api_process.write_config(directory, sections)
        server = self.useFixture(api_process.ApiProcess(config, port))

        token = 'gAAAAABsecret-token-%s' % SECRET[::-1]
        status, _, body = api_process.request(
            port, 'GET', '/v2.1/servers/%s/os-interface' % demo.SERVER_ID,
            token=token)
        self.assertIn(status, (401, 503), body)
        server.stop()

        with open(os.path.join(directory, 'api.log')) as f:
            log = f.read()
        self.assertIn('keystone_authtoken.password', log)
        self.assertNotIn(SECRET, log)
        self.assertNotIn(token, log)
        with open(server.output) as f:
            self.assertNotIn(SECRET, f.read())


class NoauthStripsIdentityTest(base.BaseTestCase):

    def test_client_sent_identity_headers_never_reach_the_app(self):
        from interface_attach.middleware import noauth
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            start_response('200 OK', [])
            return [b'']
        environ = {'HTTP_X_AUTH_TOKEN': 'alice:p1',
                   'HTTP_OPENSTACK_SYSTEM_SCOPE': 'all',
                   'HTTP_X_ROLES': 'admin',
                   'HTTP_X_IS_ADMIN_PROJECT': 'True'}
        noauth.NoAuth(app)(environ, lambda *args: None)
        self.assertNotIn('HTTP_OPENSTACK_SYSTEM_SCOPE', seen)
        self.assertNotIn('HTTP_X_IS_ADMIN_PROJECT', seen)
        self.assertEqual('member,reader', seen['HTTP_X_ROLES'])

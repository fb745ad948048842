"""tempest's own attach-interface tests through both nova-api services.

``tempest.api.compute.servers.test_attach_interfaces`` (tempest 47) runs,
unchanged, as a ``python -m subunit.run`` process, once against the
nova-api with the interface-attach filter (region ``RegionOne`` of the
catalog) and once against stock nova-api (``RegionTwo``), side by side on
the shared Keystone-mode ``NovaCloud``. Its configuration:

* ``[validation] run_validation = true``: otherwise every class skips.
  The guest of a fake virt driver cannot be reached, so ``sitecustomize``
  in ``tempest_site`` stubs tempest's two SSH steps and nothing else;
  the key pair, the security group and the floating IP (on the external
  network ``public`` this module creates) are real;
* dynamic credentials with ``create_isolated_networks = true`` (each
  test class gets a project, a network, a subnet and a router, which
  needs Neutron's router plugin): the fixed-IP tests need a network owned
  by the test's project, else they skip ("Only owner network supports
  creating interface by fixed ip");
* ``[compute] max_microversion = latest``, for the 2.70 class.

Every test must pass on both; none may skip.
"""

import concurrent.futures
import io
import os
import subprocess
import sys
import time
import unittest

import testtools
from testtools import content

from tests.functional.nova import fixtures as nova_fixtures
from tests.functional.nova import keystone as keystone_fixtures
from tests.functional.peers import fixtures as peer_fixtures

MODULE = 'tempest.api.compute.servers.test_attach_interfaces'
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    'tempest_site')
#: The tests of MODULE in tempest 47.
TESTS = {
    'AttachInterfacesTestJSON.'
    'test_create_list_show_delete_interfaces_by_network_port',
    'AttachInterfacesTestJSON.'
    'test_create_list_show_delete_interfaces_by_fixed_ip',
    'AttachInterfacesTestJSON.test_reassign_port_between_servers',
    'AttachInterfacesUnderV243Test.test_add_remove_fixed_ip',
    'AttachInterfacesV270Test.test_create_get_list_interfaces',
}
RUN_TIMEOUT = 600


def parse_subunit(stream):
    """{test id: (status, seconds, reason or traceback)} of a subunit v2.

    A class fixture that fails or skips is a test of its own
    (``setUpClass (tempest....Class)``).
    """
    import subunit

    results = {}

    def on_test(test):
        details = test['details']
        text = ''.join(detail.as_text() for name, detail in details.items()
                       if name in ('reason', 'traceback'))
        start, stop = (test['timestamps'] + [None, None])[:2]
        seconds = (round((stop - start).total_seconds(), 1)
                   if start and stop else None)
        results[test['id']] = (test['status'], seconds, text)

    summary = testtools.StreamToDict(on_test)
    summary.startTestRun()
    subunit.ByteStreamToStreamResult(
        io.BytesIO(stream), non_subunit_name='stdout').run(summary)
    summary.stopTestRun()
    return results


class NovaTempestTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if peer_fixtures.missing_packages('tempest'):
            raise unittest.SkipTest('tempest is not installed: pip install '
                                    'tempest to run its tests on Nova')
        cls.cloud = nova_fixtures.KEYSTONE_CLOUD.acquire()
        cls.addClassCleanup(nova_fixtures.KEYSTONE_CLOUD.release)
        cls.public = cls.external_network()
        # Both runs at once: each spends most of its 2.5 minutes waiting
        # on Nova and Neutron.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            runs = {api: pool.submit(cls.run_tempest, api)
                    for api in cls.cloud.APIS}
            cls.runs = {api: run.result() for api, run in runs.items()}

    @classmethod
    def external_network(cls):
        """``public``: router:external, for routers and floating IPs."""
        neutron = cls.cloud.neutron
        name = peer_fixtures.unique('public')
        network = neutron.call('POST', '/v2.0/networks', {'network': {
            'name': name, 'router:external': True}})['network']
        neutron.call('POST', '/v2.0/subnets', {'subnet': {
            'network_id': network['id'], 'cidr': '172.24.4.0/24',
            'ip_version': 4}})
        cls.addClassCleanup(neutron.delete_network, network['id'])
        return network

    @classmethod
    def tempest_conf(cls, api, directory):
        cloud = cls.cloud
        keystone = cloud.keystone
        region = keystone_fixtures.REGIONS[api]
        return nova_fixtures._write_ini(
            os.path.join(directory, 'tempest.conf'), {
                'DEFAULT': {'log_file': os.path.join(directory,
                                                     'tempest.log')},
                'oslo_concurrency': {'lock_path': directory},
                'auth': {
                    'use_dynamic_credentials': 'true',
                    'create_isolated_networks': 'true',
                    'admin_username': 'admin',
                    'admin_password': keystone.keystone.admin_password,
                    'admin_project_name': 'admin',
                    'admin_domain_name': keystone_fixtures.DOMAIN,
                    'default_credentials_domain_name':
                        keystone_fixtures.DOMAIN,
                },
                'identity': {'uri_v3': keystone.auth_url,
                             'auth_version': 'v3', 'region': region,
                             'v3_endpoint_type': 'public'},
                'compute': {'image_ref': cloud.image_id,
                            'flavor_ref': cloud.flavor_id,
                            'region': region, 'endpoint_type': 'publicURL',
                            'max_microversion': 'latest',
                            'build_timeout': '120', 'build_interval': '1'},
                'compute-feature-enabled': {'interface_attach': 'true'},
                'network': {'region': region, 'endpoint_type': 'publicURL',
                            'public_network_id': cls.public['id'],
                            'floating_network_name': cls.public['name'],
                            'project_network_cidr': '10.180.0.0/16',
                            'build_timeout': '60', 'build_interval': '1'},
                'service_available': {'nova': 'true', 'neutron': 'true',
                                      'glance': 'false', 'cinder': 'false',
                                      'swift': 'false'},
                'validation': {'run_validation': 'true',
                               'connect_method': 'floating',
                               'auth_method': 'keypair',
                               'security_group': 'true',
                               'security_group_rules': 'true'},
            })

    @classmethod
    def run_tempest(cls, api):
        """(seconds, ``parse_subunit``'s results, stderr) of one run."""
        directory = os.path.join(cls.cloud.dir, 'tempest-' + api)
        os.makedirs(directory, exist_ok=True)
        conf = cls.tempest_conf(api, directory)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(TEMPEST_CONFIG_DIR=directory,
                   TEMPEST_CONFIG=os.path.basename(conf), PYTHONPATH=SITE)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, '-m', 'subunit.run', MODULE], cwd=directory,
            env=env, capture_output=True, timeout=RUN_TIMEOUT)
        elapsed = round(time.monotonic() - started, 1)
        cls.cloud.timings['tempest ' + api] = elapsed
        return (elapsed, parse_subunit(result.stdout),
                result.stderr.decode('utf-8', 'replace')[-5000:])

    def setUp(self):
        super().setUp()
        self.addOnException(lambda exc_info: self.addDetail(
            'nova-cloud-logs', content.text_content(self.cloud.logs(4000))))

    def outcome(self, api):
        """{test: status} of the run of ``api``, class fixtures included.

        A test is named without its module and tags.
        """
        elapsed, results, stderr = self.runs[api]
        self.addDetail('tempest-%s' % api, content.text_content(
            '%s s\n%s\n%s' % (elapsed, '\n'.join(
                '%s %s s %s %s' % (status, seconds, test, text[-3000:])
                for test, (status, seconds, text) in sorted(
                    results.items())), stderr)))
        prefix = MODULE + '.'
        return {test[len(prefix):].split('[')[0]
                if test.startswith(prefix) else test: status
                for test, (status, _, _) in results.items()}

    def test_all_pass_through_the_filter(self):
        self.assertEqual(dict.fromkeys(TESTS, 'success'),
                         self.outcome('filtered'))

    def test_all_pass_through_stock_nova_api(self):
        self.assertEqual(dict.fromkeys(TESTS, 'success'),
                         self.outcome('stock'))

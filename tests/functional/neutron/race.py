"""The race: many concurrent attaches of one free Neutron port.

Two interface-attach-api processes (two workers each, as two hosts would
run them) share one MariaDB database and one Neutron. Every request
attaches the same free port to a different server at the same moment:
exactly one wins, every other is told the port is in use, and Neutron
shows the port bound to the winner only.

Why one database: Neutron's If-Match is checked before its transaction
writes, so concurrent updates carrying the same revision may all succeed
(seen with neutron 29.0.0 on MariaDB: six concurrent PUTs with one
``If-Match: revision_number=1``, six 200s). What makes the claim atomic is
the attachments table every worker of a deployment shares; the driver's
If-Match and read-back still catch a port changed by someone else since
it was read (see CompareAndSwapTests).
"""

import concurrent.futures
import json
import os
import threading
import uuid

from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import servers
from tests import api_process
from tests.functional.neutron import fixtures as neutron_fixtures

APIS = 2
SERVERS_PER_API = 4
ROUNDS = 3


def create_servers(url, project, count):
    """Migrate the database at ``url`` and create ``count`` servers."""
    conf = ia_conf.new_conf(config_files=[])
    conf.set_override('connection', url, group='database')
    database = engine.Database(conf.database)
    try:
        migration.db_sync(database)
        store = servers.ServerStore(database)
        return [store.create(project, 'vm%d' % i, host='compute1').id
                for i in range(count)]
    finally:
        database.dispose()


def start_api(test, directory, database_url, neutron_url):
    """interface-attach-api on 127.0.0.1, two workers; its port."""
    port = api_process.free_port()
    config = api_process.write_config(directory, {
        'DEFAULT': {'log_file': os.path.join(directory, 'api.log'),
                    'debug': 'false'},
        'api': {'bind_host': '127.0.0.1', 'bind_port': str(port),
                'workers': '2', 'auth_strategy': 'noauth'},
        'database': {'connection': database_url},
        'network': {'driver': 'neutron'},
        'neutron': {'auth_type': 'none', 'endpoint_override': neutron_url}})
    test.useFixture(api_process.ApiProcess(config, port))
    return port


def call(port, method, path, body=None, token=None):
    status, _, answer = api_process.request(
        port, method, path, body and json.dumps(body), token=token,
        timeout=60)
    return status, answer


class RaceTests:

    def test_concurrent_attaches_of_one_port_have_one_winner(self):
        project = uuid.uuid4().hex
        token = 'alice:%s' % project
        database = self.useFixture(neutron_fixtures.MySQLDatabase('ia_api'))
        server_ids = create_servers(database.url, project,
                                    APIS * SERVERS_PER_API)
        apis = []
        for i in range(APIS):
            directory = os.path.join(self.neutron.dir, 'api-%s-%d' % (
                project[:8], i))
            os.makedirs(directory)
            apis.append(start_api(self, directory, database.url,
                                  self.neutron.url))
        network, _ = self.neutron.create_network(project)
        # Servers spread over the two API processes.
        attempts = [(apis[i % APIS], server)
                    for i, server in enumerate(server_ids)]

        for _ in range(ROUNDS):
            port = self.neutron.create_port(project, network['id'])
            barrier = threading.Barrier(len(attempts))

            def attach(api_server, port_id=port['id'], barrier=barrier):
                api, server = api_server
                barrier.wait()
                return call(
                    api, 'POST', '/v2/%s/servers/%s/os-interface'
                    % (project, server),
                    {'interfaceAttachment': {'port_id': port_id}}, token)

            with concurrent.futures.ThreadPoolExecutor(
                    len(attempts)) as pool:
                results = list(pool.map(attach, attempts))

            winners = [attempt for attempt, (status, _) in
                       zip(attempts, results) if status == 200]
            self.assertEqual(1, len(winners), results)
            in_use = {'badRequest': {
                'code': 400,
                'message': 'Port %s is still in use.' % port['id']}}
            self.assertEqual(
                [(400, in_use)] * (len(attempts) - 1),
                [result for result in results if result[0] != 200])
            winner_api, winner = winners[0]
            neutron_port = self.neutron.get_port(port['id'])
            self.assertEqual(
                (winner, 'compute:nova', 'compute1', 'other'),
                (neutron_port['device_id'], neutron_port['device_owner'],
                 neutron_port['binding:host_id'],
                 neutron_port['binding:vif_type']))
            # Only the winner lists the port, in either deployment.
            for api, server in attempts:
                _, body = call(
                    api, 'GET', '/v2/%s/servers/%s/os-interface'
                    % (project, server), token=token)
                listed = [a['port_id'] for a in body['interfaceAttachments']]
                self.assertEqual(
                    port['id'] in listed, server == winner,
                    (server, listed))
            # Free the winner for the next round.
            status, _ = call(
                winner_api, 'DELETE', '/v2/%s/servers/%s/os-interface/%s'
                % (project, winner, port['id']), token=token)
            self.assertEqual(202, status)

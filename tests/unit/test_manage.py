"""Tests of interface-attach-manage, run in-process and as a console script."""

import io
import json
import os
import shutil
import subprocess
import sys

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa
import testtools

from interface_attach.cmd import manage
from interface_attach import conf as ia_conf
from interface_attach.db import attachments
from interface_attach.db import engine
from interface_attach.db import networks
from interface_attach.db import tables
from interface_attach import demo

PREFIX = 'interface-attach-manage: error: '
BAD_UUID = 'not-a-uuid'
MISSING_ID = '11111111-2222-3333-4444-555555555555'


class ManageTestCase(testtools.TestCase):
    """A temporary config file and SQLite database; migrated unless not."""

    migrate = True

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.db_path = os.path.join(self.dir, 'x.sqlite')
        self.config_file = self.write_config(self.db_path)
        if self.migrate:
            self.manage('db', 'sync')

    def write_config(self, db_path, name='interface-attach.conf'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n' % db_path)
        return path

    def run_manage(self, *args, config_file=None):
        """Run main() in-process: (exit code, stdout, stderr)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        argv = ['--config-file', config_file or self.config_file]
        code = manage.main(argv + list(args))
        return code, stdout.getvalue(), stderr.getvalue()

    def manage(self, *args):
        """Run a command expected to succeed; its plain output."""
        code, out, err = self.run_manage(*args)
        self.assertEqual((0, ''), (code, err), out)
        return out

    def manage_json(self, *args):
        """Run a command expected to succeed; its JSON output, parsed."""
        out = self.manage('--format', 'json', *args)
        return json.loads(out) if out else None

    def assertFails(self, args, code, message, config_file=None):
        """Exit ``code``, nothing on stdout, one error line with message."""
        result, out, err = self.run_manage(*args, config_file=config_file)
        self.assertEqual(code, result, err)
        self.assertEqual('', out)
        self.assertNotIn('Traceback', err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith(PREFIX), lines[0])
        self.assertIn(message, lines[0])
        return lines[0]

    def database(self):
        conf = ia_conf.new_conf(config_files=[self.config_file])
        database = engine.Database(conf.database)
        self.addCleanup(database.dispose)
        return database

    def create_network(self, project='p1', cidrs=('10.1.0.0/24',)):
        network = self.manage_json('network', 'create', '--project',
                                   project, '--name', 'net')
        for cidr in cidrs:
            self.manage_json('subnet', 'create', '--network', network['id'],
                             '--cidr', cidr)
        return network['id']


def _table(out):
    """A plain table: the header and the rows, split on whitespace."""
    lines = out.splitlines()
    return lines[0].split(), [line.split() for line in lines[1:]]


def _key_values(out):
    return dict(line.split(None, 1) for line in out.splitlines())


class TestDb(ManageTestCase):

    migrate = False

    def test_version_before_and_after_sync(self):
        open(self.db_path, 'w').close()
        self.assertEqual({'revision': None},
                         self.manage_json('db', 'version'))
        self.assertEqual({'revision': '0003'},
                         self.manage_json('db', 'sync'))
        self.assertEqual('revision  0003\n', self.manage('db', 'version'))

    def test_sync_is_idempotent(self):
        self.manage('db', 'sync')
        self.assertEqual({'revision': '0003'},
                         self.manage_json('db', 'sync'))

    def test_only_db_sync_creates_a_database_file(self):
        for command in (['server', 'list'], ['db', 'version'], ['check']):
            self.assertFails(command, 1, 'The database file %s does not '
                             'exist: "interface-attach-manage db sync" '
                             'creates it' % self.db_path)
        self.assertFalse(os.path.exists(self.db_path))
        self.manage('db', 'sync')
        self.manage('server', 'list')

    def test_a_lost_database_file_is_not_made_anew(self):
        self.manage('db', 'sync')
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(self.db_path + suffix):
                os.remove(self.db_path + suffix)
        marker = self.db_path + '-writer'
        for command in (['server', 'list'], ['db', 'sync']):
            self.assertFails(command, 1, 'The database file %s is missing, '
                             'but %s shows a database was in use there: '
                             'restore the file, or remove %s to start from '
                             'an empty database' % (self.db_path, marker,
                                                    marker))
        self.assertFalse(os.path.exists(self.db_path))
        os.remove(marker)
        self.manage('db', 'sync')

    def test_unmigrated_database_suggests_db_sync(self):
        open(self.db_path, 'w').close()
        self.assertFails(['server', 'list'], 1,
                         'not migrated (no table servers); run '
                         '"interface-attach-manage db sync"')


class TestDemo(ManageTestCase):

    def test_create_then_nothing_to_do(self):
        created = self.manage_json('demo', 'create')
        self.assertTrue(created['created'])
        self.assertEqual(demo.SERVER_ID, created['server_id'])
        self.assertFalse(self.manage_json('demo', 'create')['created'])
        port = self.manage_json('port', 'show', demo.PORT_ID)
        self.assertEqual(['10.0.0.2'],
                         [ip['ip_address'] for ip in port['fixed_ips']])

    def test_leftover_demo_network(self):
        self.manage('demo', 'create')
        self.manage('port', 'delete', demo.PORT_ID)
        self.manage('server', 'delete', demo.SERVER_ID)
        self.assertFails(['demo', 'create'], 1, 'part of the demo data')


class TestNetwork(ManageTestCase):

    def test_create_list_delete(self):
        network = self.manage_json('network', 'create', '--project', 'p1',
                                   '--name', 'net1', '--shared')
        self.assertEqual(('p1', 'net1', True), (
            network['project_id'], network['name'], network['shared']))
        other = self.manage_json('network', 'create', '--project', 'p2',
                                 '--name', 'net2', '--id', MISSING_ID)
        self.assertEqual(MISSING_ID, other['id'])

        header, rows = _table(self.manage('network', 'list'))
        self.assertEqual(['id', 'name', 'project_id', 'shared'], header)
        self.assertEqual([[network['id'], 'net1', 'p1', 'True'],
                          [MISSING_ID, 'net2', 'p2', 'False']], rows)
        self.assertEqual([MISSING_ID], [n['id'] for n in self.manage_json(
            'network', 'list', '--project', 'p2')])

        self.assertEqual('', self.manage('network', 'delete', MISSING_ID))
        self.assertEqual([network['id']], [
            n['id'] for n in self.manage_json('network', 'list')])

    def test_create_plain_output(self):
        out = _key_values(self.manage('network', 'create', '--project', 'p',
                                      '--name', 'n', '--id', MISSING_ID))
        self.assertEqual(MISSING_ID, out['id'])
        self.assertEqual('False', out['shared'])

    def test_upper_case_id_is_canonicalised(self):
        network = self.manage_json('network', 'create', '--project', 'p',
                                   '--name', 'n', '--id', MISSING_ID.upper())
        self.assertEqual(MISSING_ID, network['id'])

    def test_duplicate_id(self):
        self.manage('network', 'create', '--project', 'p', '--name', 'n',
                    '--id', MISSING_ID)
        self.assertFails(['network', 'create', '--project', 'p', '--name',
                          'n', '--id', MISSING_ID], 1,
                         'Network %s already exists.' % MISSING_ID)

    def test_delete_in_use(self):
        network_id = self.create_network()
        self.assertFails(['network', 'delete', network_id], 1,
                         'Network %s is in use.' % network_id)

    def test_delete_unknown(self):
        self.assertFails(['network', 'delete', MISSING_ID], 1,
                         'Network %s could not be found.' % MISSING_ID)

    def test_bad_uuid(self):
        self.assertFails(['network', 'create', '--project', 'p', '--name',
                          'n', '--id', BAD_UUID], 2,
                         "argument --id: '%s' is not a UUID" % BAD_UUID)
        self.assertFails(['network', 'delete', BAD_UUID], 2, 'not a UUID')

    def test_missing_required_option(self):
        self.assertFails(['network', 'create', '--name', 'n'], 2,
                         'the following arguments are required: --project')


class TestSubnet(ManageTestCase):

    def setUp(self):
        super().setUp()
        self.network_id = self.create_network(cidrs=())

    def test_ipv4_and_ipv6(self):
        v4 = self.manage_json('subnet', 'create', '--network',
                              self.network_id, '--cidr', '10.2.0.7/24')
        self.assertEqual(('10.2.0.0/24', 4, '10.2.0.1'), (
            v4['cidr'], v4['ip_version'], v4['gateway_ip']))
        v6 = self.manage_json('subnet', 'create', '--network',
                              self.network_id, '--cidr', '2001:db8::/64',
                              '--gateway', '2001:db8::ff', '--id',
                              MISSING_ID)
        self.assertEqual((MISSING_ID, '2001:db8::/64', 6, '2001:db8::ff'), (
            v6['id'], v6['cidr'], v6['ip_version'], v6['gateway_ip']))

        header, rows = _table(self.manage('subnet', 'list', '--network',
                                          self.network_id))
        self.assertEqual(
            ['id', 'network_id', 'cidr', 'ip_version', 'gateway_ip'], header)
        self.assertEqual([v4['id'], MISSING_ID], [row[0] for row in rows])
        self.assertEqual([], self.manage_json(
            'subnet', 'list', '--network', MISSING_ID))

        self.manage('subnet', 'delete', v4['id'])
        self.assertEqual([MISSING_ID], [
            s['id'] for s in self.manage_json('subnet', 'list')])

    def test_bad_cidr(self):
        for cidr in ('10.0.0.300/24', '10.0.0.0', 'fish', '10.0.0.0/33'):
            self.assertFails(['subnet', 'create', '--network',
                              self.network_id, '--cidr', cidr], 2,
                             "argument --cidr: '%s' is not a CIDR" % cidr)

    def test_bad_gateway(self):
        self.assertFails(['subnet', 'create', '--network', self.network_id,
                          '--cidr', '10.0.0.0/24', '--gateway', '10.0.0'], 2,
                         "argument --gateway: '10.0.0' is not an IP address")
        self.assertFails(['subnet', 'create', '--network', self.network_id,
                          '--cidr', '10.0.0.0/24', '--gateway', '10.9.0.1'],
                         1, 'Gateway 10.9.0.1 is not in subnet 10.0.0.0/24.')

    def test_unknown_network(self):
        self.assertFails(['subnet', 'create', '--network', MISSING_ID,
                          '--cidr', '10.0.0.0/24'], 1,
                         'Network %s could not be found.' % MISSING_ID)

    def test_delete_in_use(self):
        subnet = self.manage_json('subnet', 'create', '--network',
                                  self.network_id, '--cidr', '10.0.0.0/24')
        self.manage('port', 'create', '--project', 'p1', '--network',
                    self.network_id)
        self.assertFails(['subnet', 'delete', subnet['id']], 1,
                         'Subnet %s is in use.' % subnet['id'])

    def test_delete_unknown(self):
        self.assertFails(['subnet', 'delete', MISSING_ID], 1,
                         'Subnet %s could not be found.' % MISSING_ID)

    def test_subnet_overlapping_another_of_the_network_refused(self):
        self.manage('subnet', 'create', '--network', self.network_id,
                    '--cidr', '10.0.0.0/24')
        for cidr in ('10.0.0.0/24', '10.0.0.0/16', '10.0.0.64/26'):
            self.assertFails(
                ['subnet', 'create', '--network', self.network_id, '--cidr',
                 cidr], 1,
                'Invalid input for operation: Requested subnet with cidr: %s '
                'for network: %s overlaps with another subnet.'
                % (cidr, self.network_id))
        self.assertEqual(['10.0.0.0/24'], [
            s['cidr'] for s in self.manage_json('subnet', 'list')])

    def test_prefix_without_an_address_for_a_port_refused(self):
        for cidr in ('0.0.0.0/0', '::/0'):
            self.assertFails(['subnet', 'create', '--network',
                              self.network_id, '--cidr', cidr], 1,
                             'Invalid input for operation: 0 is not allowed '
                             'as CIDR prefix length.')
        for cidr in ('10.1.0.0/32', 'fd00::/128'):
            self.assertFails(['subnet', 'create', '--network',
                              self.network_id, '--cidr', cidr], 1,
                             'Invalid input for operation: subnet %s has no '
                             'address a port could take.' % cidr)
        self.assertEqual([], self.manage_json('subnet', 'list'))


class TestCheck(ManageTestCase):

    def test_consistent_database(self):
        self.manage('port', 'create', '--project', 'p1', '--network',
                    self.create_network())
        self.assertEqual({'violations': 0}, self.manage_json('check'))

    def test_overlapping_subnets_and_an_address_held_twice(self):
        network_id = self.create_network(cidrs=('10.1.0.0/24',))
        subnet = self.manage_json('subnet', 'list')[0]
        ports = [self.manage_json('port', 'create', '--project', 'p1',
                                  '--network', network_id)['id']
                 for _ in range(2)]
        # What a database from before overlaps were refused may hold: a
        # second 10.1.0.0/24, which gave 10.1.0.2 again, to the second port
        # (unguarded, as migration 0003 leaves such a holder).
        with self.database().writer() as conn:
            conn.execute(sa.insert(tables.subnets).values(
                id=MISSING_ID, network_id=network_id, cidr='10.1.0.0/24',
                ip_version=4, gateway_ip='10.1.0.1',
                created_at=timeutils.utcnow()))
            conn.execute(sa.insert(tables.ip_allocations).values(
                subnet_id=MISSING_ID, ip_address='10.1.0.2',
                port_id=ports[1], address_key=networks.address_key(
                    '10.1.0.2')))
        code, out, err = self.run_manage('--format', 'json', 'check')
        self.assertEqual(
            (1, PREFIX + '2 violations found\n'), (code, err))
        self.assertEqual(
            [{'violation': 'address 10.1.0.2 of network %s is held by 2 '
                           'ports: %s' % (network_id, ', '.join(sorted(
                               ports)))},
             {'violation': 'subnets %s (10.1.0.0/24) and %s (10.1.0.0/24) '
                           'of network %s overlap' % (
                               subnet['id'], MISSING_ID, network_id)}],
            json.loads(out))


class TestPort(ManageTestCase):

    def setUp(self):
        super().setUp()
        self.network_id = self.create_network(
            cidrs=('10.1.0.0/24', '2001:db8::/64'))

    def test_create_list_show_delete(self):
        port = self.manage_json('port', 'create', '--project', 'p1',
                                '--network', self.network_id)
        self.assertEqual(('p1', self.network_id, '', 'DOWN'), (
            port['project_id'], port['network_id'], port['device_id'],
            port['status']))
        self.assertEqual(['10.1.0.2', '2001:db8::2'],
                         [ip['ip_address'] for ip in port['fixed_ips']])
        fixed = self.manage_json('port', 'create', '--project', 'p1',
                                 '--network', self.network_id, '--fixed-ip',
                                 '10.1.0.50', '--id', MISSING_ID)
        self.assertEqual(MISSING_ID, fixed['id'])
        self.assertEqual(['10.1.0.50'],
                         [ip['ip_address'] for ip in fixed['fixed_ips']])

        header, rows = _table(self.manage('port', 'list'))
        self.assertEqual(['id', 'network_id', 'fixed_ips', 'mac_address',
                          'status', 'device_id'], header)
        self.assertEqual(
            [port['id'], self.network_id, '10.1.0.2,', '2001:db8::2',
             port['mac_address'], 'DOWN', '-'], rows[0])
        self.assertEqual([port['id'], MISSING_ID], [
            p['id'] for p in self.manage_json('port', 'list', '--network',
                                              self.network_id)])

        shown = _key_values(self.manage('port', 'show', port['id']))
        self.assertEqual(port['mac_address'], shown['mac_address'])
        self.assertIn('10.1.0.2 (subnet ', shown['fixed_ips'])

        self.manage('port', 'delete', port['id'])
        self.assertFails(['port', 'show', port['id']], 1,
                         'Port id %s could not be found.' % port['id'])
        # Its address is free again.
        again = self.manage_json('port', 'create', '--project', 'p1',
                                 '--network', self.network_id, '--fixed-ip',
                                 '10.1.0.2')
        self.assertEqual('10.1.0.2', again['fixed_ips'][0]['ip_address'])

    def test_list_by_server(self):
        port = self.manage_json('port', 'create', '--project', 'p1',
                                '--network', self.network_id)
        self.manage('port', 'create', '--project', 'p1', '--network',
                    self.network_id)
        networks.NetworkStore(self.database()).claim_port(
            port['id'], MISSING_ID, 'compute:nova', 'ACTIVE')
        self.assertEqual([port['id']], [p['id'] for p in self.manage_json(
            'port', 'list', '--server', MISSING_ID)])

    def test_fixed_ip_errors(self):
        create = ['port', 'create', '--project', 'p1', '--network',
                  self.network_id, '--fixed-ip']
        self.assertFails(create + ['10.1.0.256'], 2,
                         "'10.1.0.256' is not an IP address")
        self.assertFails(create + ['10.1.0.1'], 1,
                         'Fixed IP 10.1.0.1 is already in use.')
        self.assertFails(create + ['192.168.0.5'], 1,
                         'Fixed IP 192.168.0.5 is not a valid ip address')

    def test_duplicate_id(self):
        self.manage('port', 'create', '--project', 'p1', '--network',
                    self.network_id, '--id', MISSING_ID)
        self.assertFails(['port', 'create', '--project', 'p1', '--network',
                          self.network_id, '--id', MISSING_ID], 1,
                         'Port %s already exists.' % MISSING_ID)

    def test_delete_bound_port_refused(self):
        port = self.manage_json('port', 'create', '--project', 'p1',
                                '--network', self.network_id)
        networks.NetworkStore(self.database()).claim_port(
            port['id'], MISSING_ID, 'compute:nova', 'ACTIVE')
        self.assertFails(['port', 'delete', port['id']], 1,
                         'Port %s is still in use.' % port['id'])
        # Refused means untouched: the port keeps its addresses.
        self.assertEqual(2, len(self.manage_json(
            'port', 'show', port['id'])['fixed_ips']))

    def test_unknown(self):
        self.assertFails(['port', 'delete', MISSING_ID], 1,
                         'Port id %s could not be found.' % MISSING_ID)
        self.assertFails(['port', 'create', '--project', 'p1', '--network',
                          MISSING_ID], 1,
                         'Network %s could not be found.' % MISSING_ID)

    def test_bad_uuid(self):
        self.assertFails(['port', 'show', BAD_UUID], 2,
                         "argument ID: '%s' is not a UUID" % BAD_UUID)
        self.assertFails(['port', 'list', '--server', BAD_UUID], 2,
                         "argument --server: '%s' is not a UUID" % BAD_UUID)


class TestServer(ManageTestCase):

    def create_server(self, *options):
        return self.manage_json('server', 'create', '--project', 'p1',
                                '--name', 'vm', *options)

    def test_create_list_show_delete(self):
        server = self.create_server('--id', MISSING_ID, '--user', 'u1',
                                    '--host', 'h1', '--availability-zone',
                                    'az1')
        self.assertEqual(
            (MISSING_ID, 'p1', 'u1', 'vm', 'active', None, False, 'h1',
             'az1'),
            tuple(server[key] for key in (
                'id', 'project_id', 'user_id', 'name', 'vm_state',
                'task_state', 'locked', 'host', 'availability_zone')))
        self.assertIsNotNone(server['launched_at'])
        other = self.manage_json('server', 'create', '--project', 'p2',
                                 '--name', 'other', '--vm-state', 'building',
                                 '--not-launched')
        self.assertEqual(('building', None),
                         (other['vm_state'], other['launched_at']))

        header, rows = _table(self.manage('server', 'list'))
        self.assertEqual(['id', 'name', 'project_id', 'vm_state',
                          'task_state', 'locked', 'host'], header)
        self.assertEqual([[MISSING_ID, 'vm', 'p1', 'active', '-', 'False',
                           'h1'],
                          [other['id'], 'other', 'p2', 'building', '-',
                           'False', '-']], rows)
        self.assertEqual([other['id']], [s['id'] for s in self.manage_json(
            'server', 'list', '--project', 'p2')])
        self.assertEqual([MISSING_ID], [s['id'] for s in self.manage_json(
            'server', 'list', '--name', 'vm')])

        shown = _key_values(self.manage('server', 'show', MISSING_ID))
        self.assertEqual(('vm', 'az1'),
                         (shown['name'], shown['availability_zone']))

        self.manage('server', 'delete', MISSING_ID)
        self.assertFails(['server', 'show', MISSING_ID], 1,
                         'Instance %s could not be found.' % MISSING_ID)

    def test_lock_unlock(self):
        server_id = self.create_server()['id']
        self.assertTrue(self.manage_json('server', 'lock', server_id)[
            'locked'])
        self.assertEqual('True', _key_values(self.manage(
            'server', 'show', server_id))['locked'])
        self.assertFalse(self.manage_json('server', 'unlock', server_id)[
            'locked'])
        self.assertFalse(self.manage_json('server', 'show', server_id)[
            'locked'])

    def test_set_state_moves_bound_port_status(self):
        server_id = self.create_server()['id']
        network_id = self.create_network()
        port = self.manage_json('port', 'create', '--project', 'p1',
                                '--network', network_id)
        networks.NetworkStore(self.database()).claim_port(
            port['id'], server_id, 'compute:nova', 'ACTIVE')

        def port_status():
            return self.manage_json('port', 'show', port['id'])['status']

        server = self.manage_json('server', 'set-state', server_id,
                                  '--vm-state', 'stopped', '--task-state',
                                  'powering-on')
        self.assertEqual(('stopped', 'powering-on'),
                         (server['vm_state'], server['task_state']))
        self.assertEqual('DOWN', port_status())

        server = self.manage_json('server', 'set-state', server_id,
                                  '--vm-state', 'active', '--no-task')
        self.assertEqual(('active', None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual('ACTIVE', port_status())

        # A task alone leaves the vm_state as it is.
        server = self.manage_json('server', 'set-state', server_id,
                                  '--task-state', 'rebooting')
        self.assertEqual(('active', 'rebooting'),
                         (server['vm_state'], server['task_state']))

    def test_set_state_launches_a_never_launched_server(self):
        server_id = self.create_server('--vm-state', 'building',
                                       '--not-launched')['id']
        server = self.manage_json('server', 'set-state', server_id,
                                  '--vm-state', 'active')
        self.assertIsNotNone(server['launched_at'])

    def test_set_state_errors(self):
        server_id = self.create_server()['id']
        self.assertFails(['server', 'set-state', server_id], 2,
                         'needs --vm-state, --task-state or --no-task')
        self.assertFails(['server', 'set-state', server_id, '--vm-state',
                          'running'], 2,
                         "argument --vm-state: invalid choice: 'running'")
        self.assertFails(['server', 'set-state', server_id, '--task-state',
                          ' '], 2, 'argument --task-state: must not be empty')
        self.assertFails(['server', 'set-state', server_id, '--task-state',
                          'x', '--no-task'], 2, 'not allowed with')
        self.assertFails(['server', 'set-state', MISSING_ID, '--vm-state',
                          'active'], 1,
                         'Instance %s could not be found.' % MISSING_ID)

    def test_all_vm_states_accepted(self):
        server_id = self.create_server()['id']
        for state in manage.VM_STATES:
            self.assertEqual(state, self.manage_json(
                'server', 'set-state', server_id, '--vm-state',
                state)['vm_state'])

    def test_delete_with_interface_refused(self):
        server_id = self.create_server()['id']
        network_id = self.create_network()
        attachments.AttachmentStore(self.database(), False).reserve(
            server_id, MISSING_ID, network_id, port_created=True,
            owner=attachments.new_owner())
        self.assertFails(['server', 'delete', server_id], 1,
                         'Server %s is in use.' % server_id)

    def test_duplicate_id(self):
        self.create_server('--id', MISSING_ID)
        self.assertFails(['server', 'create', '--project', 'p', '--name',
                          'n', '--id', MISSING_ID], 1,
                         'Server %s already exists.' % MISSING_ID)

    def test_unknown(self):
        for command in ('show', 'delete', 'lock', 'unlock'):
            self.assertFails(['server', command, MISSING_ID], 1,
                             'Instance %s could not be found.' % MISSING_ID)

    def test_bad_arguments(self):
        self.assertFails(['server', 'create', '--project', 'p', '--name',
                          'n', '--id', BAD_UUID], 2, 'not a UUID')
        self.assertFails(['server', 'create', '--project', 'p', '--name',
                          ''], 2, 'argument --name: must not be empty')
        self.assertFails(['server', 'lock', BAD_UUID], 2, 'not a UUID')


class TestUsageAndEnvironment(ManageTestCase):

    def test_unknown_command(self):
        self.assertFails(['frobnicate'], 2,
                         "argument command: invalid choice: 'frobnicate'")
        self.assertFails(['server', 'frobnicate'], 2, 'invalid choice')

    def test_missing_command(self):
        self.assertFails([], 2, 'the following arguments are required')
        self.assertFails(['db'], 2, 'required: db command')

    def test_unknown_option(self):
        self.assertFails(['server', 'list', '--colour'], 2,
                         'unrecognized arguments: --colour')

    def test_missing_config_file(self):
        missing = os.path.join(self.dir, 'missing.conf')
        self.assertFails(['db', 'version'], 1,
                         'Failed to find some config files: %s' % missing,
                         config_file=missing)

    def test_unparsable_config_file(self):
        broken = os.path.join(self.dir, 'broken.conf')
        with open(broken, 'w') as f:
            f.write('[database\n')
        self.assertFails(['db', 'version'], 1, 'Failed to parse',
                         config_file=broken)

    def test_database_cannot_be_opened(self):
        config = self.write_config(
            os.path.join(self.dir, 'no', 'such', 'dir', 'x.sqlite'),
            name='unopenable.conf')
        self.assertFails(['db', 'sync'], 1,
                         'cannot open the database sqlite:///',
                         config_file=config)

    def test_config_dir(self):
        conf_dir = os.path.join(self.dir, 'conf.d')
        os.mkdir(conf_dir)
        shutil.move(self.config_file, os.path.join(conf_dir, 'db.conf'))
        code, out, err = self.run_manage('--config-dir', conf_dir,
                                         '--format', 'json', 'db', 'version',
                                         config_file=os.devnull)
        self.assertEqual((0, ''), (code, err))
        self.assertEqual({'revision': '0003'}, json.loads(out))

    def test_help(self):
        code, out, err = self.run_manage('--help')
        self.assertEqual((0, ''), (code, err))
        self.assertIn('usage: interface-attach-manage', out)


class TestConsoleScript(testtools.TestCase):
    """The installed entry point, as an operator runs it."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.config_file = os.path.join(self.dir, 'x.conf')
        with open(self.config_file, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    % os.path.join(self.dir, 'x.sqlite'))

    @staticmethod
    def _command():
        # The venv's bin is not always on PATH when its python runs tests.
        beside = os.path.join(os.path.dirname(sys.executable),
                              'interface-attach-manage')
        script = (beside if os.path.exists(beside)
                  else shutil.which('interface-attach-manage'))
        return [script] if script else [
            sys.executable, '-m', 'interface_attach.cmd.manage']

    def _run(self, command, *args):
        return subprocess.run(
            command + ['--config-file', self.config_file] + list(args),
            capture_output=True, text=True, timeout=120)

    def test_db_sync_and_bad_argument(self):
        for command in (self._command(),
                        [sys.executable, '-m', 'interface_attach.cmd.manage']):
            result = self._run(command, '--format', 'json', 'db', 'sync')
            self.assertEqual((0, ''), (result.returncode, result.stderr))
            self.assertEqual({'revision': '0003'}, json.loads(result.stdout))

            result = self._run(command, 'server', 'show', BAD_UUID)
            self.assertEqual(2, result.returncode)
            self.assertEqual('', result.stdout)
            self.assertEqual(
                [PREFIX + "argument ID: '%s' is not a UUID" % BAD_UUID],
                result.stderr.splitlines())

            result = self._run(command, 'server', 'show', MISSING_ID)
            self.assertEqual(1, result.returncode)
            self.assertEqual(
                [PREFIX + 'Instance %s could not be found.' % MISSING_ID],
                result.stderr.splitlines())

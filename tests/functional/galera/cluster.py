"""A MariaDB Galera cluster of three nodes on 127.0.0.1, for the tests.

Each node is a ``mariadbd`` with its own data directory, configuration
file (read alone: never the machine's /etc/mysql) and free ports: one for
clients and, for Galera, three in a row (replication, incremental and
full state transfer). Only the first node's data directory is made by
``mariadb-install-db``; it starts a new cluster, and the others join it and
receive its data by rsync state transfer. As root the nodes run as the
``mysql`` user: rsync's transfer to a joiner fails as root.

The cleanup kills every node's process group (rsync included) and removes
the directories. Where MariaDB, galera-4 or rsync is missing,
``skip_unless_available`` says what is missing.
"""

import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import fixtures

from tests.functional.nova import fixtures as process_fixtures

MARIADBD = shutil.which('mariadbd') or '/usr/sbin/mariadbd'
INSTALL_DB = shutil.which('mariadb-install-db')
CLIENT = shutil.which('mariadb')
PROVIDER = '/usr/lib/galera/libgalera_smm.so'
RSYNC = shutil.which('rsync')
USER = 'interface_attach'
PASSWORD = 'galera-tier'
DATABASE = 'interface_attach'
# Seconds a node has to reach Synced: a full state transfer included.
SYNC_TIMEOUT = 120

_CONFIG = """\
[mysqld]
datadir = {dir}/data
socket = {dir}/mysqld.sock
pid-file = {dir}/mysqld.pid
tmpdir = {dir}/tmp
port = {port}
bind-address = 127.0.0.1
skip-name-resolve
performance_schema = OFF
max_connections = 300
# What Galera needs of every node.
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
# Small and fast: a test cluster, not a durable one.
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 0
wsrep_on = ON
wsrep_provider = {provider}
wsrep_cluster_name = ia_test_{cluster}
wsrep_cluster_address = gcomm://{members}
wsrep_node_name = node{index}
wsrep_node_address = 127.0.0.1:{gcomm}
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:{gcomm};\
ist.recv_addr=127.0.0.1:{ist};gcache.size=64M"
wsrep_sst_receive_address = 127.0.0.1:{sst}
wsrep_sst_method = rsync
wsrep_slave_threads = 4
"""


def skip_unless_available():
    """:raises SkipTest: saying what the Galera tier lacks here."""
    missing = [what for what, present in (
        ('mariadbd (%s)' % MARIADBD, os.access(MARIADBD, os.X_OK)),
        ('mariadb-install-db', INSTALL_DB),
        ('the mariadb client', CLIENT),
        ('galera-4 (%s)' % PROVIDER, os.path.exists(PROVIDER)),
        ('rsync', RSYNC)) if not present]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam('mysql')
        except KeyError:
            missing.append('the mysql user (nodes must not run as root)')
    if missing:
        raise unittest.SkipTest(
            'Galera tier skipped: %s not found (Debian: apt-get install '
            'mariadb-server galera-4 rsync)' % ', '.join(missing))


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def _below_ephemeral():
    """The first port of the kernel's ephemeral range.

    Client sockets (other tests' included) take ports of that range at
    any moment: a port found free there may be gone when a node, or its
    rsync daemon for a state transfer, binds it.
    """
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_ports(count):
    """The first of ``count`` free ports in a row, below the ephemeral."""
    while True:
        first = random.randrange(10000, max(_below_ephemeral(), 11000)
                                 - count)
        if all(_bindable(first + i) for i in range(count)):
            return first


class Node:
    """One mariadbd of the cluster: its files, ports and process."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.dir = os.path.join(cluster.dir, 'node%d' % index)
        self.port = _free_ports(1)
        self.gcomm = _free_ports(3)
        self.config = os.path.join(self.dir, 'my.cnf')
        self.socket = os.path.join(self.dir, 'mysqld.sock')
        self.log = os.path.join(self.dir, 'mariadbd.log')
        self.process = None

    @property
    def url(self):
        return 'mysql+pymysql://%s:%s@127.0.0.1:%d/%s' % (
            USER, PASSWORD, self.port, DATABASE)

    def write_config(self, members):
        for sub in ('data', 'tmp'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(self.config, 'w') as f:
            f.write(_CONFIG.format(
                dir=self.dir, port=self.port, provider=PROVIDER,
                cluster=self.cluster.name, members=members,
                index=self.index, gcomm=self.gcomm, ist=self.gcomm + 1,
                sst=self.gcomm + 2))
        self.cluster.own(self.dir)

    def start(self, new_cluster=False, *extra):
        """Start mariadbd (its own process group); not waiting for it."""
        args = [MARIADBD, '--defaults-file=%s' % self.config]
        if os.geteuid() == 0:
            args.append('--user=mysql')
        if new_cluster:
            args.append('--wsrep-new-cluster')
        args.extend(extra)
        self.process = process_fixtures.Process(
            'node%d' % self.index, args, self.log, stop_timeout=0)
        self.process.setUp()

    def restart(self):
        """Start a node that was killed, rejoining by incremental transfer.

        Without its recovered position the node would ask for a full copy
        of the data directory.
        """
        self.stop()
        recover = [MARIADBD, '--defaults-file=%s' % self.config,
                   '--wsrep-recover', '--log-error=%s/recover.log' % self.dir]
        if os.geteuid() == 0:
            recover.append('--user=mysql')
        subprocess.run(recover, capture_output=True, timeout=120,
                       check=True)
        with open('%s/recover.log' % self.dir) as f:
            position = re.findall(r'Recovered position: (\S+)', f.read())
        self.restarted_at = os.path.getsize(self.log)
        self.start(False, *(['--wsrep_start_position=%s' % position[-1]]
                            if position else []))

    def log_since_restart(self):
        with open(self.log, errors='replace') as f:
            f.seek(self.restarted_at)
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        """``sig`` to the node's process group (SIGSTOP freezes it)."""
        if self.process is not None and self.process.running():
            os.killpg(self.process.process.pid, sig)
        if sig == signal.SIGKILL and self.process is not None:
            self.process.process.wait()

    def stop(self):
        if self.process is not None:
            self.process.cleanUp()
            self.process = None

    def sql(self, statement):
        """Rows (lists of strings) of ``statement``, as root on the socket."""
        result = subprocess.run(
            [CLIENT, '--no-defaults', '--protocol=socket',
             '--socket=%s' % self.socket, '-uroot', '-N', '-B', '-e',
             statement], capture_output=True, text=True, timeout=30)
        if result.returncode:
            raise RuntimeError('node%d: %s: %s' % (
                self.index, statement, result.stderr.strip()))
        return [line.split('\t') for line in result.stdout.splitlines()]

    def status(self, name):
        rows = self.sql("SHOW STATUS LIKE '%s'" % name)
        return rows[0][1] if rows else None

    def wait_synced(self, timeout=SYNC_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            if not self.process.running():
                raise RuntimeError('node%d exited:\n%s' % (
                    self.index, self.process.log_tail()))
            try:
                if self.status('wsrep_local_state_comment') == 'Synced':
                    return
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('node%d not Synced in %d s:\n%s' % (
                    self.index, timeout, self.process.log_tail()))
            time.sleep(0.25)


class GaleraCluster(fixtures.Fixture):
    """Three nodes, Synced, with a TCP user and an empty database."""

    def __init__(self, size=3):
        super().__init__()
        self.size = size

    def _setUp(self):
        skip_unless_available()
        self.dir = tempfile.mkdtemp(prefix='ia-galera-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        os.chmod(self.dir, 0o755)
        self.name = os.path.basename(self.dir).replace('-', '_')
        self.nodes = [Node(self, i) for i in range(self.size)]
        members = ','.join('127.0.0.1:%d' % n.gcomm for n in self.nodes)
        for node in self.nodes:
            node.write_config(members)
        # Killed first (all at once: a node stopped alone would wait for
        # the others), then their fixtures reap them.
        self.addCleanup(self._stop_all)
        first = self.nodes[0]
        install = subprocess.run(
            [INSTALL_DB, '--no-defaults', '--datadir=%s/data' % first.dir,
             '--skip-test-db', '--auth-root-authentication-method=socket']
            + (['--user=mysql'] if os.geteuid() == 0 else []),
            capture_output=True, text=True, timeout=120)
        if install.returncode:
            raise RuntimeError('mariadb-install-db failed: %s'
                               % install.stdout + install.stderr)
        first.start(new_cluster=True)
        first.wait_synced()
        # root authenticates by the unix socket only.
        first.sql("CREATE USER '{0}'@'127.0.0.1' IDENTIFIED BY '{1}'; "
                  "GRANT ALL ON *.* TO '{0}'@'127.0.0.1'; "
                  "CREATE DATABASE {2}".format(USER, PASSWORD, DATABASE))
        for node in self.nodes[1:]:
            node.start()
            node.wait_synced()
        size = first.status('wsrep_cluster_size')
        if size != str(self.size):
            raise RuntimeError('cluster size %s, not %d' % (size, self.size))

    def own(self, path):
        """Give ``path`` (recursively) to the user the nodes run as."""
        if os.geteuid() == 0:
            subprocess.run(['chown', '-R', 'mysql:mysql', path], check=True)

    def _stop_all(self):
        for node in self.nodes:
            node.kill(signal.SIGCONT)
            node.kill(signal.SIGKILL)
        for node in self.nodes:
            node.stop()

    def wait_applied(self):
        """Every node has applied what any node committed until now."""
        for node in self.nodes:
            if node.process is not None and node.process.running():
                node.sql('SET SESSION wsrep_sync_wait = 1; SELECT 1')

    def checksums(self, tables):
        """{node index: [(table, checksum)]} of the service's tables."""
        return {node.index: node.sql('CHECKSUM TABLE %s' % ', '.join(
            '%s.%s' % (DATABASE, table) for table in tables))
            for node in self.nodes}

"""Recovery: finish or undo the attaches and detaches a crash left.

An attachment row in flight ('attaching' or 'detaching') whose owner is
dead (a process of this host that no longer runs) or that has not moved
for ``[recovery] stale_after`` seconds is taken over with a compare-and-
swap on its owner, so one recoverer acts and the old owner can no longer
write. The compute service then undoes an interrupted attach, since its
caller never got a 200, and finishes an interrupted detach.
"""

import os
import socket
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from interface_attach.db import attachments

LOG = logging.getLogger(__name__)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open('/proc/%d/stat' % pid) as f:
            # A zombie has finished: only its parent has not reaped it.
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return True


def owner_is_dead(owner, hostname=None):
    """Whether ``host:pid:nonce`` names a dead process of this host."""
    host, _, rest = (owner or '').partition(':')
    pid = rest.partition(':')[0]
    if host != (hostname or socket.gethostname()) or not pid.isdigit():
        return False
    return not _process_alive(int(pid))


def abandoned(row, stale_after):
    """Whether an in-flight attachment row's operation no longer runs."""
    moved = row.updated_at or row.created_at
    return (owner_is_dead(row.owner)
            or (timeutils.utcnow() - moved).total_seconds() > stale_after)


class Recovery:

    def __init__(self, compute, stale_after):
        self.compute = compute
        self.stale_after = stale_after

    def run(self):
        """One pass; the number of operations finished or undone."""
        recovered = 0
        for row in self.compute.attachments.in_flight():
            if abandoned(row, self.stale_after) and self._recover(row):
                recovered += 1
        return recovered

    def _recover(self, row):
        owner = attachments.new_owner()
        if not self.compute.attachments.take_over(row, owner):
            return False
        what = self.compute.recover(row, owner)
        LOG.warning('Recovery: %(what)s of port %(port)s on server '
                    '%(server)s, left by %(owner)s',
                    {'what': what, 'port': row.port_id,
                     'server': row.server_id, 'owner': row.owner})
        return True


class PeriodicRecovery(threading.Thread):
    """A daemon thread running a recovery pass every ``interval`` s."""

    def __init__(self, recovery, interval):
        super().__init__(name='interface-attach-recovery', daemon=True)
        self.recovery = recovery
        self.interval = interval
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            try:
                self.recovery.run()
            except Exception:
                # The database may be down for a while: try again later.
                LOG.exception('Recovery pass failed')


def from_conf(conf, services):
    """A Recovery over ``services`` (interface_attach.api.paste.Services)."""
    return Recovery(services.compute, conf.recovery.stale_after)


def start_periodic(conf, services):
    """Start the periodic pass in this process, if configured."""
    if conf.recovery.interval <= 0:
        return None
    thread = PeriodicRecovery(from_conf(conf, services),
                              conf.recovery.interval)
    thread.start()
    return thread

"""Fault points: let crash tests kill a worker at a named point.

``INTERFACE_ATTACH_FAULT_POINTS`` names points (comma-separated, e.g.
``attach:bound``) at which the process kills itself with SIGKILL, exactly
as a crash or an OOM kill would stop it. Unset, ``hit`` does nothing but
one set lookup.
"""

import os
import signal

ENV = 'INTERFACE_ATTACH_FAULT_POINTS'

POINTS = frozenset(['attach:reserved', 'attach:bound', 'detach:started',
                    'detach:released'])

_active = frozenset(point for point in os.environ.get(ENV, '').split(',')
                    if point)


def hit(point):
    if point in _active:
        os.kill(os.getpid(), signal.SIGKILL)

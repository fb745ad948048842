"""Fault points: let crash tests kill a worker at a named point.

``INTERFACE_ATTACH_FAULT_POINTS`` names points, comma-separated, at which
the process kills itself with SIGKILL, exactly as a crash or an OOM kill
would stop it: ``attach:bound`` every time, ``attach:bound@0.2`` on one
pass in five (for crashes at random moments of a load). Unset, ``hit`` is
one dictionary lookup.
"""

import os
import random
import signal

ENV = 'INTERFACE_ATTACH_FAULT_POINTS'

POINTS = frozenset(['attach:reserved', 'attach:bound', 'detach:started',
                    'detach:released'])


def _parse(value):
    active = {}
    for item in filter(None, value.split(',')):
        point, _, probability = item.partition('@')
        active[point] = float(probability) if probability else 1.0
    return active


_active = _parse(os.environ.get(ENV, ''))


def hit(point):
    probability = _active.get(point)
    if probability is not None and random.random() < probability:
        os.kill(os.getpid(), signal.SIGKILL)

"""SQLite writers of several processes queue on one flock."""

import multiprocessing
import os
import time

import fixtures
from oslotest import base

from interface_attach.db import engine

HOLD = 0.5


def _hold(path, taken):
    queue = engine.WriterQueue(path)
    with queue.held():
        taken.set()
        time.sleep(HOLD)


class WriterQueueTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'db.sqlite-writer')

    def test_a_writer_waits_for_another_process(self):
        queue = engine.WriterQueue(self.path)
        with queue.held():
            pass    # this process opened its descriptor before the fork
        taken = multiprocessing.Event()
        other = multiprocessing.get_context('fork').Process(
            target=_hold, args=(self.path, taken))
        other.start()
        self.addCleanup(other.join)
        self.assertTrue(taken.wait(10))
        started = time.monotonic()
        with queue.held():
            waited = time.monotonic() - started
        self.assertGreater(waited, HOLD / 2)

    def test_a_writer_does_not_wait_for_itself_after_release(self):
        queue = engine.WriterQueue(self.path)
        for _ in range(3):
            started = time.monotonic()
            with queue.held():
                pass
            self.assertLess(time.monotonic() - started, HOLD / 2)

"""SQLite writers of several processes queue on one flock, for a while."""

import multiprocessing
import os
import threading
import time

import fixtures
from oslotest import base

from interface_attach.db import engine

from interface_attach import exception

HOLD = 0.5
TIMEOUT = 5


def _hold(path, taken):
    queue = engine.WriterQueue(path, TIMEOUT)
    with queue.held():
        taken.set()
        time.sleep(HOLD)


class WriterQueueTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'db.sqlite-writer')

    def held_by_another_process(self):
        taken = multiprocessing.Event()
        other = multiprocessing.get_context('fork').Process(
            target=_hold, args=(self.path, taken))
        other.start()
        self.addCleanup(other.join)
        self.assertTrue(taken.wait(10))

    def test_a_writer_waits_for_another_process(self):
        queue = engine.WriterQueue(self.path, TIMEOUT)
        with queue.held():
            pass    # this process opened its descriptor before the fork
        self.held_by_another_process()
        started = time.monotonic()
        with queue.held():
            waited = time.monotonic() - started
        self.assertGreater(waited, HOLD / 2)

    def test_a_writer_does_not_wait_for_itself_after_release(self):
        queue = engine.WriterQueue(self.path, TIMEOUT)
        for _ in range(3):
            started = time.monotonic()
            with queue.held():
                pass
            self.assertLess(time.monotonic() - started, HOLD / 2)

    def test_threads_of_a_process_wait_their_turn_for_the_timeout_too(self):
        queue = engine.WriterQueue(self.path, 0.3)
        failed = []
        with queue.held():
            other = threading.Thread(target=lambda: failed.append(
                self.assertRaises(exception.ServiceUnavailable,
                                  queue.held().__enter__)))
            other.start()
            other.join(2)
        self.assertEqual(1, len(failed))
        self.assertEqual(engine.RETRY_AFTER, failed[0].retry_after)

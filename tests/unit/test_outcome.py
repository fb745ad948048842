"""Learning a lost COMMIT's outcome: when the answer is sure, and when not."""

import contextlib
import time

from oslo_db import exception as db_exc
from oslotest import base

from interface_attach.db import outcome
from interface_attach import exception

OLD = outcome.Session(('10.0.0.5', 3306), 1000.0, 42, None)


class FakeConnection:

    def __init__(self, session):
        self.info = {outcome.SESSION: session}


class FakeEngine:
    """connect() gives a connection to ``session``'s server, or raises."""

    def __init__(self, session=None, error=None):
        self.session, self.error = session, error
        self.connects = 0

    @contextlib.contextmanager
    def connect(self):
        self.connects += 1
        if self.error is not None:
            raise self.error
        yield FakeConnection(self.session)


def unknown(session=OLD):
    return outcome.OutcomeUnknown(session, retry_after=5)


class EndedTest(base.BaseTestCase):

    def test_a_restarted_server_ran_no_old_session(self):
        restarted = OLD._replace(started=2000.0, id=1)
        self.assertTrue(outcome._ended(FakeConnection(restarted), OLD))

    def test_another_server_cannot_tell(self):
        other = OLD._replace(server=('10.0.0.6', 3306), id=7)
        self.assertFalse(outcome._ended(FakeConnection(other), OLD))

    def test_no_recorded_session_cannot_tell(self):
        self.assertFalse(outcome._ended(FakeConnection(OLD), None))
        self.assertFalse(outcome._ended(FakeConnection(None), OLD))

    def test_start_times_a_second_apart_are_one_server(self):
        # MySQL's start time is its clock minus its uptime, to the second.
        self.assertTrue(OLD.same_server(OLD._replace(started=1001.0)))
        self.assertFalse(OLD.same_server(OLD._replace(started=1003.0)))


class LearnTest(base.BaseTestCase):

    def test_landed_is_a_success(self):
        outcome.learn(FakeEngine(OLD._replace(server=('other', 1))),
                      unknown(), lambda conn: True, budget=1)

    def test_surely_not_landed_is_the_plain_503(self):
        restarted = OLD._replace(started=2000.0)
        error = self.assertRaises(
            exception.ServiceUnavailable, outcome.learn,
            FakeEngine(restarted), unknown(), lambda conn: False, budget=1)
        self.assertNotIsInstance(error, exception.WriteOutcomeUnknown)
        self.assertEqual(5, error.retry_after)

    def test_not_found_on_another_server_is_unknown_after_the_budget(self):
        started = time.monotonic()
        engine = FakeEngine(OLD._replace(server=('other', 1)))
        self.assertRaises(exception.WriteOutcomeUnknown, outcome.learn,
                          engine, unknown(), lambda conn: False, budget=0.6)
        self.assertLess(time.monotonic() - started, 1.5)
        # Looked again meanwhile: a write applied late is still found.
        self.assertGreater(engine.connects, 1)

    def test_an_unreachable_database_is_unknown_after_the_budget(self):
        engine = FakeEngine(error=db_exc.DBConnectionError('refused'))
        self.assertRaises(exception.WriteOutcomeUnknown, outcome.learn,
                          engine, unknown(), lambda conn: True, budget=0.3)

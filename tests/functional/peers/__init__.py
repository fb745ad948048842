"""Functional tests with real peers: Keystone, the server and the clients.

When stestr (unittest discovery) finds this package, all its tests go into
one testresources OptimisingTestSuite, so that each test process starts one
Keystone and one interface-attach-api for all of them (see fixtures.py).
"""

import os

import testresources


def load_tests(loader, standard_tests, pattern):
    suite = testresources.OptimisingTestSuite()
    suite.addTest(standard_tests)
    suite.addTest(loader.discover(start_dir=os.path.dirname(__file__),
                                  pattern=pattern or 'test*.py'))
    return suite

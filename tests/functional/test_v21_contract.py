"""The Nova v2.1 contract, and where /v2 (the spec) differs from it.

1. Microversions on /v2.1: negotiation, the echoed headers (faults
   included), ``tag`` on create from 2.49 and in responses from 2.70;
   /v2 has none of it.
2. The v2.1 error profile against /v2's: the same request on both.
3. The version documents clients discover with, without a token.
4. The server reads clients resolve a server with.
5. The role matrix: who may list, show, create and delete, on both.
"""

import sqlalchemy as sa

from interface_attach.db import tables
from tests.functional import base

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
VARY = 'OpenStack-API-Version, X-OpenStack-Nova-API-Version'

FAULT_NAMES = {**base.FAULT_NAMES, 406: 'computeFault', 415: 'badMediaType'}

UNAUTHORIZED = 'The request you have made requires authentication.'
ATTACH_FAILED = 'Failed to attach interface'
SERVER_NOT_FOUND = 'Instance {server} could not be found.'
LOCKED = 'Instance {server} is locked'
MISMATCH = ("Malformed request URL: URL's project_id '{url_project}' "
            "doesn't match Context's project_id '{token_project}'")
VIEW_KEYS = ['fixed_ips', 'mac_addr', 'net_id', 'port_id', 'port_state']

MEMBER = 'alice:{project}'
READER = 'rita:{project}:reader'
OTHER_ADMIN = 'root:{other_project}:admin'
OTHER_MEMBER = 'bob:{other_project}'


def compute_header(version):
    return {HEADER: 'compute %s' % version}


def legacy_header(version):
    return {LEGACY_HEADER: version}


# How a client may ask for a microversion: both are accepted.
HEADER_STYLES = (('new header', compute_header),
                 ('legacy header', legacy_header))


def denied(action):
    return ("Policy doesn't allow os_compute_api:os-attach-interfaces:%s "
            "to be performed." % action)


def port_body(port='{port}', **extra):
    return {'interfaceAttachment': dict(port_id=port, **extra)}


def net_body(net='{net}', ip=None, **extra):
    attachment = dict(net_id=net, **extra)
    if ip is not None:
        attachment['fixed_ips'] = [{'ip_address': ip}]
    return {'interfaceAttachment': attachment}


class Row:
    """One row of a table: a name, a status, anything else by keyword."""

    def __init__(self, name, status, message=None, **kwargs):
        self.name = name
        self.status = status
        self.message = message
        self.__dict__.update(kwargs)


class ContractTestCase(base.FunctionalTestCase):
    """Requests on any prefix, and the assertions of this contract."""

    def call(self, w, method, prefix, server='{server}', port=None,
             token=MEMBER, **kwargs):
        """A request on ``prefix`` ('/v2/{project}', '/v2.1', ...).

        Strings may name world ids; a ``token`` of None sends no token.
        """
        url = base.resource_url(w.fill(prefix), w.fill(server),
                                w.fill(port) if port else None)
        if 'body' in kwargs:
            kwargs['body'] = w.fill(kwargs['body'])
        return base.send(self, method, url,
                         token=w.fill(token) if token else False, **kwargs)

    def assertNovaFault(self, response, status, message):
        """Status, fault name and exact message; no traceback."""
        self.assertEqual(
            (status, {FAULT_NAMES[status]: {'code': status,
                                            'message': message}}),
            (response.status_int, response.json), response.text)
        self.assertEqual('application/json', response.content_type)
        self.assertNoTraceback(response)
        self.assertRequestIds(response)

    def assertEchoes(self, response, version):
        """Both microversion headers, and Vary naming them."""
        self.assertEqual(
            ('compute %s' % version, version, VARY),
            (response.headers.get(HEADER),
             response.headers.get(LEGACY_HEADER),
             response.headers.get('Vary')),
            response.headers)

    def assertNoMicroversion(self, response):
        for name in (HEADER, LEGACY_HEADER):
            self.assertNotIn(name, response.headers)
        self.assertNotIn(HEADER, response.headers.get('Vary', ''))

    def assertAttached(self, response, w, port_id=None):
        self.assertEqual(200, response.status_int, response.text)
        attachment = response.json['interfaceAttachment']
        if port_id is not None:
            self.assertEqual(port_id, attachment['port_id'])
        port, _ = self.port_of(attachment['port_id'])
        self.assertEqual(w.server, port.device_id)
        return attachment

    def stored_tag(self, port_id):
        attachments = tables.interface_attachments
        with self.service.database.reader() as conn:
            return conn.execute(sa.select(attachments.c.tag).where(
                attachments.c.port_id == port_id)).scalar_one()


# 1. Microversions

class TestMicroversionNegotiation(ContractTestCase):
    """/v2.1 negotiates 2.1 to 2.70 and echoes the version it serves."""

    def test_no_header_is_2_1_on_every_operation(self):
        w = self.make_world()
        responses = [
            self.call(w, 'POST', '/v2.1', body=port_body()),
            self.call(w, 'GET', '/v2.1'),
            self.call(w, 'GET', '/v2.1', port='{port}'),
            self.call(w, 'DELETE', '/v2.1/{project}', port='{port}'),
            base.send(self, 'GET', '/v2.1/servers/%s' % w.server),
            base.send(self, 'GET', '/v2.1/%s' % w.project),
            base.send(self, 'GET', '/v2.1/', token=False),
        ]
        for response in responses:
            self.assertLess(response.status_int, 300, response.text)
            self.assertEchoes(response, '2.1')

    def test_each_header_style_is_accepted_and_both_are_echoed(self):
        w = self.make_world()
        for _, header in HEADER_STYLES:
            for version in ('2.1', '2.48', '2.49', '2.69', '2.70'):
                response = self.call(w, 'GET', '/v2.1',
                                     headers=header(version))
                self.assertEqual(200, response.status_int, response.text)
                self.assertEchoes(response, version)

    def test_both_header_styles_on_create_show_and_delete(self):
        w = self.make_world()
        for _, header in HEADER_STYLES:
            for method, port, body, status in (
                    ('POST', None, port_body(), 200),
                    ('GET', '{port}', None, 200),
                    ('DELETE', '{port}', None, 202)):
                response = self.call(w, method, '/v2.1', port=port,
                                     body=body, headers=header('2.49'))
                self.assertEqual(status, response.status_int, response.text)
                self.assertEchoes(response, '2.49')

    def test_latest_is_2_70(self):
        w = self.make_world()
        self.call(w, 'POST', '/v2.1', body=port_body())
        for _, header in HEADER_STYLES:
            response = self.call(w, 'GET', '/v2.1', headers=header('latest'))
            self.assertEchoes(response, '2.70')
            # 2.70 behaviour: the tag is in the response.
            self.assertIsNone(
                response.json['interfaceAttachments'][0]['tag'])

    def test_a_version_for_another_service_is_no_version(self):
        w = self.make_world()
        response = self.call(w, 'GET', '/v2.1',
                             headers={HEADER: 'volume 3.70'})
        self.assertEqual(200, response.status_int, response.text)
        self.assertEchoes(response, '2.1')


def _echo_fault_test(row):
    def test(self):
        w = self.make_world()
        if row.arrange is not None:
            row.arrange(self, w)
        before = self.snapshot()
        response = self.call(w, row.method, '/v2.1', server=row.server,
                             token=row.token, body=row.body,
                             headers=row.header('2.49'))
        self.assertNovaFault(response, row.status, w.fill(row.message))
        self.assertEchoes(response, '2.49')
        self.assertEqual(before, self.snapshot())
    return test


def _lock(test, w):
    test.servers.set_locked(w.server, True)


_FAULT_KINDS = [
    # (name, status, message, request)
    ('schema error', 400,
     "Invalid input for field/attribute net_id. Value: foo. "
     "'foo' is not a 'uuid'",
     dict(method='POST', body=net_body('foo'))),
    ('no token', 401, UNAUTHORIZED,
     dict(method='GET', token=None)),
    ('policy denies', 403, denied('create'),
     dict(method='POST', token=READER, body=port_body())),
    ('server not found', 404, 'Instance {missing} could not be found.',
     dict(method='GET', server='{missing}')),
    ('server locked', 409, LOCKED,
     dict(method='POST', body=port_body(), arrange=_lock)),
]

ECHO_FAULT_ROWS = [
    Row('%s with the %s' % (kind, style), status, message, header=header,
        **dict(dict(server='{server}', token=MEMBER, body=None,
                    arrange=None), **request))
    for kind, status, message, request in _FAULT_KINDS
    for style, header in HEADER_STYLES]


class TestMicroversionOnFaults(ContractTestCase):
    """Every /v2.1 fault echoes the requested version, as success does."""


base.add_row_tests(TestMicroversionOnFaults, ECHO_FAULT_ROWS,
                   _echo_fault_test)


def _version_fault_test(row):
    def test(self):
        w = self.make_world()
        response = self.call(w, 'GET', '/v2.1',
                             headers=row.header(row.version))
        self.assertNovaFault(response, row.status, row.message)
        self.assertIn(HEADER, response.headers)
    return test


def out_of_range(version):
    return ('Version %s is not supported by the API. Minimum is 2.1 and '
            'maximum is 2.70.' % version)


def malformed(version):
    return ('API Version String %s is of invalid format. Must be of format '
            'MajorNum.MinorNum.' % version)


VERSION_FAULT_ROWS = [
    Row('version %s with the %s' % (version, style), status,
        message(version), version=version, header=header)
    for version, status, message in (
        ('2.0', 406, out_of_range),
        ('2.71', 406, out_of_range),
        ('3.0', 406, out_of_range),
        ('1.1', 406, out_of_range),
        ('2', 400, malformed),
        ('2.x', 400, malformed),
        ('foo', 400, malformed),
        ('2.01', 400, malformed),
    )
    for style, header in HEADER_STYLES]


class TestVersionFaults(ContractTestCase):
    """406 computeFault out of range, 400 malformed."""


base.add_row_tests(TestVersionFaults, VERSION_FAULT_ROWS,
                   _version_fault_test)


class TestTag(ContractTestCase):
    """``tag``: taken on create from 2.49, returned from 2.70."""

    def create(self, w, version, body, prefix='/v2.1'):
        return self.call(w, 'POST', prefix, body=body,
                         headers=compute_header(version))

    def test_tag_before_2_49_is_refused(self):
        w = self.make_world()
        before = self.snapshot()
        for version in ('2.1', '2.48'):
            response = self.create(w, version, net_body(tag='nic-tag'))
            self.assertNovaFault(
                response, 400,
                w.fill("Invalid input for field/attribute "
                       "interfaceAttachment. Value: {{'net_id': '{net}', "
                       "'tag': 'nic-tag'}}. Additional properties are not "
                       "allowed ('tag' was unexpected)"))
            self.assertEchoes(response, version)
        self.assertEqual(before, self.snapshot())

    def test_tag_from_2_49_is_stored(self):
        for tag in ('a', 'nic-tag', 'x' * 60, 'with space.and:colon'):
            w = self.make_world()
            response = self.create(w, '2.49', port_body(tag=tag))
            attachment = self.assertAttached(response, w, w.port)
            self.assertEqual(VIEW_KEYS, sorted(attachment))
            self.assertEqual(tag, self.stored_tag(w.port))
            shown = self.call(w, 'GET', '/v2.1', port='{port}',
                              headers=compute_header('2.70'))
            self.assertEqual(tag, shown.json['interfaceAttachment']['tag'])

    def test_invalid_tags_are_refused(self):
        long_tag = 'x' * 61
        for tag, message in (
                ('', "Invalid input for field/attribute tag. Value: . "
                     "'' should be non-empty"),
                (long_tag, "Invalid input for field/attribute tag. Value: "
                           "%s. '%s' is too long" % (long_tag, long_tag)),
                ('a,b', "Invalid input for field/attribute tag. Value: a,b. "
                        "'a,b' does not match '^[^,/]*$'"),
                ('a/b', "Invalid input for field/attribute tag. Value: a/b. "
                        "'a/b' does not match '^[^,/]*$'"),
                (5, "Invalid input for field/attribute tag. Value: 5. "
                    "5 is not of type 'string'"),
                (None, "Invalid input for field/attribute tag. Value: None. "
                       "None is not of type 'string'")):
            w = self.make_world()
            before = self.snapshot()
            for version in ('2.49', '2.70'):
                response = self.create(w, version, net_body(tag=tag))
                self.assertNovaFault(response, 400, message)
            self.assertEqual(before, self.snapshot())

    def test_tag_is_in_create_show_and_list_at_2_70(self):
        w = self.make_world()
        net2 = self.networks.create_network(w.project, 'second')
        self.networks.create_subnet(net2.id, '10.2.0.0/24')

        tagged = self.create(w, '2.70', port_body(tag='nic-tag'))
        untagged = self.create(w, '2.70', net_body(net2.id))
        tagged = self.assertAttached(tagged, w, w.port)
        untagged = self.assertAttached(untagged, w)
        self.assertEqual(('nic-tag', None), (tagged['tag'], untagged['tag']))
        self.assertEqual(VIEW_KEYS + ['tag'], sorted(tagged))
        self.assertIsNone(self.stored_tag(untagged['port_id']))

        latest = compute_header('2.70')
        for attachment in (tagged, untagged):
            shown = self.call(w, 'GET', '/v2.1', port=attachment['port_id'],
                              headers=latest)
            self.assertEqual({'interfaceAttachment': attachment},
                             shown.json)
        listed = self.call(w, 'GET', '/v2.1', headers=latest)
        self.assertEqual({'interfaceAttachments': [tagged, untagged]},
                         listed.json)

    def test_no_tag_in_responses_below_2_70(self):
        for version in ('2.1', '2.49', '2.69'):
            w = self.make_world()
            body = port_body() if version == '2.1' else port_body(tag='t')
            created = self.create(w, version, body)
            shown = self.call(w, 'GET', '/v2.1', port='{port}',
                              headers=compute_header(version))
            listed = self.call(w, 'GET', '/v2.1',
                               headers=compute_header(version))
            for view in (created.json['interfaceAttachment'],
                         shown.json['interfaceAttachment'],
                         listed.json['interfaceAttachments'][0]):
                self.assertEqual(VIEW_KEYS, sorted(view), version)


class TestTextNoDatabaseStores(ContractTestCase):
    """NUL and unpaired surrogates: 400 badRequest before any database.

    PostgreSQL refuses NUL in text, and an unpaired surrogate is no UTF-8
    (no driver can encode it): each used to be a 500. The messages show
    them escaped, as Python writes them.
    """

    def test_nul_in_a_tag_is_refused(self):
        w = self.make_world()
        before = self.snapshot()
        for version in ('2.49', '2.70'):
            response = self.create_tagged(w, version, 'a\x00b')
            self.assertNovaFault(
                response, 400,
                "Invalid input for field/attribute tag. Value: a\\x00b. "
                "'a\\x00b' contains a NUL character")
            self.assertEchoes(response, version)
        self.assertEqual(before, self.snapshot())

    def test_an_unpaired_surrogate_in_a_tag_is_refused(self):
        w = self.make_world()
        before = self.snapshot()
        # JSON carries one as an escape: json.dumps writes "\ud800".
        for tag in ('\ud800', 'x\udfff', '\ude42\ud83d'):
            response = self.create_tagged(w, '2.49', tag)
            escaped = tag.encode('unicode_escape').decode()
            self.assertNovaFault(
                response, 400,
                "Invalid input for field/attribute tag. Value: %s. '%s' "
                "contains an unpaired surrogate" % (escaped, escaped))
        self.assertEqual(before, self.snapshot())

    def test_a_surrogate_pair_is_a_character_and_is_stored(self):
        w = self.make_world()
        raw = (b'{"interfaceAttachment": {"port_id": "%s", '
               b'"tag": "\\ud83d\\ude42"}}' % w.port.encode())
        response = self.create(w, '2.49', None, raw=raw)
        self.assertAttached(response, w, w.port)
        self.assertEqual('\U0001f642', self.stored_tag(w.port))

    def test_nul_in_the_name_of_servers_detail_is_refused(self):
        w = self.make_world()
        for prefix in ('/v2/{project}', '/v2.1', '/v2.1/{project}'):
            for query, value in (('%00', '\\x00'), ('vm1%00', 'vm1\\x00')):
                response = base.send(
                    self, 'GET', w.fill(prefix) + '/servers/detail?name='
                    + query)
                self.assertNovaFault(
                    response, 400,
                    "Invalid input for query parameters name. Value: %s. "
                    "'%s' contains a NUL character" % (value, value))

    def create(self, w, version, body, raw=None):
        return self.call(w, 'POST', '/v2.1', body=body, raw=raw,
                         headers=compute_header(version))

    def create_tagged(self, w, version, tag):
        return self.create(w, version, net_body(tag=tag))


class TestV2HasNoMicroversions(ContractTestCase):
    """/v2: microversion headers are ignored, never sent; never a tag."""

    def test_headers_sent_are_ignored_and_none_come_back(self):
        w = self.make_world()
        for _, header in HEADER_STYLES:
            # Even versions /v2.1 would refuse (406, 400).
            for version in ('2.70', '2.71', 'foo'):
                response = self.call(w, 'GET', '/v2/{project}',
                                     headers=header(version))
                self.assertEqual(200, response.status_int, response.text)
                self.assertNoMicroversion(response)

    def test_no_headers_on_any_operation(self):
        w = self.make_world()
        latest = compute_header('2.70')
        for method, port, body, status in (
                ('POST', None, port_body(tag='t'), 200),
                ('GET', None, None, 200),
                ('GET', '{port}', None, 200),
                ('DELETE', '{port}', None, 202)):
            response = self.call(w, method, '/v2/{project}', port=port,
                                 body=body, headers=latest)
            self.assertEqual(status, response.status_int, response.text)
            self.assertNoMicroversion(response)

    def test_no_headers_on_faults(self):
        w = self.make_world()
        self.servers.set_locked(w.server, True)
        latest = compute_header('2.70')
        for status, request in (
                (400, dict(body=net_body('foo'))),
                (400, dict(body=port_body(), prefix='/v2/{other_project}')),
                (401, dict(body=port_body(), token=None)),
                (403, dict(body=port_body(), token=READER)),
                (404, dict(body=port_body(), server='{missing}')),
                (409, dict(body=port_body()))):
            request = dict(dict(prefix='/v2/{project}'), **request)
            response = self.call(w, 'POST', headers=latest, **request)
            self.assertEqual(status, response.status_int, response.text)
            self.assertNoMicroversion(response)

    def test_a_tag_in_the_body_is_ignored(self):
        """As any unknown key: not validated, not stored, not returned."""
        for tag in ('nic-tag', '', 'x' * 61, 'a,b', 5, {'not': 'a string'}):
            w = self.make_world()
            response = self.call(w, 'POST', '/v2/{project}',
                                 body=port_body(tag=tag),
                                 headers=compute_header('2.70'))
            attachment = self.assertAttached(response, w, w.port)
            self.assertEqual(VIEW_KEYS, sorted(attachment))
            self.assertIsNone(self.stored_tag(w.port))

    def test_never_a_tag_in_show_or_list(self):
        w = self.make_world()
        self.call(w, 'POST', '/v2.1', body=port_body(tag='nic-tag'),
                  headers=compute_header('2.49'))
        latest = compute_header('2.70')
        shown = self.call(w, 'GET', '/v2/{project}', port='{port}',
                          headers=latest)
        listed = self.call(w, 'GET', '/v2/{project}', headers=latest)
        self.assertEqual(VIEW_KEYS,
                         sorted(shown.json['interfaceAttachment']))
        self.assertEqual(VIEW_KEYS,
                         sorted(listed.json['interfaceAttachments'][0]))


# 2. The v2.1 error profile against /v2's

def _port_in_use(test, w):
    other = test.servers.create(w.project, 'vm2')
    response = base.send(test, 'POST', base.interfaces_url(other.id),
                         body=port_body(w.port))
    test.assertEqual(200, response.status_int, response.text)


def _address_taken(test, w):
    test.create_port(w.project, w.net, fixed_ip='10.0.0.50')


def _private_network_of_another_project(test, w):
    net = test.networks.create_network(w.other_project, 'theirs')
    test.networks.create_subnet(net.id, '192.0.2.0/24')
    w.net = net.id


JSON_BODY = '{"interfaceAttachment": {"port_id": "%s"}}'
OK = (200, None)

# name, /v2 (status, message), /v2.1 (status, message), the request.
PROFILE = [
    ('port in use',
     (400, 'Port {port} is still in use.'),
     (409, 'Port {port} is still in use.'),
     dict(body=port_body(), arrange=_port_in_use)),
    ('fixed IP already in use',
     (400, 'Fixed IP 10.0.0.50 is already in use.'),
     (409, 'Fixed IP 10.0.0.50 is already in use.'),
     dict(body=net_body(ip='10.0.0.50'), arrange=_address_taken)),
    ('port not found',
     (500, ATTACH_FAILED),
     (404, 'Port id {missing} could not be found.'),
     dict(body=port_body('{missing}'))),
    ('network not found',
     (500, ATTACH_FAILED),
     (404, 'Network {missing} could not be found.'),
     dict(body=net_body('{missing}'))),
    ('network of another project',
     (500, ATTACH_FAILED),
     (404, 'Network {net} could not be found.'),
     dict(body=net_body(), arrange=_private_network_of_another_project)),
    ('Content-Type text/plain',
     (400, 'Unsupported Content-Type'),
     (415, 'Unsupported Content-Type'),
     dict(raw=JSON_BODY, content_type='text/plain')),
    ('unknown key in interfaceAttachment',
     OK,
     (400, "Invalid input for field/attribute interfaceAttachment. Value: "
           "{{'port_id': '{port}', 'foo': 'bar'}}. Additional properties "
           "are not allowed ('foo' was unexpected)"),
     dict(body=port_body(foo='bar'))),
    ('unknown key beside interfaceAttachment',
     OK,
     (400, "Additional properties are not allowed ('foo' was unexpected)"),
     dict(body={'interfaceAttachment': {'port_id': '{port}'}, 'foo': 1})),
    ('subnet_id inside fixed_ips',
     OK,
     (400, "Invalid input for field/attribute 0. Value: "
           "{{'ip_address': '10.0.0.9', 'subnet_id': '{subnet}'}}. "
           "Additional properties are not allowed ('subnet_id' was "
           "unexpected)"),
     dict(body={'interfaceAttachment': {
         'net_id': '{net}',
         'fixed_ips': [{'ip_address': '10.0.0.9',
                        'subnet_id': '{subnet}'}]}})),
    ('empty body',
     OK,
     (400, "None is not of type 'object'"),
     dict(raw='')),
    ('JSON body without Content-Type',
     (400, 'Unsupported Content-Type'),
     OK,
     dict(raw=JSON_BODY, content_type=None)),
    ('Nova JSON media type',
     OK,
     OK,
     dict(raw=JSON_BODY,
          content_type='application/vnd.openstack.compute+json')),
]

PREFIXES = (('v2', '/v2/{project}'),
            ('v2.1 with project', '/v2.1/{project}'),
            ('v2.1', '/v2.1'))

PROFILE_ROWS = [
    Row('%s on %s' % (name, surface), expected[0], expected[1],
        prefix=prefix, on_v2=surface == 'v2',
        **dict(dict(arrange=None, body=None, raw=None,
                    content_type='application/json'), **request))
    for name, on_v2, on_v21, request in PROFILE
    for surface, prefix in PREFIXES
    for expected in [on_v2 if surface == 'v2' else on_v21]]


def _profile_test(row):
    def test(self):
        w = self.make_world()
        if row.arrange is not None:
            row.arrange(self, w)
        before = self.snapshot()
        raw = row.raw
        if raw is not None:
            raw = (raw % w.port if '%s' in raw else raw).encode('utf-8')
        response = self.call(w, 'POST', row.prefix, body=row.body, raw=raw,
                             content_type=row.content_type)
        if row.status == 200:
            self.assertAttached(response, w)
        else:
            self.assertNovaFault(response, row.status, w.fill(row.message))
            self.assertEqual(before, self.snapshot())
        if row.on_v2:
            self.assertNoMicroversion(response)
        else:
            self.assertEchoes(response, '2.1')
    return test


class TestErrorProfile(ContractTestCase):
    """One request, three prefixes: /v2's answer, then v2.1's."""


base.add_row_tests(TestErrorProfile, PROFILE_ROWS, _profile_test)


# 3. Version documents

def v2_summary(base_url='http://localhost'):
    return {'id': 'v2.0', 'version': '', 'min_version': '',
            'links': [{'rel': 'self', 'href': base_url + '/v2/'}]}


def v21_summary(base_url='http://localhost'):
    return {'id': 'v2.1', 'status': 'CURRENT', 'version': '2.70',
            'min_version': '2.1', 'updated': '2013-07-23T11:33:21Z',
            'links': [{'rel': 'self', 'href': base_url + '/v2.1/'}]}


def v21_document(base_url='http://localhost'):
    document = v21_summary(base_url)
    document['links'] = document['links'] + [
        {'rel': 'describedby', 'type': 'text/html',
         'href': 'http://docs.openstack.org/'}]
    document['media-types'] = [{
        'base': 'application/json',
        'type': 'application/vnd.openstack.compute+json;version=2.1'}]
    return {'version': document}


class TestVersionDocuments(ContractTestCase):
    """What keystoneauth and novaclient discover with."""

    def get(self, path, token=False):
        response = base.send(self, 'GET', path, token=token)
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual('application/json', response.content_type)
        self.assertRequestIds(response)
        return response

    def assertSubset(self, expected, actual):
        self.assertEqual(expected,
                         {key: actual.get(key) for key in expected})

    def test_root_lists_both_versions_without_a_token(self):
        self.start_service()
        versions = self.get('/').json['versions']
        self.assertEqual(['v2.0', 'v2.1'], [v['id'] for v in versions])
        self.assertSubset(v2_summary(), versions[0])
        self.assertSubset(v21_summary(), versions[1])

    def test_v2_document_without_a_token(self):
        self.start_service()
        for path in ('/v2', '/v2/'):
            document = self.get(path).json['version']
            self.assertSubset(dict(v2_summary(), links=[
                {'rel': 'self', 'href': 'http://localhost/v2/'},
                {'rel': 'describedby', 'type': 'text/html',
                 'href': 'http://docs.openstack.org/'}]), document)

    def test_v21_document_without_a_token(self):
        self.start_service()
        for path in ('/v2.1', '/v2.1/'):
            response = self.get(path)
            self.assertEqual(v21_document(), response.json)
            self.assertEchoes(response, '2.1')

    def test_v21_document_under_the_project_needs_a_token(self):
        """novaclient's discovery: GET /v2.1/{project_id}, authenticated."""
        w = self.make_world()
        for path in ('/v2.1/%s' % w.project, '/v2.1/%s/' % w.project):
            self.assertEqual(v21_document(),
                             self.get(path, token=base.member()).json)
            response = base.send(self, 'GET', path, token=False)
            self.assertNovaFault(response, 401, UNAUTHORIZED)
            self.assertEchoes(response, '2.1')

    def test_documents_answer_a_microversion_request(self):
        self.start_service()
        response = base.send(self, 'GET', '/v2.1/', token=False,
                             headers=compute_header('2.49'))
        self.assertEqual(v21_document(), response.json)
        self.assertEchoes(response, '2.49')


# 4. Server reads

SERVER_PREFIXES = (('v2', '/v2/{project}'), ('v2.1', '/v2.1'),
                   ('v2.1 with project', '/v2.1/{project}'))


class TestServerReads(ContractTestCase):
    """GET .../servers/{id} and .../servers/detail?name=, both surfaces."""

    def read(self, w, prefix, path, token=MEMBER):
        return base.send(self, 'GET', w.fill(prefix) + path,
                         token=w.fill(token))

    def test_show_server(self):
        w = self.make_world()
        for _, prefix in SERVER_PREFIXES:
            for server_id in (w.server, w.server.upper(),
                              w.server.replace('-', '')):
                response = self.read(w, prefix, '/servers/%s' % server_id)
                self.assertEqual(200, response.status_int, response.text)
                server = response.json['server']
                self.assertEqual(
                    {'id': w.server, 'name': 'vm1', 'status': 'ACTIVE',
                     'tenant_id': w.project, 'user_id': 'alice',
                     'locked': False},
                    {key: server[key] for key in ('id', 'name', 'status',
                                                  'tenant_id', 'user_id',
                                                  'locked')})
                self.assertEqual(
                    'http://localhost%s/servers/%s'
                    % (w.fill(prefix), w.server),
                    server['links'][0]['href'])

    def test_status_follows_the_vm_state(self):
        w = self.make_world()
        for vm_state, status in (('active', 'ACTIVE'),
                                 ('stopped', 'SHUTOFF'),
                                 ('paused', 'PAUSED'),
                                 ('error', 'ERROR'),
                                 ('suspended', 'SUSPENDED'),
                                 ('building', 'BUILD')):
            self.servers.set_state(w.server, vm_state=vm_state)
            for _, prefix in SERVER_PREFIXES:
                server = self.read(w, prefix, '/servers/%s' % w.server).json[
                    'server']
                self.assertEqual((status, vm_state),
                                 (server['status'],
                                  server['OS-EXT-STS:vm_state']))

    def test_another_projects_server_is_not_found(self):
        w = self.make_world()
        w.server = self.servers.create(w.other_project, 'theirs').id
        for _, prefix in SERVER_PREFIXES:
            response = self.read(w, prefix, '/servers/%s' % w.server)
            self.assertNovaFault(response, 404, w.fill(SERVER_NOT_FOUND))

    def test_missing_and_bogus_servers_are_not_found(self):
        w = self.make_world()
        for server_id in (w.missing, 'foo'):
            for _, prefix in SERVER_PREFIXES:
                response = self.read(w, prefix, '/servers/%s' % server_id)
                self.assertNovaFault(
                    response, 404,
                    'Instance %s could not be found.' % server_id)

    def test_admin_reads_another_projects_server(self):
        w = self.make_world()
        response = self.read(w, '/v2/{other_project}',
                             '/servers/%s' % w.server, token=OTHER_ADMIN)
        self.assertEqual(w.project, response.json['server']['tenant_id'])

    def test_detail_by_name(self):
        w = self.make_world()
        vm2 = self.servers.create(w.project, 'vm2')
        twin = self.servers.create(w.project, 'vm1')
        self.servers.create(w.other_project, 'vm1')
        for _, prefix in SERVER_PREFIXES:
            def names(query):
                response = self.read(w, prefix, '/servers/detail' + query)
                self.assertEqual(200, response.status_int, response.text)
                return [(s['id'], s['name'], s['tenant_id'])
                        for s in response.json['servers']]
            self.assertEqual([(w.server, 'vm1', w.project),
                              (twin.id, 'vm1', w.project)],
                             names('?name=vm1'))
            self.assertEqual([(vm2.id, 'vm2', w.project)],
                             names('?name=vm2'))
            self.assertEqual([], names('?name=nothing'))
            self.assertEqual([w.server, vm2.id, twin.id],
                             [s[0] for s in names('')])

    def test_detail_never_lists_another_projects_servers(self):
        w = self.make_world()
        theirs = self.servers.create(w.other_project, 'theirs')
        for token, prefix, expected in (
                (MEMBER, '/v2/{project}', [w.server]),
                (OTHER_MEMBER, '/v2/{other_project}', [theirs.id]),
                (OTHER_ADMIN, '/v2.1', [theirs.id])):
            for query in ('', '?name=theirs', '?name=vm1'):
                response = self.read(w, prefix, '/servers/detail' + query,
                                     token=token)
                self.assertEqual(200, response.status_int, response.text)
                listed = [s['id'] for s in response.json['servers']]
                self.assertEqual([], [i for i in listed if i not in expected])
            self.assertEqual(expected, [s['id'] for s in self.read(
                w, prefix, '/servers/detail', token=token).json['servers']])


# 5. The role matrix

def _attach_the_port(test, w):
    response = base.send(test, 'POST', base.interfaces_url(w.server),
                         body=port_body(w.port))
    test.assertEqual(200, response.status_int, response.text)


# (operation, method, port in URL, body, success status)
OPERATIONS = (
    ('list', 'GET', None, None, 200),
    ('show', 'GET', '{port}', None, 200),
    ('create', 'POST', None, port_body(), 200),
    ('delete', 'DELETE', '{port}', None, 202),
)

# (role, token, URL project on /v2, {operation: (status, message)})
ALLOWED = {op[0]: (op[4], None) for op in OPERATIONS}
NOT_VISIBLE = {op[0]: (404, SERVER_NOT_FOUND) for op in OPERATIONS}
ROLES = (
    ('admin of another project', OTHER_ADMIN, '{other_project}', ALLOWED),
    ('member', MEMBER, '{project}', ALLOWED),
    ('reader', READER, '{project}',
     dict(ALLOWED, create=(403, denied('create')),
          delete=(403, denied('delete')))),
    ('member of another project', OTHER_MEMBER, '{other_project}',
     NOT_VISIBLE),
)

MATRIX_ROWS = [
    Row('%s %s on %s' % (role, operation, surface), cells[operation][0],
        cells[operation][1], operation=operation, method=method, port=port,
        body=body, token=token,
        prefix='/v2/%s' % url_project if surface == 'v2' else '/v2.1')
    for role, token, url_project, cells in ROLES
    for surface in ('v2', 'v2.1')
    for operation, method, port, body, _ in OPERATIONS
] + [
    # /v2 checks the URL's project against the token's before anything.
    Row('member of another project %s on v2 under the server project'
        % operation, 400, MISMATCH, operation=operation, method=method,
        port=port, body=body, token=OTHER_MEMBER, prefix='/v2/{project}')
    for operation, method, port, body, _ in OPERATIONS
]


def _matrix_test(row):
    def test(self):
        w = self.make_world()
        w.url_project, w.token_project = w.project, w.other_project
        if row.operation != 'create':
            _attach_the_port(self, w)
        before = self.snapshot()
        response = self.call(w, row.method, row.prefix, port=row.port,
                             token=row.token, body=row.body)
        if row.message is not None:
            self.assertNovaFault(response, row.status, w.fill(row.message))
            self.assertEqual(before, self.snapshot())
            return
        self.assertEqual(row.status, response.status_int, response.text)
        self.assertRequestIds(response)
        port, _ = self.port_of(w.port)
        if row.operation == 'list':
            self.assertEqual([w.port], [
                a['port_id'] for a in response.json['interfaceAttachments']])
        elif row.operation == 'delete':
            self.assertEqual(('', b''), (port.device_id, response.body))
        else:
            self.assertEqual(
                w.port, response.json['interfaceAttachment']['port_id'])
            self.assertEqual(w.server, port.device_id)
    return test


class TestRoleMatrix(ContractTestCase):
    """Each cell: a role, an operation, a surface; status and fault."""


base.add_row_tests(TestRoleMatrix, MATRIX_ROWS, _matrix_test)

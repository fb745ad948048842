"""The domain exceptions: what went wrong, in words, never in HTTP codes.

Each API surface maps these classes to status codes in one table
(``interface_attach.api.surfaces``). Messages follow Nova's, so that
clients and operators see familiar text.
"""


class InterfaceAttachError(Exception):
    """Base of every error this service raises on purpose."""

    msg_fmt = 'An unknown error occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message or self.msg_fmt % kwargs)

    @property
    def message(self):
        return str(self)


# 400: the request itself is wrong.

class Invalid(InterfaceAttachError):
    msg_fmt = 'Unacceptable parameters.'


class ValidationError(Invalid):
    """The body does not match the request schema."""


class MalformedBody(Invalid):
    msg_fmt = 'Malformed request body'


class UnsupportedContentType(Invalid):
    msg_fmt = 'Unsupported Content-Type'


class ProjectMismatch(Invalid):
    msg_fmt = ("Malformed request URL: URL's project_id '%(url)s' doesn't "
               "match Context's project_id '%(context)s'")


class InvalidVersion(Invalid):
    msg_fmt = ('API Version String %(version)s is of invalid format. Must '
               'be of format MajorNum.MinorNum.')


class NetworkAndPortGiven(Invalid):
    msg_fmt = 'Must not input both network_id and port_id'


class FixedIpWithoutNetwork(Invalid):
    msg_fmt = 'Must input network_id when request IP address'


class PortInUse(Invalid):
    msg_fmt = 'Port %(port_id)s is still in use.'


class FixedIpAlreadyInUse(Invalid):
    msg_fmt = 'Fixed IP %(address)s is already in use.'


class NetworkDuplicated(Invalid):
    msg_fmt = ('Network %(network_id)s is duplicated: server %(server_id)s '
               'is already associated with a port on it.')


class NetworkAmbiguous(Invalid):
    msg_fmt = ('Multiple possible networks found, use a Network ID to be '
               'more specific.')


class NoNetworkAvailable(Invalid):
    msg_fmt = ("No specific network was requested and none are available "
               "for project '%(project_id)s'.")


class FixedIpInvalidForNetwork(Invalid):
    msg_fmt = ('Fixed IP %(address)s is not a valid ip address for network '
               '%(network_id)s.')


class InvalidSubnet(Invalid):
    # Neutron's InvalidInput wording: operators see what Neutron says.
    msg_fmt = 'Invalid input for operation: %(reason)s.'


class SubnetOverlaps(InvalidSubnet):
    msg_fmt = ('Invalid input for operation: Requested subnet with cidr: '
               '%(cidr)s for network: %(network_id)s overlaps with another '
               'subnet.')


class NoMoreFixedIps(Invalid):
    msg_fmt = 'No fixed IP addresses available for network: %(network_id)s'


class PortNotUsable(Invalid):
    msg_fmt = 'Port %(port_id)s not usable for instance %(server_id)s.'


# 403

class Forbidden(InterfaceAttachError):
    msg_fmt = 'Forbidden'


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


# 404

class NotFound(InterfaceAttachError):
    msg_fmt = 'Resource could not be found.'


class ServerNotFound(NotFound):
    msg_fmt = 'Instance %(server_id)s could not be found.'


class PortNotFound(NotFound):
    msg_fmt = 'Port id %(port_id)s could not be found.'


class NetworkNotFound(NotFound):
    msg_fmt = 'Network %(network_id)s could not be found.'


class SubnetNotFound(NotFound):
    msg_fmt = 'Subnet %(subnet_id)s could not be found.'


class PortNotAttached(NotFound):
    msg_fmt = ('Instance %(server_id)s does not have a port with id '
               '%(port_id)s')


# 406

class VersionNotSupported(InterfaceAttachError):
    msg_fmt = ('Version %(version)s is not supported by the API. Minimum is '
               '%(min)s and maximum is %(max)s.')


# 409

class Conflict(InterfaceAttachError):
    msg_fmt = 'Conflict'


class ServerLocked(Conflict):
    msg_fmt = 'Instance %(server_id)s is locked'


class ServerInvalidState(Conflict):
    msg_fmt = ("Cannot '%(action)s' instance %(server_id)s while it is in "
               "%(attr)s %(state)s")


class PortExists(Conflict):
    msg_fmt = 'Port %(port_id)s already exists.'


class InUse(Conflict):
    """A resource cannot be deleted while something uses it."""

    msg_fmt = '%(resource)s %(id)s is in use.'


# 413 on /v2, 403 on /v2.1: a quota of the network service.

class PortLimitExceeded(InterfaceAttachError):
    msg_fmt = 'Maximum number of ports exceeded'


# 500

class OperationTakenOver(InterfaceAttachError):
    """Recovery took an attach or detach over from us; we must not act."""

    msg_fmt = 'The operation on port %(port_id)s was taken over.'


class AttachFailed(InterfaceAttachError):
    msg_fmt = 'Failed to attach interface'


class DetachFailed(InterfaceAttachError):
    msg_fmt = 'Failed to detach network adapter device from %(server_id)s'


# 501

class DriverNotSupported(InterfaceAttachError):
    msg_fmt = 'Network driver does not support this function.'


class AttachNotSupported(DriverNotSupported):
    """The server's compute host cannot hot-plug (a 400 on /v2.1)."""

    msg_fmt = ('Attaching interfaces is not supported for instance '
               '%(server_id)s.')


# 503

class ServiceUnavailable(InterfaceAttachError):
    """A service we depend on cannot be reached or did not answer in time.

    ``retry_after`` (seconds) is sent to the client as Retry-After.
    """

    msg_fmt = ('The %(service)s service is unavailable. Please try again '
               'later.')

    def __init__(self, message=None, retry_after=30, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class WriteOutcomeUnknown(ServiceUnavailable):
    """A write's COMMIT lost its connection; whether it landed is unknown."""

    msg_fmt = ('The database service was lost while this change was being '
               'saved, and whether it was saved is not known. Look before '
               'trying again.')


class ComputeTimedOut(ServiceUnavailable):
    """The compute host did not answer an attach in time.

    It may still act on it later.
    """

    msg_fmt = ('The compute service is unavailable. Please try again '
               'later.')


# Refusals at start-up (never a request's answer, so no surface maps them)

class InvalidPolicyFile(InterfaceAttachError):
    msg_fmt = 'policy file %(path)s: %(problem)s'


class DatabaseMissing(InterfaceAttachError):
    """No SQLite file where one must be opened, not created."""

    msg_fmt = ('The database file %(path)s does not exist: "interface-'
               'attach-manage db sync" creates it')


class DatabaseLost(DatabaseMissing):
    """No SQLite file where one was in use: it must not be made anew."""

    msg_fmt = ('The database file %(path)s is missing, but %(marker)s shows '
               'a database was in use there: restore the file, or remove '
               '%(marker)s to start from an empty database')

"""nova-compute with the test tree's virt drivers (``fake_virt``).

Nova imports ``compute_driver`` as ``nova.virt.<compute_driver>`` and
nothing else, so this module publishes ``fake_virt`` under the name
``nova.virt.ia_fake_virt`` before running nova-compute's own main:
``compute_driver = ia_fake_virt.AttachFakeDriver``.
"""

import sys

# First: nova.cmd.compute applies Nova's monkey patching on import.
from nova.cmd import compute  # noqa: I100
import nova.virt  # noqa: E402

from tests.functional.nova import fake_virt  # noqa: E402

MODULE = 'ia_fake_virt'

sys.modules['nova.virt.%s' % MODULE] = fake_virt
setattr(nova.virt, MODULE, fake_virt)

if __name__ == '__main__':
    sys.exit(compute.main())

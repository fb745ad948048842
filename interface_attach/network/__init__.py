"""Network drivers: load the configured one from its stevedore namespace."""

from stevedore import driver as stevedore_driver

NAMESPACE = 'interface_attach.network_drivers'


def load_driver(conf, database):
    """Instantiate ``[network] driver`` with the config and database."""
    manager = stevedore_driver.DriverManager(
        NAMESPACE, conf.network.driver, invoke_on_load=True,
        invoke_args=(conf, database))
    return manager.driver

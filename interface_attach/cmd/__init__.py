"""Console scripts: interface-attach-api and interface-attach-manage."""

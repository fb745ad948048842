"""Nova mode: the filter inside nova-api serves Nova's own servers."""

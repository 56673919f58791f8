"""The chaos suite: the real stack under random process kills, then an invariant check that
reads only external evidence (the log, the tables, the topic, the providers' ledgers)."""

"""Queries: ``federate`` (which endpoints a query may reach), ``pool`` (running a query in a killable,
network-less worker) and ``results`` (every result format, with a row cap)."""

"""`lontar run`: one batch digitized, from planning its work units to the run report (the lontar-digitize flow)."""

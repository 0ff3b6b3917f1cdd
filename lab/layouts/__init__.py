"""Renderers from the physics state of one switch to SNMP OID rows, one per vendor layout."""

"""The lab: a simulated fabric (optics, connectors, faults) served as real SNMP agents."""

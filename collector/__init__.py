"""The collector: async SNMP polling of DOM, FEC and error counters, normalized to Samples."""

"""The collector: polls switches over SNMP and hands normalized sample batches to sinks.

Public API (what the CLI wiring uses)::

    from collector.api import Collector, Target, SnmpCredentials, poll_once
    creds = SnmpCredentials(version="2c", community_env="LM_COMMUNITY")  # or an inventory's credentials
    c = Collector([Target("leaf1", "10.0.0.7", 161, creds)],
                  publisher=bus)          # any linkmargin.bus.Publisher: InProcessBus or MqttPublisher
    await c.run(stop_event)               # Prometheus registry at c.registry (c.serve_metrics(port))
"""

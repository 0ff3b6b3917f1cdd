"""The lab: a simulated fabric (optics, connectors, faults) served as real SNMP agents.

Public API (what the CLI wiring, tests and backtests call):
- ``lab.scenario.load_scenario(name_or_path, seed=None) -> Scenario`` (shipped: demo, training-21d, stress);
  ``Scenario.at("6h" | iso | seconds) -> seconds after start``.
- ``lab.physics.sim.FabricSim(scenario)``: ``.advance_to(t_s, max_steps=None)``,
  ``.optical(t) -> OpticalState`` (true tx/rx/loss/margin/BER arrays),
  ``.dom(state) -> DomReadings`` (what modules report), ``.fleet``
  (``Fleet`` arrays: devices, ports, links, connection points), ``.events`` (``EventTable``).
- ``lab.fabric.LabFabric(scenario, speed, start_s, refresh_s, clock)``: ``.view(device) -> MibView``,
  ``.endpoints(base_port) -> {name: DeviceEndpoint}`` for ``lab.agent.AgentServer``, ``.table(bound)``,
  ``.on_reboot`` hook; ``lab.fabric.v3_keys()`` (env LINKMARGIN_LAB_AUTH_KEY / LINKMARGIN_LAB_PRIV_KEY).
- ``lab.layouts.render.render_all(sim) -> {device: [(oid, value)]}``, ``render_switch(sim, device)``;
  vendor layouts are data in ``lab.layouts.specs.LAYOUTS``.
- ``lab.truth`` (lanes, events, implied_inventory, writer, causes, cohorts): ``run_truth(sim, step_s,
  until_s) -> polars lanes frame``, ``events_frame(sim)``, ``inventory(sim) -> dict``
  (docs/ARCHITECTURE.md "The inventory"), ``write_truth(sim, out_dir)``, ``crossing_causes``,
  ``cohort_truth``.
- ``lab.snapshot``: ``snapshot_views(scenario, at_s)``, ``write_snapshot(scenario, at_s, out_dir)``.
"""

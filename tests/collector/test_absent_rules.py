"""The no-light and placeholder rules as data (collector.decode.common.AbsentRules), on decoded frames."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from collector.decode.common import AbsentRules, Breakout, apply_absent, breakout_ports, placeholder_zero

COLS = {
    "port": pl.String,
    "lane": pl.Int64,
    "metric": pl.String,
    "value": pl.Float64,
    "reason": pl.String,
    "aggregate": pl.Boolean,
    "_raw": pl.Float64,
    "_text": pl.String,
}


def frame(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=COLS, orient="row")


def by_key(f: pl.DataFrame) -> dict[tuple[str, int | None, str], tuple[float | None, str | None]]:
    return {(r["port"], r["lane"], r["metric"]): (r["value"], r["reason"]) for r in f.iter_rows(named=True)}


def test_vendor_sentinels_and_texts_are_sentinels_not_readings() -> None:
    rules = AbsentRules(sentinels=[-1, -10000, -100001], texts=["N/A", ""])
    f = frame(
        [
            ("p1", 1, "rx_power_dbm", -100.0, None, False, -10000.0, None),  # -10000 x 0.01 dBm
            ("p1", 2, "rx_power_dbm", None, "decode_error", False, None, " n/a "),  # text, any case
            ("p1", 3, "rx_power_dbm", None, "decode_error", False, None, ""),  # empty lane column
            ("p1", 4, "rx_power_dbm", -2.5, None, False, -250.0, None),  # a reading
            ("p1", None, "tx_bias_ma", None, "no_light", False, -1.0, None),  # -1 uA: sentinel wins
            ("p1", None, "thr_rx_power_dbm_low_alarm", -1000.01, None, False, -100001.0, None),
            ("p1", None, "in_errors", -1.0, None, False, -1.0, None),  # counters are not touched
        ]
    )
    got = by_key(apply_absent(f, rules))
    assert got[("p1", 1, "rx_power_dbm")] == (None, "sentinel")
    assert got[("p1", 2, "rx_power_dbm")] == (None, "sentinel")
    assert got[("p1", 3, "rx_power_dbm")] == (None, "sentinel")
    assert got[("p1", 4, "rx_power_dbm")] == (-2.5, None)
    assert got[("p1", None, "tx_bias_ma")] == (None, "sentinel")
    assert got[("p1", None, "thr_rx_power_dbm_low_alarm")] == (None, "sentinel")
    assert got[("p1", None, "in_errors")] == (-1.0, None)


def test_floor_at_minus_40_with_float_slack_and_readings_above() -> None:
    f = frame(
        [
            ("p", 1, "rx_power_dbm", -39.99999999999999, None, False, 1.0, None),  # raw 1 x 0.0001 mW
            ("p", 2, "rx_power_dbm", -36.9897, None, False, 2.0, None),  # raw 2: a (tiny) reading
            ("p", 3, "tx_power_dbm", -40.0, None, False, -4000.0, None),
            ("p", None, "thr_rx_power_dbm_low_alarm", -40.0, None, False, -4000.0, None),  # not a reading
        ]
    )
    got = by_key(apply_absent(f, AbsentRules()))
    assert got[("p", 1, "rx_power_dbm")] == (None, "no_light")
    assert got[("p", 2, "rx_power_dbm")] == (pytest.approx(-36.9897), None)
    assert got[("p", 3, "tx_power_dbm")] == (None, "no_light")
    assert got[("p", None, "thr_rx_power_dbm_low_alarm")] == (-40.0, None)
    stricter = by_key(apply_absent(f, AbsentRules(floor_dbm=-36.0)))
    assert stricter[("p", 2, "rx_power_dbm")] == (None, "no_light")


def test_module_zero_on_multilane_is_a_lane_aggregate_but_not_on_single_lane() -> None:
    f = frame(
        [
            ("q", None, "rx_power_dbm", None, "no_light", False, 0.0, None),
            ("q", 1, "rx_power_dbm", -2.0, None, False, -200.0, None),
            ("s", None, "rx_power_dbm", None, "no_light", False, 0.0, None),  # an SFP: no lanes
        ]
    )
    on = apply_absent(f, AbsentRules(module_zero_multilane=True))
    got = by_key(on)
    assert got[("q", None, "rx_power_dbm")] == (None, "lane_aggregate")
    assert on.filter(pl.col("port") == "q", pl.col("lane").is_null())["aggregate"].item() is True
    assert got[("s", None, "rx_power_dbm")] == (None, "no_light")
    assert by_key(apply_absent(f, AbsentRules()))[("q", None, "rx_power_dbm")] == (None, "no_light")


def test_zero_dbm_on_an_oper_down_port_is_a_placeholder_on_an_up_port_a_reading() -> None:
    f = frame(
        [
            ("down", 1, "rx_power_dbm", 0.0, None, False, 0.0, None),
            ("up", 1, "rx_power_dbm", 0.0, None, False, 0.0, None),
            ("down", 1, "tx_power_dbm", 0.0, None, False, 0.0, None),  # only Rx is the placeholder
        ]
    )
    state = pl.DataFrame({"port": ["down", "up"], "admin_status": [1, 1], "oper_status": [2, 1]})
    got = by_key(placeholder_zero(f, state))
    assert got[("down", 1, "rx_power_dbm")] == (None, "placeholder")
    assert got[("up", 1, "rx_power_dbm")] == (0.0, None)
    assert got[("down", 1, "tx_power_dbm")] == (0.0, None)


def test_breakout_ports_by_name_and_by_alias() -> None:
    ports = pl.DataFrame(
        {"ifindex": [1, 2, 3, 4], "port": ["Eth1/2/1", "Eth1/2/2", "Eth1/3", "Ethernet8"]},
        schema={"ifindex": pl.Int64, "port": pl.String},
    )
    subs = breakout_ports(ports, {}, Breakout(pattern=r"^(?P<module>Eth\d+/\d+)/(?P<sub>\d+)$"))
    assert sorted(subs.select("port", "rank", "n").iter_rows()) == [("Eth1/2/1", 0, 2), ("Eth1/2/2", 1, 2)]
    alias = {"etp2a": "Ethernet8", "etp2b": "Eth1/3", "Ethernet8": "Ethernet8"}
    got = breakout_ports(ports, alias, Breakout(label="alias", pattern=r"^(?P<module>etp\d+)(?P<sub>[a-h])$"))
    assert sorted(got.select("port", "rank").iter_rows()) == [("Eth1/3", 1), ("Ethernet8", 0)]


def test_rules_are_validated() -> None:
    with pytest.raises(ValidationError):
        AbsentRules.model_validate({"sentinel": [-1]})  # unknown key
    with pytest.raises(ValidationError, match="named group"):
        Breakout(pattern=r"^(?P<module>etp\d+)$")


def test_a_switched_off_laser_has_no_bias_reading_on_an_admin_down_port() -> None:
    """Tx bias 0 mA on an admin-down port is "laser off", absent like its Tx power; elsewhere a reading."""
    from collector.decode.common import mark_port_state

    f = frame(
        [
            ("off", 1, "tx_bias_ma", 0.0, None, False, 0.0, None),
            ("off", 1, "tx_power_dbm", None, "no_light", False, 0.0, None),
            ("dark", 1, "tx_bias_ma", 0.0, None, False, 0.0, None),  # admin up: a dead laser reads 0
            ("up", 1, "tx_bias_ma", 6.5, None, False, 6.5, None),
        ]
    )
    state = pl.DataFrame({"port": ["off", "dark", "up"], "admin_status": [2, 1, 1], "oper_status": [2, 2, 1]})
    got = by_key(mark_port_state(f, state))
    assert got[("off", 1, "tx_bias_ma")] == (None, "admin_down")
    assert got[("off", 1, "tx_power_dbm")] == (None, "admin_down")
    assert got[("dark", 1, "tx_bias_ma")] == (0.0, None)
    assert got[("up", 1, "tx_bias_ma")] == (6.5, None)


def test_a_pre_fec_ber_of_zero_on_a_port_that_is_not_up_is_no_reading() -> None:
    """No bits received, no ratio: BER 0 on a down port is absent (dark_port / admin_down); on an up
    port, 0 is a real (error-free) reading, and a non-zero BER on a down port is kept."""
    from collector.decode.common import mark_port_state

    f = frame(
        [
            ("dark", 0, "pre_fec_ber", 0.0, None, False, 0.0, None),
            ("off", 0, "pre_fec_ber", 0.0, None, False, 0.0, None),
            ("up", 0, "pre_fec_ber", 0.0, None, False, 0.0, None),
            ("flap", 0, "pre_fec_ber", 1e-5, None, False, 1e-5, None),
        ]
    )
    state = pl.DataFrame(
        {"port": ["dark", "off", "up", "flap"], "admin_status": [1, 2, 1, 1], "oper_status": [2, 2, 1, 2]}
    )
    got = by_key(mark_port_state(f, state))
    assert got[("dark", 0, "pre_fec_ber")] == (None, "dark_port")
    assert got[("off", 0, "pre_fec_ber")] == (None, "admin_down")
    assert got[("up", 0, "pre_fec_ber")] == (0.0, None)
    assert got[("flap", 0, "pre_fec_ber")] == (1e-5, None)

"""Generate the Grafana dashboards with Grafana's own Python SDK (``grafana-foundation-sdk``, the build
for Grafana 11.6); the JSON written beside this file is what it builds.

Four dashboards, one question each (README "Dashboards"): the fleet (which links lose margin before the
run ends, why, what to do), one link (both ends, its lanes, FEC and state, the suspect point), one port
lane by lane, and the collector (is every device answering). Drill-downs carry the time range, the
data source and the variables: fleet -> link -> lanes.

Grafana's dashboard schema (``@grafana/schema``) has no field for a Prometheus annotation's query, so
connector events are drawn as an overlay series on the Rx panels (a bar at each recorded mating or
cleaning, named by its point) instead of as dashboard annotations; tests/dashboards validates every
dashboard against the JSON schema generated from that package's TypeScript types.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import (
    barchart,
    bargauge,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAG = "linkmargin"
# what a drill-down link carries: the time range and the data source (each link adds its own variables)
CARRY = "${__url_time_range}&${datasource:queryparam}"
MARGIN_STEPS = ((None, "red"), (0.0, "orange"), (1.0, "yellow"), (2.0, "green"))
RISK_STEPS = ((None, "green"), (0.1, "yellow"), (0.5, "red"))
COUNT_STEPS = ((None, "green"), (1.0, "red"))
WEAR_STEPS = ((None, "green"), (0.8, "yellow"), (1.0, "red"))  # share of the rated mating cycles used
EXCESS_STEPS = ((None, "green"), (0.5, "orange"))  # the reflection cause's least rise (analyzer.reflection)

AnyPanel = cogbuilder.Builder[dm.Panel]


# ---- PromQL pieces -------------------------------------------------------------------------------


def _state_column(
    name: str, zero: tuple[str, str], one: tuple[str, str]
) -> tuple[str, list[dm.DynamicConfigValue]]:
    """A table column override showing a 0/1 state as coloured words (``(text, color)`` for each)."""
    options = {"0": {"text": zero[0], "color": zero[1]}, "1": {"text": one[0], "color": one[1]}}
    return (
        name,
        [
            dm.DynamicConfigValue(id_val="mappings", value=[{"type": "value", "options": options}]),
            dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
        ],
    )


def link_ends(selector: str) -> str:
    """``linkmargin_link_info`` of the matching links, once per end, with that end's ``device`` and
    ``port`` labels: what joins a link to the collector's per-port series."""
    info = f"linkmargin_link_info{{{selector}}}"
    ends = [
        f'label_replace(label_replace({info}, "device", "$1", "{e}_device", "(.+)"), '
        f'"port", "$1", "{e}_port", "(.+)")'
        for e in ("a", "b")
    ]
    return f"({ends[0]} or {ends[1]})"


LINK_ENDS = link_ends('link="$link"')


def on_link(expr: str) -> str:
    """A per-port series of the collector, restricted to both ends of ``$link`` (and labelled by it)."""
    return f"({expr}) * on (device, port) group_left (link) {LINK_ENDS}"


PORT = 'device="$device",port="$port"'
SUSPECT = "max by (link, point, cause, action) (linkmargin_link_suspect_point_info)"
# a bar where a connection point of $link was handled (mated, cleaned, ...): the legend names the point
EVENTS = 'increase(linkmargin_connection_events_total{link="$link"}[$__rate_interval]) > 0'


# ---- panel helpers -------------------------------------------------------------------------------


def q(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, table_fmt: bool = False) -> Any:
    """A Prometheus query; ``instant`` for stat/table panels, ``table_fmt`` for table joins."""
    b = prometheus.Dataquery().expr(expr).ref_id(ref).legend_format(legend or "__auto")
    b = b.instant() if instant else b.range()
    if table_fmt:
        b = b.format(PromQueryFormat.TABLE)
    return b


def steps(spec: Sequence[tuple[float | None, str]]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in spec])
    )


def data_link(title: str, url: str) -> db.DashboardLink:
    return db.DashboardLink(title).type(dm.DashboardLinkType.LINK).url(url)


def to_link(var: str = "${__field.labels.link}") -> db.DashboardLink:
    return data_link(
        "Open this link", f"/d/linkmargin-link/link?var-link={var}&${{horizon:queryparam}}&{CARRY}"
    )


def to_lanes(link: str = "${link}") -> db.DashboardLink:
    return data_link(
        "Open this port lane by lane",
        f"/d/linkmargin-lanes/lanes?var-link={link}&var-device=${{__field.labels.device}}"
        f"&var-port=${{__field.labels.port}}&{CARRY}",
    )


def ts(
    title: str,
    description: str,
    targets: Sequence[Any],
    unit: str,
    *,
    w: int = 12,
    h: int = 8,
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    links: Sequence[db.DashboardLink] = (),
    bars: str | None = None,
    dashed: str | None = None,
    log: bool = False,
) -> timeseries.Panel:
    """A time series panel. ``bars``: a regex of series drawn as bars on a hidden right axis (event
    markers); ``dashed``: a regex of series drawn as dashed red lines (thresholds)."""
    p = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(w)
        .height(h)
        .thresholds(steps(thresholds))
        .legend(
            cb.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )
    for t in targets:
        p = p.with_target(t)
    if links:
        p = p.data_links(list(links))
    if log:
        p = p.scale_distribution(cb.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10))
    if bars:
        p = p.override_by_regexp(
            bars,
            [
                dm.DynamicConfigValue(id_val="custom.drawStyle", value="bars"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="hidden"),
                dm.DynamicConfigValue(id_val="custom.fillOpacity", value=60),
                dm.DynamicConfigValue(id_val="unit", value="none"),
                dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "purple"}),
            ],
        )
    if dashed:
        p = p.override_by_regexp(
            dashed,
            [
                dm.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
                dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"}),
            ],
        )
    return p


def single(
    title: str,
    description: str,
    expr: str,
    unit: str = "none",
    *,
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    w: int = 4,
    h: int = 4,
) -> stat.Panel:
    """One number, now."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(q(expr, instant=True))
        .unit(unit)
        .span(w)
        .height(h)
        .thresholds(steps(thresholds))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def state(
    title: str, description: str, expr: str, legend: str, *, w: int = 24, h: int = 6
) -> statetimeline.Panel:
    """Oper status over time: up green, down red, anything else orange."""
    names = {
        "1": ("up", "green"),
        "2": ("down", "red"),
        "3": ("testing", "orange"),
        "5": ("dormant", "orange"),
        "7": ("lower layer down", "red"),
    }
    mapping = dm.ValueMap(options={k: dm.ValueMappingResult(text=t, color=c) for k, (t, c) in names.items()})
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(q(expr, legend))
        .mappings([mapping])
        .span(w)
        .height(h)
        .show_value(common.VisibilityMode.NEVER)
    )


def tbl(
    title: str,
    description: str,
    targets: Sequence[Any],
    transformations: Sequence[dm.DataTransformerConfig],
    *,
    w: int = 24,
    h: int = 9,
    overrides: Sequence[tuple[str, list[dm.DynamicConfigValue]]] = (),
) -> table.Panel:
    p = table.Panel().title(title).description(description).datasource(DS).span(w).height(h)
    for t in targets:
        p = p.with_target(t)
    for tr in transformations:
        p = p.with_transformation(tr)
    for name, props in overrides:
        p = p.override_by_name(name, props)
    return p


def organize(exclude: Sequence[str], rename: dict[str, str]) -> dm.DataTransformerConfig:
    order = {name: i for i, name in enumerate(rename.values())}
    return dm.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {n: True for n in exclude},
            "renameByName": rename,
            "indexByName": {src: order[dst] for src, dst in rename.items()},
        },
    )


def join(field: str) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val="joinByField", options={"byField": field, "mode": "inner"})


def var_query(name: str, label: str, query: str, description: str, *, regex: str = "") -> db.QueryVariable:
    v = (
        db.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DS)
        .query(query)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    return v.regex(regex) if regex else v


def datasource_var() -> db.DatasourceVariable:
    return db.DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def horizon_var() -> db.QueryVariable:
    return var_query(
        "horizon",
        "Run horizon",
        "label_values(linkmargin_risk_probability, horizon)",
        "How far ahead the forecasts look: pick the length of the training run you care about.",
    )


def nav(*uids_titles: tuple[str, str]) -> list[db.DashboardLink]:
    """Top-of-dashboard links to the other linkmargin dashboards, keeping time and variables."""
    return [
        db.DashboardLink(title)
        .type(dm.DashboardLinkType.LINK)
        .url(f"/d/{uid}")
        .keep_time(True)
        .include_vars(True)
        .icon("dashboard")
        for uid, title in uids_titles
    ]


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: Sequence[Any],
    rows: Sequence[tuple[str, Sequence[AnyPanel]]],
    links: Sequence[db.DashboardLink],
) -> db.Dashboard:
    d = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("utc")
        .refresh("30s")
        .time("now-24h", "now")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .editable()
    )
    for v in [datasource_var(), *variables]:
        d = d.with_variable(v)
    for link in links:
        d = d.link(link)
    for row, panels in rows:
        d = d.with_row(db.Row(row))
        for p in panels:
            d = d.with_panel(p)
    return d


# ---- mating wear and reflections ----------------------------------------------------------------

_POINT_QUERIES = (
    ('max by (point, family) (linkmargin_connection_point_matings{link="$link"})', "Matings"),
    ('max by (point) (linkmargin_connection_point_rated_matings{link="$link"})', "Rated cycles"),
    (
        'max by (point) (linkmargin_connection_point_matings{link="$link"}'
        ' / linkmargin_connection_point_rated_matings{link="$link"})',
        "Share of rated cycles used",
    ),
    ('max by (point) (linkmargin_connection_point_step_probability{link="$link"})', "P(step) next mating"),
    ('max by (point) (linkmargin_connection_point_step_probability_low{link="$link"})', "P low (95 %)"),
    ('max by (point) (linkmargin_connection_point_step_probability_high{link="$link"})', "P high (95 %)"),
)


def _column(
    unit: str, thresholds: Sequence[tuple[float | None, str]] | None = None
) -> list[dm.DynamicConfigValue]:
    props = [dm.DynamicConfigValue(id_val="unit", value=unit)]
    if thresholds is not None:
        props += [
            dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
            dm.DynamicConfigValue(id_val="thresholds", value=steps(thresholds).build()),
        ]
    return props


def point_wear_table() -> table.Panel:
    """The link's connection points: matings of the installed end face against the rated cycles, and
    the chance the next mating leaves a loss step (with its 95 % interval)."""
    refs = "ABCDEF"
    return tbl(
        "Connection points: matings against rated cycles, and the risk of the next mating",
        "Every connector, panel port and splice of this link. Matings: how often the installed end face has "
        "been plugged in (a re-termination or replacement starts it again). Rated cycles: what the "
        "connector type is rated for (field MMC about 50, MPO/MTP about 500). Past 100 % (red) the end face "
        "is worn: replace or re-terminate it rather than mate it again. P(step) next mating: the fleet's "
        "chance that one more mating of this point leaves a loss step, at its mating count, with its 95 % "
        "interval.",
        [
            q(expr, ref=r, instant=True, table_fmt=True)
            for r, (expr, _) in zip(refs, _POINT_QUERIES, strict=True)
        ],
        [
            join("point"),
            organize(
                ["Time", *(f"Time {i}" for i in range(1, 7))],
                {
                    "point": "Point",
                    "family": "Connector",
                    **{f"Value #{r}": name for r, (_, name) in zip(refs, _POINT_QUERIES, strict=True)},
                },
            ),
            dm.DataTransformerConfig(
                id_val="sortBy", options={"sort": [{"field": "Share of rated cycles used", "desc": True}]}
            ),
        ],
        h=7,
        overrides=[
            ("Share of rated cycles used", _column("percentunit", WEAR_STEPS)),
            ("P(step) next mating", _column("percentunit", RISK_STEPS)),
            ("P low (95 %)", _column("percentunit")),
            ("P high (95 %)", _column("percentunit")),
        ],
    )


def wear_curve() -> barchart.Panel:
    """The fleet's wear curve: P(step per mating) per bin of matings / rated cycles, a bar per cohort."""
    expr = 'label_join(linkmargin_wear_step_probability, "cohort", " ", "family", "termination")'
    return (
        barchart.Panel()
        .title("Wear: loss-step probability per mating by how worn the connector is")
        .description(
            "The chance that one mating leaves a loss step, learned from the whole fleet, against how often "
            "the connector had been mated before, as a share of its rated cycles (0.85 = the bin from 85 % "
            "of the rated cycles up; 1.00 and above: past its rating). One bar colour per connector family "
            "and termination. A curve that climbs past 1.00 says: replace worn points instead of mating them "
            "again. Bins with few matings lean on the catalog's figure (see linkmargin query cohorts --wear)."
        )
        .datasource(DS)
        .with_target(q(expr, instant=True, table_fmt=True))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="groupingToMatrix",
                options={"columnField": "cohort", "rowField": "wear_bin", "valueField": "Value"},
            )
        )
        .with_transformation(
            dm.DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": "wear_bin\\cohort"}]})
        )
        .unit("percentunit")
        .span(24)
        .height(9)
        # a mating counts once 12 h of readings lie on both sides of it (analyzer.cohorts.mating_outcomes)
        .no_value("no mating observed yet with 12 h of readings on both sides")
    )


# ---- the dashboards ------------------------------------------------------------------------------

WORST = 'topk(20, max by (link) (linkmargin_risk_probability{horizon="$horizon"}))'


def fleet() -> db.Dashboard:
    worst_table = tbl(
        "Worst links: what to do first",
        "The 20 links most likely to lose their optical margin before the horizon, worst first. Margin "
        "now is the link's worst lane in dB above the receiver's sensitivity (below 0 the FEC starts to "
        "fail); forecast is the expected margin at the horizon; P is the chance it crosses zero before "
        "then. Point is the connector or splice most likely at fault, cause the analyzer's diagnosis, "
        "action what a technician should do. Click a link to open it.",
        [
            q(WORST, ref="A", instant=True, table_fmt=True),
            q("min by (link) (linkmargin_link_margin_db)", ref="B", instant=True, table_fmt=True),
            q(
                'min by (link) (linkmargin_margin_forecast_db{horizon="$horizon"})',
                ref="C",
                instant=True,
                table_fmt=True,
            ),
            q(
                "max by (link, point, cause, action) (linkmargin_link_suspect_point_info)",
                ref="D",
                instant=True,
                table_fmt=True,
            ),
        ],
        [
            join("link"),
            organize(
                ["Time", "Time 1", "Time 2", "Time 3", "Time 4", "Value #D"],
                {
                    "link": "Link",
                    "Value #B": "Margin now (dB)",
                    "Value #C": "Forecast at horizon (dB)",
                    "Value #A": "P(margin lost)",
                    "cause": "Likely cause",
                    "point": "Suspect point",
                    "action": "Action",
                },
            ),
            dm.DataTransformerConfig(
                id_val="sortBy", options={"sort": [{"field": "P(margin lost)", "desc": True}]}
            ),
        ],
        h=10,
        overrides=[
            (
                "Link",
                [
                    dm.DynamicConfigValue(
                        id_val="links",
                        value=[
                            {
                                "title": "Open this link",
                                "url": "/d/linkmargin-link/link?var-link=${__value.raw}"
                                f"&${{horizon:queryparam}}&{CARRY}",
                            }
                        ],
                    )
                ],
            ),
            (
                "P(margin lost)",
                [
                    dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                    dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
                    dm.DynamicConfigValue(id_val="thresholds", value=steps(RISK_STEPS).build()),
                ],
            ),
            (
                "Margin now (dB)",
                [
                    dm.DynamicConfigValue(id_val="unit", value="dB"),
                    dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
                    dm.DynamicConfigValue(id_val="thresholds", value=steps(MARGIN_STEPS).build()),
                ],
            ),
            (
                "Forecast at horizon (dB)",
                [
                    dm.DynamicConfigValue(id_val="unit", value="dB"),
                    dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
                    dm.DynamicConfigValue(id_val="thresholds", value=steps(MARGIN_STEPS).build()),
                ],
            ),
        ],
    )
    return dashboard(
        "linkmargin-fleet",
        "linkmargin — fleet optical margin",
        "Which links lose their optical margin before the run ends, why, and what to do: the worst first.",
        [horizon_var()],
        [
            (
                "Fleet now",
                [
                    single(
                        "Links at risk before the horizon",
                        "Links with a 50 % or higher chance of losing their margin (or "
                        "reaching the FEC limit) "
                        "before the horizon. Each one is a link to fix before the run starts.",
                        'count(linkmargin_risk_probability{horizon="$horizon"} >= 0.5) or vector(0)',
                        thresholds=COUNT_STEPS,
                    ),
                    single(
                        "Worst link margin now",
                        "The smallest optical margin of any link, dB: how far its "
                        "weakest lane's received power "
                        "is above what the receiver needs. Below 0 the link is taking FEC errors.",
                        "min(linkmargin_link_margin_db)",
                        "dB",
                        thresholds=MARGIN_STEPS,
                    ),
                    single(
                        "Worst forecast at the horizon",
                        "The smallest expected margin of any link at the end of the horizon, dB.",
                        'min(linkmargin_margin_forecast_db{horizon="$horizon"})',
                        "dB",
                        thresholds=MARGIN_STEPS,
                    ),
                    single(
                        "Ports down",
                        "Ports that are administratively up but operationally down "
                        "(ifOperStatus): the link is "
                        "not carrying traffic.",
                        "count((linkmargin_oper_status != 1) and on (device, port) "
                        "(linkmargin_admin_status == 1))"
                        " or vector(0)",
                        thresholds=COUNT_STEPS,
                    ),
                    single(
                        "Uncorrectable FEC codewords/s, all ports",
                        "Codewords the FEC could not repair, per second, summed over "
                        "every port. Each one drops "
                        "a frame: this is what stalls RDMA traffic in a running job. Should be 0.",
                        "sum(rate(linkmargin_fec_uncorrected_codewords_total[5m])) or vector(0)",
                        "cps",
                        thresholds=((None, "green"), (1e-9, "red")),
                    ),
                    single(
                        "Devices not answering",
                        "Switches the collector has not polled successfully in the last 5 minutes, or never. "
                        "Their links' readings are stale: see the collector dashboard.",
                        "count((time() - linkmargin_collector_last_success_timestamp_seconds > 300)"
                        " or (linkmargin_collector_device_answered == 0)) or vector(0)",
                        thresholds=COUNT_STEPS,
                    ),
                ],
            ),
            (
                "Worst links",
                [
                    worst_table,
                    bargauge.Panel()
                    .title("Link margin now (20 worst)")
                    .description(
                        "The 20 links with the least optical margin now, dB (worst lane "
                        "and direction). Green is "
                        "2 dB or more; red is below 0. Click a bar to open the link."
                    )
                    .datasource(DS)
                    .with_target(q("bottomk(20, linkmargin_link_margin_db)", "{{link}}", instant=True))
                    .unit("dB")
                    .span(12)
                    .height(10)
                    .thresholds(steps(MARGIN_STEPS))
                    .orientation(common.VizOrientation.HORIZONTAL)
                    .data_links([to_link()]),
                    ts(
                        "Forecast margin at the horizon (10 worst)",
                        "How the expected margin at the horizon of the 10 worst links has "
                        "moved: a falling line is "
                        "a link getting worse as new readings arrive, dB.",
                        [q('bottomk(10, linkmargin_margin_forecast_db{horizon="$horizon"})', "{{link}}")],
                        "dB",
                        thresholds=MARGIN_STEPS,
                        links=[to_link()],
                    ),
                    ts(
                        "Excess loss over the recorded channel",
                        "Measured channel loss minus what the recorded optic, fiber and "
                        "connectors should lose, "
                        "dB (10 largest). Several dB means a dirty or damaged connector or a bent fiber.",
                        [q("topk(10, linkmargin_excess_loss_db)", "{{link}}")],
                        "dB",
                        links=[to_link()],
                    ),
                    ts(
                        "Degradation rate (10 fastest)",
                        "How fast the received power of the 10 fastest-falling lanes "
                        "drops, dB per day. A steady "
                        "fall is an aging laser or a connector slowly getting dirty.",
                        [q("bottomk(10, linkmargin_degradation_db_per_day)", "{{link}} lane {{lane}}")],
                        "dB/day",
                        links=[to_link()],
                    ),
                ],
            ),
            (
                "Connector cohorts",
                [
                    bargauge.Panel()
                    .title("Loss-step probability per mating, by connector family and termination")
                    .description(
                        "Out of every mating (plugging in) of a connector of this "
                        "family and termination, the "
                        "share that left a loss step, learned from the whole fleet. High values call for "
                        "inspecting and cleaning before every mating."
                    )
                    .datasource(DS)
                    .with_target(
                        q("linkmargin_cohort_step_probability", "{{family}} {{termination}}", instant=True)
                    )
                    .unit("percentunit")
                    .span(24)
                    .height(8)
                    .thresholds(steps(RISK_STEPS)),
                    wear_curve(),
                ],
            ),
        ],
        nav(
            ("linkmargin-link", "Link"), ("linkmargin-lanes", "Lanes"), ("linkmargin-collector", "Collector")
        ),
    )


def link() -> db.Dashboard:
    rx = on_link("linkmargin_rx_power_dbm")
    return dashboard(
        "linkmargin-link",
        "linkmargin — one link",
        "One link end to end: margin and forecast, suspect point, both transceivers, state, FEC and errors.",
        [
            var_query(
                "link",
                "Link",
                "label_values(linkmargin_link_info, link)",
                "The link (a-end to b-end, as recorded in the inventory).",
            ),
            horizon_var(),
        ],
        [
            (
                "Margin and forecast",
                [
                    tbl(
                        "Suspect point and action",
                        "The connection point (connector, panel port or splice) most likely at fault on this "
                        "link, the likely cause and the action to take. link:<id> means "
                        "no single point stands "
                        "out.",
                        [
                            q(
                                SUSPECT.replace("info)", 'info{link="$link"})'),
                                instant=True,
                                table_fmt=True,
                            )
                        ],
                        [
                            organize(
                                ["Time", "Value"],
                                {"point": "Suspect point", "cause": "Likely cause", "action": "Action"},
                            )
                        ],
                        h=5,
                    ),
                    point_wear_table(),
                    ts(
                        "Margin per lane and direction",
                        "Each lane's optical margin, dB: received power above the receiver's sensitivity, in "
                        "each direction. Below 0 the FEC starts to fail. Click a line to open that port lane "
                        "by lane.",
                        [q('linkmargin_margin_db{link="$link"}', "{{device}} {{port}} lane {{lane}}")],
                        "dB",
                        thresholds=MARGIN_STEPS,
                        links=[to_lanes()],
                    ),
                    ts(
                        "Forecast margin with its 90 % interval",
                        "Expected margin at each horizon (solid) and the low end of its 90 % interval "
                        "(dashed), dB. The low end below 0 means a real chance of losing the link in time.",
                        [
                            q('linkmargin_margin_forecast_db{link="$link"}', "expected at {{horizon}}"),
                            q(
                                'linkmargin_margin_forecast_low_db{link="$link"}',
                                "low end at {{horizon}}",
                                "B",
                            ),
                        ],
                        "dB",
                        thresholds=MARGIN_STEPS,
                        dashed="low end.*",
                    ),
                    ts(
                        "Chance of losing margin before each horizon",
                        "Probability that the link crosses zero margin or the FEC limit before each horizon.",
                        [q('linkmargin_risk_probability{link="$link"}', "before {{horizon}}")],
                        "percentunit",
                        w=8,
                        thresholds=RISK_STEPS,
                    ),
                    ts(
                        "Days to zero margin",
                        "Days until the worst lane's expected path reaches zero margin. Empty, and marked "
                        "'not heading to zero', when it does not get there within ten years.",
                        [q('linkmargin_time_to_zero_margin_days{link="$link"}', "days to zero")],
                        "d",
                        w=8,
                    ).no_value("not heading to zero"),
                    ts(
                        "Degradation rate per lane",
                        "How fast each lane's received power falls, dB per day (negative is falling).",
                        [
                            q(
                                'linkmargin_degradation_db_per_day{link="$link"}',
                                "{{device}} {{port}} lane {{lane}}",
                            )
                        ],
                        "dB/day",
                        w=8,
                    ),
                ],
            ),
            (
                "Optics at both ends",
                [
                    ts(
                        "Rx power per lane, module thresholds and connector events",
                        "Received power per lane at each end, dBm. Dashed red: the module's own low-warning "
                        "and low-alarm thresholds. Purple bars: a recorded mating or "
                        "cleaning of a connection "
                        "point of this link (the legend names the point). A step down "
                        "right after a bar points "
                        "at that connector.",
                        [
                            q(rx, "{{device}} {{port}} lane {{lane}}"),
                            q(
                                on_link(
                                    'linkmargin_module_threshold{quantity="rx_power_dbm",level=~"low_.*"}'
                                ),
                                "{{device}} {{port}} {{level}}",
                                "B",
                            ),
                            q(
                                EVENTS,
                                "{{kind}}: {{point}}",
                                "C",
                            ),
                        ],
                        "dBm",
                        w=24,
                        h=10,
                        links=[to_lanes()],
                        dashed=".*low_(warn|alarm)",
                        bars="^(mated|cleaned|terminated|replaced|unmated|inspected|installed): .*",
                    ),
                    ts(
                        "Tx power per lane",
                        "Transmitted power per lane at each end, dBm. A falling Tx with a rising bias is an "
                        "aging laser.",
                        [q(on_link("linkmargin_tx_power_dbm"), "{{device}} {{port}} lane {{lane}}")],
                        "dBm",
                        w=8,
                    ),
                    ts(
                        "Tx bias per lane",
                        "Laser bias current per lane, milliamperes. A laser that needs "
                        "ever more current for the "
                        "same light is wearing out.",
                        [q(on_link("linkmargin_tx_bias_milliamperes"), "{{device}} {{port}} lane {{lane}}")],
                        "mamp",
                        w=8,
                    ),
                    ts(
                        "Module temperature",
                        "Transceiver temperature at each end, degrees Celsius.",
                        [q(on_link("linkmargin_temperature_celsius"), "{{device}} {{port}}")],
                        "celsius",
                        w=8,
                    ),
                    tbl(
                        "Transceivers at both ends",
                        "Vendor, model and serial number of the module in each end's "
                        "port, as the switch reports "
                        "them; what to order or swap.",
                        [q(on_link("linkmargin_transceiver_info"), instant=True, table_fmt=True)],
                        [
                            organize(
                                ["Time", "Value", "__name__", "link"],
                                {
                                    "device": "Device",
                                    "port": "Port",
                                    "vendor": "Vendor",
                                    "model": "Model",
                                    "serial": "Serial",
                                },
                            )
                        ],
                        h=5,
                    ),
                ],
            ),
            (
                "State, FEC and errors (FEC is counted per port)",
                [
                    state(
                        "Oper status of both ends",
                        "Each end's port state over time (ifOperStatus): green up, red "
                        "down. Red stripes that "
                        "come and go are a flapping link.",
                        on_link("linkmargin_oper_status"),
                        "{{device}} {{port}}",
                    ),
                    ts(
                        "Uncorrectable FEC codewords per port",
                        "Codewords the FEC could not repair, per second, per port. Each one drops a frame; "
                        "anything above 0 hurts a running job.",
                        [
                            q(
                                on_link("rate(linkmargin_fec_uncorrected_codewords_total[5m])"),
                                "{{device}} {{port}}",
                            )
                        ],
                        "cps",
                        w=8,
                    ),
                    ts(
                        "Corrected FEC codewords per port",
                        "Codewords with errors the FEC repaired, per second, per port. "
                        "Rising steadily means the "
                        "margin is shrinking before any frame is lost.",
                        [
                            q(
                                on_link("rate(linkmargin_fec_corrected_codewords_total[5m])"),
                                "{{device}} {{port}}",
                            )
                        ],
                        "cps",
                        w=8,
                    ),
                    ts(
                        "Pre-FEC bit error ratio per port",
                        "Bit error ratio before FEC correction, as the switch computes it (log scale). The "
                        "optic's FEC limit is around 2.4e-4 (PAM4) or 5e-5 (NRZ).",
                        [q(on_link("linkmargin_pre_fec_ber"), "{{device}} {{port}}")],
                        "sci",
                        w=8,
                        log=True,
                    ),
                    ts(
                        "FCS and symbol errors per port",
                        "Frames with a bad checksum (FCS) and invalid symbols "
                        "received, per second, per port: "
                        "corruption the FEC did not hide.",
                        [
                            q(
                                on_link("rate(linkmargin_fcs_errors_total[5m])"),
                                "FCS {{device}} {{port}}",
                            ),
                            q(
                                on_link("rate(linkmargin_symbol_errors_total[5m])"),
                                "symbols {{device}} {{port}}",
                                "B",
                            ),
                        ],
                        "cps",
                        w=24,
                    ),
                ],
            ),
        ],
        nav(
            ("linkmargin-fleet", "Fleet"),
            ("linkmargin-lanes", "Lanes"),
            ("linkmargin-collector", "Collector"),
        ),
    )


def lanes() -> db.Dashboard:
    ends = "query_result(" + LINK_ENDS + ")"
    return dashboard(
        "linkmargin-lanes",
        "linkmargin — one port, lane by lane",
        "Optics, FEC and errors of one end of a link, lane by lane.",
        [
            var_query(
                "link", "Link", "label_values(linkmargin_link_info, link)", "The link whose end you look at."
            ),
            var_query(
                "device", "Device", ends, "The switch at one end of the link.", regex='/\\bdevice="([^"]+)"/'
            ),
            var_query(
                "port",
                "Port",
                ends,
                "The switch port of that end.",
                regex='/\\bdevice="$device",.*\\bport="([^"]+)"/',
            ),
        ],
        [
            (
                "Optics",
                [
                    ts(
                        "Rx power per lane and module thresholds",
                        "Received power per lane, dBm. Dashed red: the module's own "
                        "low-warning and low-alarm "
                        "thresholds; a lane near them has little margin left. Purple "
                        "bars: a recorded mating or "
                        "cleaning on this link, named by its point.",
                        [
                            q(f"linkmargin_rx_power_dbm{{{PORT}}}", "lane {{lane}}"),
                            q(
                                f'linkmargin_module_threshold{{{PORT},quantity="rx_power_dbm",level=~"low_.*"}}',
                                "{{level}}",
                                "B",
                            ),
                            q(
                                EVENTS,
                                "{{kind}}: {{point}}",
                                "C",
                            ),
                        ],
                        "dBm",
                        w=24,
                        h=10,
                        dashed="low_(warn|alarm)",
                        bars="^(mated|cleaned|terminated|replaced|unmated|inspected|installed): .*",
                    ),
                    ts(
                        "Tx power per lane",
                        "Transmitted power per lane, dBm. A lane whose Tx falls while its "
                        "bias rises has an aging laser.",
                        [q(f"linkmargin_tx_power_dbm{{{PORT}}}", "lane {{lane}}")],
                        "dBm",
                        w=8,
                    ),
                    ts(
                        "Tx bias per lane",
                        "Laser bias current per lane, milliamperes; rising while Tx "
                        "power falls is an aging laser.",
                        [q(f"linkmargin_tx_bias_milliamperes{{{PORT}}}", "lane {{lane}}")],
                        "mamp",
                        w=8,
                    ),
                    ts(
                        "Module temperature",
                        "Transceiver temperature (degrees Celsius); a hot module drifts and ages faster.",
                        [q(f"linkmargin_temperature_celsius{{{PORT}}}", "temperature")],
                        "celsius",
                        w=8,
                    ),
                    ts(
                        "Power margin per lane",
                        "Each lane's received power above the receiver's sensitivity, "
                        "dB. Below 0 the FEC fails.",
                        [q(f"linkmargin_margin_db{{{PORT}}}", "lane {{lane}}")],
                        "dB",
                        thresholds=MARGIN_STEPS,
                    ),
                    ts(
                        "Degradation rate per lane",
                        "How fast each lane's received power falls, dB per day.",
                        [q(f"linkmargin_degradation_db_per_day{{{PORT}}}", "lane {{lane}}")],
                        "dB/day",
                    ),
                    ts(
                        "BER worse than Rx power explains (reflections)",
                        "Per lane, how much margin the pre-FEC bit error ratio lost over the last week "
                        "beyond what the received power explains, dB. Reflective points (field MMC with "
                        "index gel, mechanical splices) send light back; on PAM4 lanes that closes the eye "
                        "without moving Rx power, and it grows with thermal cycles. The analyzer names it as "
                        "the cause (dashed red: flagged lanes) when it rises by 0.5 dB or more over the "
                        "week, steadily, with Rx flat: re-terminate the reflective point or replace it with "
                        "a factory APC assembly.",
                        [
                            q(f"linkmargin_ber_excess_db{{{PORT}}}", "lane {{lane}}"),
                            q(
                                f"linkmargin_ber_excess_db{{{PORT}}}"
                                f" and linkmargin_ber_beyond_rx{{{PORT}}} == 1",
                                "flagged lane {{lane}}",
                                "B",
                            ),
                        ],
                        "dB",
                        w=24,
                        thresholds=EXCESS_STEPS,
                        dashed="flagged.*",
                    ).no_value("not enough BER history yet (6 h in each third of the last week)"),
                ],
            ),
            (
                "State, FEC and errors (FEC is counted per port, not per lane)",
                [
                    state(
                        "Oper status",
                        "The port's state over time (ifOperStatus): green up, red down.",
                        f"linkmargin_oper_status{{{PORT}}}",
                        "{{device}} {{port}}",
                        h=4,
                    ),
                    ts(
                        "Uncorrectable FEC codewords (port)",
                        "Codewords the FEC could not repair, per second. Each drops a frame; should be 0.",
                        [q(f"rate(linkmargin_fec_uncorrected_codewords_total{{{PORT}}}[5m])", "{{port}}")],
                        "cps",
                        w=8,
                    ),
                    ts(
                        "Corrected FEC codewords (port)",
                        "Codewords the FEC repaired, per second; rising means shrinking margin.",
                        [q(f"rate(linkmargin_fec_corrected_codewords_total{{{PORT}}}[5m])", "{{port}}")],
                        "cps",
                        w=8,
                    ),
                    ts(
                        "Pre-FEC bit error ratio (port)",
                        "Bit error ratio before FEC, as the switch computes it (log scale).",
                        [q(f"linkmargin_pre_fec_ber{{{PORT}}}", "{{port}}")],
                        "sci",
                        w=8,
                        log=True,
                    ),
                    ts(
                        "FCS and symbol errors (port)",
                        "Frames with a bad checksum and invalid symbols received, per second.",
                        [
                            q(f"rate(linkmargin_fcs_errors_total{{{PORT}}}[5m])", "FCS"),
                            q(f"rate(linkmargin_symbol_errors_total{{{PORT}}}[5m])", "symbols", "B"),
                        ],
                        "cps",
                        w=12,
                    ),
                    tbl(
                        "Transceiver",
                        "Vendor, model and serial number of the module in this port.",
                        [q(f"linkmargin_transceiver_info{{{PORT}}}", instant=True, table_fmt=True)],
                        [
                            organize(
                                ["Time", "Value", "__name__"],
                                {
                                    "device": "Device",
                                    "port": "Port",
                                    "vendor": "Vendor",
                                    "model": "Model",
                                    "serial": "Serial",
                                },
                            )
                        ],
                        w=12,
                        h=8,
                    ),
                ],
            ),
        ],
        nav(
            ("linkmargin-fleet", "Fleet"), ("linkmargin-link", "Link"), ("linkmargin-collector", "Collector")
        ),
    )


def collector() -> db.Dashboard:
    dev = 'device=~"$device"'
    return dashboard(
        "linkmargin-collector",
        "linkmargin — collector health",
        "Is every switch answering, and is the collector keeping its schedule?",
        [
            var_query(
                "device",
                "Device",
                "label_values(linkmargin_collector_device_answered, device)",
                "Switches the collector polls (every one of the inventory, answering or not).",
            )
            .multi(True)
            .include_all(True)
            .all_value(".*"),
        ],
        [
            (
                "Devices",
                [
                    tbl(
                        "Devices: answering, breaker, last poll",
                        "Every switch the collector polls. Answered: whether it ever "
                        "answered since the collector "
                        "started (a switch that never answered has wrong credentials, "
                        "address or ACL). Breaker "
                        "open: polls are paused after failures in a row. Seconds since the last good poll.",
                        [
                            q(
                                f"linkmargin_collector_device_answered{{{dev}}}",
                                ref="A",
                                instant=True,
                                table_fmt=True,
                            ),
                            q(
                                f"linkmargin_collector_breaker_open{{{dev}}}",
                                ref="B",
                                instant=True,
                                table_fmt=True,
                            ),
                        ],
                        [
                            join("device"),
                            organize(
                                [
                                    "Time",
                                    "Time 1",
                                    "Time 2",
                                    "__name__",
                                    "__name__ 1",
                                    "__name__ 2",
                                    "instance",
                                    "instance 1",
                                    "instance 2",
                                    "job",
                                    "job 1",
                                    "job 2",
                                ],
                                {"device": "Device", "Value #A": "Answered", "Value #B": "Breaker open"},
                            ),
                        ],
                        w=12,
                        h=8,
                        overrides=[
                            _state_column("Answered", ("never answered", "red"), ("answered", "green")),
                            _state_column("Breaker open", ("closed", "green"), ("open", "red")),
                        ],
                    ),
                    ts(
                        "Seconds since the last good poll",
                        "Per switch, seconds since the collector last polled it successfully. It should stay "
                        "below the poll interval; a line that keeps climbing is a "
                        "switch that stopped answering.",
                        [
                            q(
                                f"time() - linkmargin_collector_last_success_timestamp_seconds{{{dev}}}",
                                "{{device}}",
                            )
                        ],
                        "s",
                        thresholds=((None, "green"), (300.0, "red")),
                    ),
                    ts(
                        "Timeouts and errors per switch",
                        "Polls per second that got no answer in time (timeouts) or "
                        "failed otherwise (errors).",
                        [
                            q(
                                f"sum by (device) (rate(linkmargin_collector_timeouts_total{{{dev}}}[5m]))",
                                "timeouts {{device}}",
                            ),
                            q(
                                f"sum by (device) (rate(linkmargin_collector_errors_total{{{dev}}}[5m]))",
                                "errors {{device}}",
                                "B",
                            ),
                        ],
                        "ops",
                    ),
                    ts(
                        "Polls skipped by an open breaker",
                        "Polls per second not sent because the switch's circuit breaker is open.",
                        [
                            q(
                                f"sum by (device) "
                                f"(rate(linkmargin_collector_breaker_skips_total{{{dev}}}[5m]))",
                                "{{device}}",
                            )
                        ],
                        "ops",
                    ),
                ],
            ),
            (
                "Collector",
                [
                    ts(
                        "Poll duration p95 by group",
                        "95th percentile of the wall time of one poll, seconds, per "
                        "poll group (dom, counters, "
                        "discovery). Near the group's interval the collector falls behind.",
                        [
                            q(
                                "histogram_quantile(0.95, sum by (group, le) "
                                "(rate(linkmargin_collector_poll_duration_seconds_bucket[5m])))",
                                "{{group}}",
                            )
                        ],
                        "s",
                        w=8,
                    ),
                    ts(
                        "Overruns by group",
                        "Polls per second that outlasted their interval, so the next one was skipped.",
                        [q("sum by (group) (rate(linkmargin_collector_overruns_total[5m]))", "{{group}}")],
                        "ops",
                        w=8,
                    ),
                    ts(
                        "Varbinds and samples per second",
                        "SNMP values received and readings handed on per second, all switches together.",
                        [
                            q("sum(rate(linkmargin_collector_varbinds_total[5m]))", "varbinds"),
                            q("sum(rate(linkmargin_collector_samples_total[5m]))", "samples", "B"),
                        ],
                        "ops",
                        w=8,
                    ),
                ],
            ),
        ],
        nav(("linkmargin-fleet", "Fleet"), ("linkmargin-link", "Link"), ("linkmargin-lanes", "Lanes")),
    )


INTERVAL_ONLY = ("auto", "auto_count", "auto_min")


@dataclass(frozen=True)
class Built:
    """A dashboard's uid and its Grafana JSON model."""

    uid: str
    doc: dict[str, Any]


def to_json(d: db.Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of a built dashboard (what the SDK's encoder writes)."""
    doc: dict[str, Any] = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    for pid, panel in enumerate(doc.get("panels", []), start=1):
        panel["id"] = pid  # unique within the dashboard (the SDK leaves rows at 0, panels without)
    for v in doc.get("templating", {}).get("list", []):
        if v.get("type") != "interval":  # the SDK writes an interval variable's fields on every variable,
            for key in INTERVAL_ONLY:  # which Grafana's schema for 11.6 does not allow
                v.pop(key, None)
    return doc


def dashboards() -> list[Built]:
    """Every dashboard, as Grafana JSON."""
    return [Built(d.build().uid or "", to_json(d)) for d in (fleet(), link(), lanes(), collector())]


PROVISIONING = """\
# Grafana provisioning: point Grafana at this folder (e.g. /etc/grafana/provisioning/dashboards/).
apiVersion: 1
providers:
  - name: linkmargin
    folder: linkmargin
    type: file
    disableDeletion: false
    updateIntervalSeconds: 60
    options:
      path: {path}
"""


def build(out_dir: Path, grafana_path: str = "/var/lib/grafana/dashboards/linkmargin") -> list[Path]:
    """Write every dashboard and the provisioning file to ``out_dir``; return the paths written.

    ``grafana_path`` is where Grafana will find the JSON files (the provisioning file names it).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for b in dashboards():
        path = out_dir / f"{b.uid}.json"
        path.write_text(json.dumps(b.doc, indent=2) + "\n")
        written.append(path)
    prov = out_dir / "provisioning.yaml"
    prov.write_text(PROVISIONING.format(path=grafana_path))
    written.append(prov)
    return written


def panel_queries(doc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every panel's (title, PromQL of its targets in refId order). The first is the panel's main series;
    later ones are overlays (thresholds, event markers) that may rightly be empty."""
    return [
        (p["title"], [t["expr"] for t in p.get("targets", [])])
        for p in doc["panels"]
        if p.get("type") != "row"
    ]


def variable_queries(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every query variable's (name, query, regex), in dashboard order."""
    return [
        (v["name"], v["query"], v.get("regex", ""))
        for v in doc["templating"]["list"]
        if v.get("type") == "query"
    ]


if __name__ == "__main__":
    for p in build(Path(__file__).parent):
        print(p)

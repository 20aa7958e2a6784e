"""Every Greeter metric the template's dashboard and alarms name is one the functions emit: a widget or alarm on a
metric nobody sends shows an empty graph or never fires, and nothing else would notice."""

import json
import re

from stack import ROOT, load_template

# How the functions name what they send (Powertools `add_metric`/`single_metric`, the per-camera helper, the
# frame kinds the match function counts, and put_metric_data); read from the source, as a reviewer would grep it.
EMITTING = [
    re.compile(r'(?:add_metric|single_metric)\(\s*name="(\w+)"'),
    re.compile(r'_camera_metric\(\s*"(\w+)"'),
    re.compile(r'^\s+metric = "(\w+)"', re.MULTILINE),
    re.compile(r'"MetricName": "(\w+)"'),
]


def emitted_metrics() -> set[str]:
    names = set()
    for folder in ("functions", "layers"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text()
            names |= {name for pattern in EMITTING for name in pattern.findall(source)}
    return names


def alarm_metrics(value) -> set[str]:
    """MetricName of every alarm (or alarm metric) in the Greeter namespace, wherever it sits in the template."""
    if isinstance(value, list):
        return set().union(*(alarm_metrics(item) for item in value))
    if not isinstance(value, dict):
        return set()
    own = {value["MetricName"]} if value.get("Namespace") == "Greeter" and "MetricName" in value else set()
    return own.union(*(alarm_metrics(item) for item in value.values()))


def dashboard_metrics(template: dict) -> set[str]:
    body = template["Resources"]["GreeterDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))["widgets"]
    names = set()
    for widget in widgets:
        namespace = name = None
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):  # a SEARCH expression names its metric inside
                names |= set(re.findall(r"\{Greeter[^}]*\} MetricName=\"(\w+)\"", row[0]["expression"]))
                continue
            namespace = namespace if row[0] == "." else row[0]
            name = name if row[1] == "." else row[1]
            if namespace == "Greeter":
                names.add(name)
    return names


def test_the_dashboard_and_alarms_plot_only_metrics_the_functions_emit():
    template = load_template()
    emitted = emitted_metrics()
    dashboard, alarms = dashboard_metrics(template), alarm_metrics(template["Resources"])

    assert {"AlertsSent", "SearchesMade", "CameraClockSkew", "StrangerSightings"} <= dashboard  # the parser reads it
    assert {"CropsOverCap", "CameraSilent", "CompensationFailed"} <= alarms
    assert dashboard - emitted == set()
    assert alarms - emitted == set()

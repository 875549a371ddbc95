#!/usr/bin/env python3
"""The stack's CloudWatch alarms and dashboard, written once: this script
writes infra/observability/resources.json, which the CDK app adds to its
stack as it is, and prints the same resources as YAML for the SAM template
(pasted between its `# observability: begin` and `end` marks). The parity
check holds both templates to the file.

Every metric named here is one the code records (streamfleet_core::telemetry;
the contract's `metrics` lists them, and the parity check compares).

Usage: make.py            (rewrite resources.json, print the SAM snippet)
"""
import json
import os
import sys

NS = "streamfleet"


def stat(ident, name, dims, statistic, period=60, visible=False):
    return {
        "Id": ident,
        "ReturnData": visible,
        "MetricStat": {
            "Metric": {
                "Namespace": NS,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            },
            "Period": period,
            "Stat": statistic,
        },
    }


def alarm(description, **properties):
    props = {
        "AlarmDescription": description,
        "TreatMissingData": "notBreaching",
        "AlarmActions": {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]},
        "OKActions": {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]},
    }
    props.update(properties)
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


# A minute with no lookup placed has no `placed` datapoint at all (zero
# counts are not written): FILL makes it 0, so that a total outage alarms.
ALARMS = {
    "RejectedJoinsAlarm": alarm(
        "streamfleet: more than 1 % of stream lookups refused for want of room (noRoom), 5 minutes running",
        ComparisonOperator="GreaterThanThreshold",
        Threshold=1,
        EvaluationPeriods=5,
        DatapointsToAlarm=5,
        Metrics=[
            {
                "Id": "rejectedPct",
                "Label": "lookups refused for want of room (%)",
                "Expression": "IF(FILL(placed, 0) + FILL(refused, 0) > 0, 100 * FILL(refused, 0) / (FILL(placed, 0) + FILL(refused, 0)), 0)",
                "ReturnData": True,
            },
            stat("refused", "Lookups", [("Function", "lookup"), ("Outcome", "noRoom")], "Sum"),
            stat("placed", "Lookups", [("Function", "lookup"), ("Outcome", "placed")], "Sum"),
        ],
    ),
    "HoldNearTimeoutAlarm": alarm(
        "streamfleet: a held lifecycle action went unrenewed past 80 % of its heartbeat timeout (the cloud answers for it at 100 %)",
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Threshold=80,
        EvaluationPeriods=1,
        Metrics=[stat("unkept", "HoldUnkeptPctOfTimeout", [("Function", "scaler")], "Maximum", visible=True)],
    ),
    "ScalerErrorsAlarm": alarm(
        "streamfleet: scaler ticks failed for some groups (see the scaler's log)",
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Threshold=1,
        EvaluationPeriods=1,
        Metrics=[stat("errors", "TickErrors", [("Function", "scaler")], "Sum", period=300, visible=True)],
    ),
    "SlowTickAlarm": alarm(
        "streamfleet: a scaler tick took longer than its period (ScalerTickSecs), 3 minutes running",
        ComparisonOperator="GreaterThanThreshold",
        Threshold={"Ref": "ScalerTickSecs"},
        EvaluationPeriods=3,
        DatapointsToAlarm=3,
        Metrics=[
            {"Id": "tickSecs", "Label": "longest tick (s)", "Expression": "tick / 1000", "ReturnData": True},
            stat("tick", "TickDurationMs", [("Function", "scaler")], "Maximum"),
        ],
    ),
}


def search(name, dims, statistic, period=60):
    keys = ",".join([NS] + dims)
    return {"expression": f"SEARCH('{{{keys}}} MetricName=\"{name}\"', '{statistic}', {period})", "label": ""}


def widget(title, metrics, x, y, w=12, h=6, **extra):
    properties = {"title": title, "region": "${AWS::Region}", "view": "timeSeries", "metrics": metrics, "period": 60}
    properties.update(extra)
    return {"type": "metric", "x": x, "y": y, "width": w, "height": h, "properties": properties}


DASHBOARD = {
    "widgets": [
        widget(
            "Lookups by outcome",
            [[NS, "Lookups", "Function", "lookup", "Outcome", o, {"stat": "Sum"}] for o in ("placed", "noRoom", "notFound", "failed")],
            0, 0,
        ),
        widget(
            "Lookup latency (ms)",
            [[NS, "LookupLatencyMs", "Function", "lookup", "Action", a, {"stat": s}] for a in ("subscribe", "publish") for s in ("p50", "p99")],
            12, 0,
        ),
        widget("Free seats per group, role and region", [[search("FreeSeats", ["Function", "Group", "Role", "Region"], "Minimum")]], 0, 6),
        widget("Lookups refused for want of room, per role and region (pressure)", [[search("Pressure", ["Function", "Group", "Role", "Region"], "Maximum")]], 12, 6),
        widget("Nodes wanted (pending and in service)", [[search("DesiredNodes", ["Function", "Group", "Role", "Region"], "Maximum")]], 0, 12),
        widget("Nodes in service", [[search("InServiceNodes", ["Function", "Group", "Role", "Region"], "Minimum")]], 12, 12),
        widget("Decisions by action", [[search("Decisions", ["Action", "Function"], "Sum", 300)]], 0, 18, period=300),
        widget(
            "Held lifecycle actions",
            [[search("OpenHolds", ["Function", "Group"], "Maximum")],
             [NS, "HoldUnkeptPctOfTimeout", "Function", "scaler", {"stat": "Maximum", "yAxis": "right", "label": "least recently renewed (% of timeout)"}]],
            12, 18,
            annotations={"horizontal": [{"value": 80, "label": "alarm", "yAxis": "right"}]},
        ),
        widget(
            "Scaler ticks",
            [[NS, "TickDurationMs", "Function", "scaler", {"stat": "Maximum", "label": "longest tick (ms)"}],
             [NS, "TickErrors", "Function", "scaler", {"stat": "Sum", "yAxis": "right", "label": "groups failed"}]],
            0, 24,
        ),
        # Decisions the log holds but EventBridge did not take: the
        # operators' rules missed them.
        widget("Decision events not published", [[search("DecisionEventsUnsent", ["Function"], "Sum", 300)]], 12, 24, period=300),
    ]
}


def resources():
    found = dict(ALARMS)
    found["Dashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
            "DashboardBody": {"Fn::Sub": json.dumps(DASHBOARD, separators=(",", ":"), sort_keys=True)},
        },
    }
    return found


def yaml_snippet(found):
    """The resources as YAML (JSON flow style: YAML takes it as it is)."""
    lines = ["  # observability: begin (generated by infra/observability/make.py; do not edit by hand)"]
    for name, resource in found.items():
        lines.append(f"  {name}: {json.dumps(resource)}")
    lines.append("  # observability: end")
    return "\n".join(lines)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    found = resources()
    with open(os.path.join(here, "resources.json"), "w") as f:
        json.dump({"note": "Generated by infra/observability/make.py", "resources": found}, f, indent=2, sort_keys=True)
        f.write("\n")
    sys.stdout.write(yaml_snippet(found) + "\n")

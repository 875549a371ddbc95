#!/usr/bin/env python3
"""The SAM template and the synthesized CDK template describe the same stack,
and both match what the code needs (infra/contract.json).

Compared: functions (runtime, architecture, handler, memory, timeout,
environment variable names, dead-letter target, async retries and event
age), HTTP routes and which
function serves each, route throttling, the schedule, EventBridge patterns,
the table (keys, index, TTL, billing, recovery, encryption), parameters,
mappings, outputs, the CloudWatch alarms and dashboard (and that they
name only metrics the code writes), and each function's IAM statements (by Sid: actions,
resources and conditions, intrinsic functions worked out),
whose actions together must be exactly those the function's requests need
(the contract's `iamActions`, recorded from the code at work).
Not compared: CORS, the access-log format,
secret generation settings (each side's own tests and cfn-lint cover them).

Usage: parity.py SAM_TEMPLATE CDK_TEMPLATE CONTRACT
Prints one line per check; exits 1 on the first report with differences.
"""
import json
import re
import sys

from cfnlint.decode import cfn_yaml

CDK_HASH = re.compile(r"^(.*?)[0-9A-F]{8}$")


def strip_hash(logical_id):
    match = CDK_HASH.match(logical_id)
    return match.group(1) if match else logical_id


def ref_id(value):
    """The logical id a Ref / GetAtt / Sub of a resource points to."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def plain(value):
    """cfn-lint's YAML nodes as plain JSON values."""
    return json.loads(json.dumps(value))


def normalized_pattern(pattern):
    """Event patterns compare without regard to list order."""
    if isinstance(pattern, dict):
        return {k: normalized_pattern(v) for k, v in sorted(pattern.items())}
    if isinstance(pattern, list):
        return sorted((normalized_pattern(v) for v in pattern), key=json.dumps)
    return pattern


def merged(shared, own):
    """SAM's Globals rule: maps merge (deeply), anything else is replaced."""
    if isinstance(own, dict) and isinstance(shared, dict):
        return {k: merged(shared.get(k), own.get(k)) if k in own else shared[k] for k in {**shared, **own}}
    return shared if own is None else own


class Sam:
    def __init__(self, template):
        self.t = template
        self.globals = template.get("Globals", {}).get("Function", {})
        self.functions = {
            lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
        }

    def prop(self, function, name):
        """A property with its Globals value; maps are merged, as SAM does."""
        return merged(self.globals.get(name), function["Properties"].get(name))

    def function_facts(self):
        facts = {}
        for lid, f in self.functions.items():
            env = self.prop(f, "Environment")["Variables"]
            facts[lid] = {
                "binary": f["Metadata"]["BuildProperties"]["Binary"],
                "buildMethod": f["Metadata"]["BuildMethod"],
                "runtime": self.prop(f, "Runtime"),
                "architectures": self.prop(f, "Architectures"),
                "handler": self.prop(f, "Handler"),
                "memory": self.prop(f, "MemorySize"),
                "timeout": self.prop(f, "Timeout"),
                "tracing": self.prop(f, "Tracing"),
                "logFormat": self.prop(f, "LoggingConfig")["LogFormat"],
                "logLevel": self.prop(f, "LoggingConfig")["ApplicationLogLevel"],
                "environment": sorted(env),
                "deadLetter": ref_id(f["Properties"].get("DeadLetterQueue", {}).get("TargetArn")),
                "retries": f["Properties"].get("EventInvokeConfig", {}).get("MaximumRetryAttempts"),
                "maxEventAge": f["Properties"].get("EventInvokeConfig", {}).get("MaximumEventAgeInSeconds"),
                "description": f["Properties"].get("Description"),
            }
        return facts

    def events(self, kind):
        for lid, f in self.functions.items():
            for event in f["Properties"].get("Events", {}).values():
                if event["Type"] == kind:
                    yield lid, event["Properties"]

    def routes(self):
        return {f"{p['Method']} {p['Path']}": lid for lid, p in self.events("HttpApi")}

    def schedules(self):
        return sorted((lid, json.dumps(p["Schedule"], sort_keys=True)) for lid, p in self.events("Schedule"))

    def patterns(self):
        return sorted(
            (lid, json.dumps(normalized_pattern(p["Pattern"]), sort_keys=True))
            for lid, p in self.events("EventBridgeRule")
        )

    def event_dead_letters(self):
        kinds = ("Schedule", "EventBridgeRule")
        return sorted(
            (lid, ref_id(p.get("DeadLetterConfig", {}).get("Arn")), json.dumps(p.get("RetryPolicy"), sort_keys=True))
            for kind in kinds
            for lid, p in self.events(kind)
        )

    def throttling(self):
        api = next(r for r in self.t["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
        props = api["Properties"]
        return {
            "default": props["DefaultRouteSettings"],
            "routes": props.get("RouteSettings", {}),
        }

    def statements(self):
        """Each function's own statements, as `Function.Sid`."""
        out = {}
        for lid, f in self.functions.items():
            for policy in f["Properties"].get("Policies", []):
                for s in policy.get("Statement", []):
                    out[f"{lid}.{s['Sid']}"] = s
        return out


class Cdk:
    def __init__(self, template):
        self.t = template
        self.resources = template["Resources"]
        self.functions = {
            lid: r for lid, r in self.resources.items() if r["Type"] == "AWS::Lambda::Function"
        }
        self.by_role = {ref_id(f["Properties"]["Role"]): lid for lid, f in self.functions.items()}
        self.invoke_configs = {
            ref_id(r["Properties"]["FunctionName"]): r["Properties"]
            for r in self.resources.values()
            if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        }

    def of_type(self, kind):
        return [(lid, r["Properties"]) for lid, r in self.resources.items() if r["Type"] == kind]

    def function_facts(self):
        facts = {}
        for lid, f in self.functions.items():
            p = f["Properties"]
            facts[strip_hash(lid)] = {
                "runtime": p["Runtime"],
                "architectures": p["Architectures"],
                "handler": p["Handler"],
                "memory": p["MemorySize"],
                "timeout": p["Timeout"],
                "tracing": p["TracingConfig"]["Mode"],
                "logFormat": p["LoggingConfig"]["LogFormat"],
                "logLevel": p["LoggingConfig"]["ApplicationLogLevel"],
                "environment": sorted(p.get("Environment", {}).get("Variables", {})),
                "deadLetter": strip_hash(ref_id(p.get("DeadLetterConfig", {}).get("TargetArn")) or "") or None,
                "retries": self.invoke_configs.get(lid, {}).get("MaximumRetryAttempts"),
                "maxEventAge": self.invoke_configs.get(lid, {}).get("MaximumEventAgeInSeconds"),
                "description": p.get("Description"),
            }
        return facts

    def routes(self):
        integrations = dict(self.of_type("AWS::ApiGatewayV2::Integration"))
        routes = {}
        for _, p in self.of_type("AWS::ApiGatewayV2::Route"):
            integration = p["Target"]["Fn::Join"][1][1]["Ref"]
            routes[p["RouteKey"]] = strip_hash(ref_id(integrations[integration]["IntegrationUri"]))
        return routes

    def rules(self):
        for _, p in self.of_type("AWS::Events::Rule"):
            yield strip_hash(ref_id(p["Targets"][0]["Arn"])), p

    def schedules(self):
        return sorted(
            (lid, json.dumps(p["ScheduleExpression"], sort_keys=True)) for lid, p in self.rules() if "ScheduleExpression" in p
        )

    def patterns(self):
        return sorted(
            (lid, json.dumps(normalized_pattern(p["EventPattern"]), sort_keys=True))
            for lid, p in self.rules()
            if "EventPattern" in p
        )

    def event_dead_letters(self):
        return sorted(
            (
                lid,
                strip_hash(ref_id(p["Targets"][0].get("DeadLetterConfig", {}).get("Arn")) or "") or None,
                json.dumps(p["Targets"][0].get("RetryPolicy"), sort_keys=True),
            )
            for lid, p in self.rules()
        )

    def throttling(self):
        stage = self.of_type("AWS::ApiGatewayV2::Stage")[0][1]
        return {"default": stage["DefaultRouteSettings"], "routes": stage.get("RouteSettings", {})}

    def statements(self):
        """Each function's own statements, as `Function.Sid` (CDK's hash cut)."""
        out = {}
        for _, p in self.of_type("AWS::IAM::Policy"):
            for role in p["Roles"]:
                function = self.by_role.get(ref_id(role))
                for s in p["PolicyDocument"]["Statement"]:
                    # Unnamed statements are CDK's own grants (dead-letter queue);
                    # X-Ray writes are SAM's managed policy on the other side.
                    if function and "Sid" in s and s["Sid"] != "Tracing":
                        out[f"{strip_hash(function)}.{s['Sid']}"] = s
        return out


def as_list(value):
    return value if isinstance(value, list) else [value]


PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::Region": "us-east-1"}


def resolved(value):
    """A value with its intrinsic functions worked out, so that SAM's `!Sub`
    and CDK's `Fn::Join` of one ARN compare equal: pseudo parameters become
    sample values, references `{LogicalId}` / `{LogicalId.Attribute}` (CDK's
    hash cut), a condition `{"if": ..., "then": ..., "else": ...}`."""
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return PSEUDO_PARAMETERS.get(argument, f"{{{strip_hash(argument)}}}")
        if function == "Fn::GetAtt":
            target, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return f"{{{strip_hash(target)}.{attribute}}}"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolved(part)) for part in parts)
        if function == "Fn::Sub":
            text, names = (argument, {}) if isinstance(argument, str) else argument

            def substitute(match):
                name = match.group(1)
                if name in names:
                    return str(resolved(names[name]))
                return PSEUDO_PARAMETERS.get(name, f"{{{name}}}")

            return re.sub(r"\$\{([^}!][^}]*)\}", substitute, text)
        if function == "Fn::If":
            condition, then, otherwise = argument
            return {"if": condition, "then": resolved(then), "else": resolved(otherwise)}
    return {k: resolved(v) for k, v in value.items()}


def statement_actions(statements):
    return {key: sorted(as_list(s["Action"])) for key, s in statements.items()}


def statement_scopes(statements):
    """What each statement allows its actions on: effect, resources (in any
    order), conditions."""
    return {
        key: {
            "effect": s["Effect"],
            "resources": sorted(as_list(resolved(s["Resource"])), key=json.dumps),
            "condition": resolved(s.get("Condition")),
        }
        for key, s in statements.items()
    }


def queues(resources):
    """Each SQS queue's properties, intrinsics worked out, by logical id."""
    return {strip_hash(lid): resolved(r.get("Properties", {})) for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}


def table_facts(resources):
    tables = [r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == 1, f"expected one table, found {len(tables)}"
    p = tables[0]["Properties"]
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in p["AttributeDefinitions"]),
        "keys": p["KeySchema"],
        "indexes": sorted(
            ((i["IndexName"], json.dumps(i["KeySchema"]), i["Projection"]["ProjectionType"]) for i in p["GlobalSecondaryIndexes"])
        ),
        "ttl": p["TimeToLiveSpecification"],
        "billing": p["BillingMode"],
        "pitr": p["PointInTimeRecoverySpecification"],
        "sse": p["SSESpecification"],
        "deletionPolicy": tables[0].get("DeletionPolicy"),
        "stream": p.get("StreamSpecification"),
    }


def event_source_mappings(resources):
    """Each event source mapping: the function it invokes, the resource it
    reads (a table's stream, by the table's id) and how."""
    out = {}
    for lid, r in resources.items():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        p = r["Properties"]
        source = p["EventSourceArn"]
        if isinstance(source, dict) and "Fn::GetAtt" in source:
            source = strip_hash(source["Fn::GetAtt"][0]) + "." + source["Fn::GetAtt"][1]
        out[strip_hash(lid)] = {
            "function": strip_hash(ref_id(p["FunctionName"])),
            "source": source,
            "startingPosition": p.get("StartingPosition"),
            "batchSize": p.get("BatchSize"),
            "window": p.get("MaximumBatchingWindowInSeconds", 0),
            "parallelization": p.get("ParallelizationFactor"),
            "retries": p.get("MaximumRetryAttempts"),
            "maxAge": p.get("MaximumRecordAgeInSeconds"),
            "filters": [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])],
            "responseTypes": p.get("FunctionResponseTypes"),
            "maxConcurrency": resolved(p.get("ScalingConfig", {}).get("MaximumConcurrency")),
        }
    return out


# Statements Lambda itself uses with a function's role (reading an event
# source), not the function's code: outside the contract's iamActions.
SERVICE_SIDS = {"EventSourceStream", "EventSourceListStreams", "EventSourceQueue"}


def observability(resources):
    """The alarms (their properties, intrinsics worked out) and the dashboard
    (its body as JSON), by logical id."""
    found = {}
    for lid, r in resources.items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            found[strip_hash(lid)] = resolved(r["Properties"])
        elif r["Type"] == "AWS::CloudWatch::Dashboard":
            props = resolved(r["Properties"])
            found[strip_hash(lid)] = {**props, "DashboardBody": json.loads(props["DashboardBody"])}
    return found


def metric_names(facts):
    """(namespace, metric) pairs the alarms and the dashboard name."""
    names = set()
    for fact in facts.values():
        for metric in fact.get("Metrics", []):
            stat = metric.get("MetricStat")
            if stat:
                names.add((stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]))
        for widget in fact.get("DashboardBody", {}).get("widgets", []):
            for row in widget["properties"].get("metrics", []):
                if isinstance(row[0], str):
                    names.add((row[0], row[1]))
                else:
                    match = re.search(r"\{(\w+),[^}]*\} MetricName=\"(\w+)\"", row[0]["expression"])
                    names.add((match.group(1), match.group(2)))
    return sorted(names)


def contract_table(contract):
    t = contract["table"]
    names = [t["partitionKey"], t["sortKey"]] + [
        k for i in t["globalSecondaryIndexes"] for k in (i["partitionKey"], i["sortKey"])
    ]
    return {
        "attributes": sorted((name, "S") for name in names),
        "keys": [{"AttributeName": t["partitionKey"], "KeyType": "HASH"}, {"AttributeName": t["sortKey"], "KeyType": "RANGE"}],
        "indexes": sorted(
            (
                i["indexName"],
                json.dumps([{"AttributeName": i["partitionKey"], "KeyType": "HASH"}, {"AttributeName": i["sortKey"], "KeyType": "RANGE"}]),
                "ALL",
            )
            for i in t["globalSecondaryIndexes"]
        ),
        "ttl": {"AttributeName": t["timeToLiveAttribute"], "Enabled": True},
    }


def as_strings(value):
    """CloudFormation reads parameter values as strings, whatever the YAML said."""
    return [str(v) for v in value] if isinstance(value, list) else str(value)


def parameters(template):
    keep = ("Type", "Default", "AllowedValues", "AllowedPattern", "MinValue", "MaxValue")
    return {
        name: {k: as_strings(v) if k in ("Default", "AllowedValues") else v for k, v in p.items() if k in keep}
        for name, p in template.get("Parameters", {}).items()
        if name != "BootstrapVersion"
    }


class Report:
    def __init__(self):
        self.failed = 0

    def check(self, name, left, right, left_name="sam", right_name="cdk"):
        if left == right:
            print(f"ok    {name}")
            return
        self.failed += 1
        print(f"DIFF  {name}")
        if isinstance(left, dict) and isinstance(right, dict):
            left, right = (
                {k: v for k, v in left.items() if right.get(k) != v},
                {k: v for k, v in right.items() if left.get(k) != v},
            )
        print(f"  {left_name}: {json.dumps(left, indent=1, sort_keys=True, default=str)}")
        print(f"  {right_name}: {json.dumps(right, indent=1, sort_keys=True, default=str)}")


def timing_problems(template):
    """What breaks the scaler's timing rules in the ScalerRates mapping: the
    invocations know the schedule's interval (ScheduleSecs, to tick until the
    next one takes over), a held
    action renewed at half its hook timeout must survive a missed tick (hook
    timeout at least 4 ticks), a tick running to its timeout must still leave
    the hold time to be renewed (timeout at most half the hook timeout), and
    Lambda's own limit (900 s). Empty when the rules hold."""
    problems = []
    rows = template.get("Mappings", {}).get("ScalerRates", {})
    if not rows:
        return ["no ScalerRates mapping"]
    for minutes, row in sorted(rows.items()):
        tick, hook, timeout = int(minutes) * 60, int(row["HookTimeoutSecs"]), int(row["TimeoutSecs"])
        if int(row.get("ScheduleSecs", -1)) != tick:
            problems.append(f"{minutes}: ScheduleSecs {row.get('ScheduleSecs')} is not the schedule's {tick} s")
        if timeout < tick + 20:
            problems.append(f"{minutes}: function timeout {timeout} s leaves the schedule's last {tick + 20 - timeout} s unticked")
        if hook < 4 * tick:
            problems.append(f"{minutes}: hook timeout {hook} s is under 4 ticks ({4 * tick} s)")
        if 2 * timeout > hook:
            problems.append(f"{minutes}: function timeout {timeout} s is over half the hook timeout ({hook} s)")
        if not 30 <= timeout <= 900:
            problems.append(f"{minutes}: function timeout {timeout} s is outside 30..900 s")
    return problems


def throttle_problems(template):
    """What breaks the rule the route throttles follow from the fleet's
    stated size (docs/scale.md): for the nodes' routes, a rate of nodes
    reporting every 5 s plus a fifth, for the lookups, the join rate plus a
    fifth; a burst of twice the rate. Every size a parameter allows has a
    row. Empty when the rule holds."""
    problems = []
    parameters_of = template.get("Parameters", {})
    # Integers only: rate = ceil(nodes / 5 * 6 / 5) = ceil(6 nodes / 25).
    for mapping, parameter, rate_of in (
        ("NodeThrottles", "FleetNodes", lambda nodes: -(-6 * nodes // 25)),
        ("JoinThrottles", "PeakJoinsPerSecond", lambda joins: -(-6 * joins // 5)),
    ):
        rows = template.get("Mappings", {}).get(mapping, {})
        sizes = [str(v) for v in parameters_of.get(parameter, {}).get("AllowedValues", [])]
        if not rows or not sizes:
            problems.append(f"no {mapping} mapping or no {parameter} sizes")
        if sorted(rows, key=int) != sorted(sizes, key=int):
            problems.append(f"{mapping} rows {sorted(rows, key=int)} are not {parameter}'s values {sizes}")
        for size, row in rows.items():
            rate = rate_of(int(size))
            if (int(row["Rate"]), int(row["Burst"])) != (rate, 2 * rate):
                problems.append(f"{mapping} {size}: {row} is not Rate {rate}, Burst {2 * rate}")
    return problems


def compare(sam, cdk, sam_template, cdk_template, contract):
    report = Report()
    sam_functions = sam.function_facts()
    binaries = {lid: facts.pop("binary") for lid, facts in sam_functions.items()}
    build_methods = {facts.pop("buildMethod") for facts in sam_functions.values()}
    report.check("SAM builds every function with cargo-lambda", build_methods, {"rust-cargolambda"}, "sam", "wanted")
    functions = contract["functions"]
    report.check("functions: one per binary the code has", sorted(binaries.values()), sorted(functions), "sam", "contract")
    report.check("functions and their settings", sam_functions, cdk.function_facts())
    secret_vars = {contract["environment"]["adminTokenSecretId"], contract["environment"]["nodeSecretId"]}
    report.check(
        "each function is given the secrets it reads, no other",
        {binaries[lid]: sorted(set(f["environment"]) & secret_vars) for lid, f in sam_functions.items()},
        {name: sorted(f["secrets"]) for name, f in functions.items()},
        "sam",
        "contract",
    )
    bus_var = contract["environment"]["decisionEventBus"]
    report.check(
        "each function that writes decisions is given the bus to publish them on",
        {binaries[lid]: bus_var in f["environment"] for lid, f in sam_functions.items()},
        {name: f["publishesDecisions"] for name, f in functions.items()},
        "sam",
        "contract",
    )

    contract_routes = {key: binary for binary, f in functions.items() for key in f["routes"]}
    sam_routes = {key: binaries[lid] for key, lid in sam.routes().items()}
    report.check("routes, each to the function the code serves it from", sam_routes, contract_routes, "sam", "contract")
    report.check("routes", sam.routes(), cdk.routes())
    report.check(
        "routes throttled on their own (public and node routes)",
        sorted(sam.throttling()["routes"]),
        sorted(contract["publicRoutes"] + contract["nodeRoutes"]),
        "sam",
        "contract",
    )
    report.check("route throttling", sam.throttling(), cdk.throttling())
    report.check("schedules", sam.schedules(), cdk.schedules())
    report.check("event patterns", sam.patterns(), cdk.patterns())
    report.check("event dead-letter targets and retries", sam.event_dead_letters(), cdk.event_dead_letters())

    sam_table = table_facts(sam_template["Resources"])
    wanted = contract_table(contract)
    report.check("table keys, index and TTL", {k: sam_table[k] for k in wanted}, wanted, "sam", "contract")
    report.check("table", sam_table, table_facts(cdk_template["Resources"]))
    report.check("queues", queues(sam_template["Resources"]), queues(cdk_template["Resources"]))
    sam_mappings = event_source_mappings(sam_template["Resources"])
    report.check("event source mappings", sam_mappings, event_source_mappings(cdk_template["Resources"]))
    tick_filter = [
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {contract["table"]["sortKey"]: {"S": [contract["tickCallSortKey"]]}}},
        }
    ]
    report.check(
        "tick calls: the table's stream invokes the scaler, filtered on the code's item",
        {lid: (m["function"], m["source"], m["filters"]) for lid, m in sam_mappings.items() if m["source"] == "Table.StreamArn"},
        {"TickCalls": ("ScalerFunction", "Table.StreamArn", tick_filter)},
        "sam",
        "contract",
    )
    report.check(
        "tick orders: the tick queue invokes the scaler, which answers the orders that failed",
        {lid: (m["function"], m["source"], m["responseTypes"]) for lid, m in sam_mappings.items() if m["source"] != "Table.StreamArn"},
        {"TickOrders": ("ScalerFunction", "TickQueue.Arn", ["ReportBatchItemFailures"])},
        "sam",
        "wanted",
    )
    tick_queue_var = contract["environment"]["tickQueueUrl"]
    report.check(
        "each function that orders ticks is given the queue",
        {binaries[lid]: tick_queue_var in f["environment"] for lid, f in sam_functions.items()},
        {name: f["ordersTicks"] for name, f in functions.items()},
        "sam",
        "contract",
    )

    sam_observability = observability(sam_template["Resources"])
    report.check("alarms and dashboard", sam_observability, observability(cdk_template["Resources"]))
    wanted_metrics = contract["metrics"]
    report.check(
        "alarms and dashboard name only metrics the code writes",
        [pair for pair in metric_names(sam_observability)
         if pair[0] != wanted_metrics["namespace"] or pair[1] not in wanted_metrics["names"]],
        [],
        "sam",
        "contract",
    )
    report.check("parameters", parameters(sam_template), parameters(cdk_template))
    report.check("mappings", sam_template.get("Mappings"), cdk_template.get("Mappings"))
    report.check("scaler timing rules (ScalerRates)", timing_problems(sam_template), [], "sam", "wanted")
    report.check("throttles from the fleet's size", throttle_problems(sam_template), [], "sam", "wanted")
    report.check("conditions", sorted(sam_template.get("Conditions", {})), sorted(cdk_template.get("Conditions", {})))
    report.check("outputs", sorted(sam_template["Outputs"]), sorted(cdk_template["Outputs"]))
    sam_statements, cdk_statements = sam.statements(), cdk.statements()
    report.check("IAM statements per function (Sid: actions)", statement_actions(sam_statements), statement_actions(cdk_statements))
    report.check(
        "IAM statements per function (Sid: effect, resources, conditions)",
        statement_scopes(sam_statements),
        statement_scopes(cdk_statements),
    )
    granted = {}
    for key, actions in statement_actions(sam_statements).items():
        if key.split(".")[1] in SERVICE_SIDS:
            continue
        granted.setdefault(binaries[key.split(".")[0]], set()).update(actions)
    report.check(
        "each role grants exactly the actions its function's requests need",
        {binary: sorted(granted.get(binary, ())) for binary in functions},
        {binary: f["iamActions"] for binary, f in functions.items()},
        "sam",
        "contract",
    )
    return report


def main(sam_path, cdk_path, contract_path):
    sam_template = plain(cfn_yaml.load(sam_path))
    with open(cdk_path) as f:
        cdk_template = json.load(f)
    with open(contract_path) as f:
        contract = json.load(f)
    report = compare(Sam(sam_template), Cdk(cdk_template), sam_template, cdk_template, contract)
    if report.failed:
        print(f"{report.failed} difference(s) between {sam_path} and {cdk_path}")
        return 1
    print("SAM and CDK describe the same stack, the one the code needs")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))

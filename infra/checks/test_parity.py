"""The parity check notices when the two templates drift apart: each case
changes one thing on one side and expects a difference report.

Usage: python -m unittest infra/checks/test_parity.py (with CDK_TEMPLATE set to
a synthesized template; scripts/check-infra.sh does this).
"""
import contextlib
import copy
import io
import json
import os
import unittest

import parity
from cfnlint.decode import cfn_yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SAM_PATH = os.path.join(HERE, "..", "sam", "template.yaml")
CONTRACT_PATH = os.path.join(HERE, "..", "contract.json")


def failures(sam_template, cdk_template, contract):
    """How many checks fail on these (in-memory) templates."""
    sam, cdk = parity.Sam(sam_template), parity.Cdk(cdk_template)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        report = parity.compare(sam, cdk, sam_template, cdk_template, contract)
    return report.failed, out.getvalue()


def parity_statements(template, function, sid):
    """(resource id, statement) of a function's statement `sid`, in a SAM
    template (under the function) or a CDK one (in the role's policies)."""
    resources = template["Resources"]
    if function in resources and "Policies" in resources[function]["Properties"]:
        for policy in resources[function]["Properties"]["Policies"]:
            for statement in policy.get("Statement", []):
                if statement.get("Sid") == sid:
                    yield function, statement
        return
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Policy" and lid.startswith(function):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == sid:
                    yield lid, statement


class ParityNoticesDrift(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sam = parity.plain(cfn_yaml.load(SAM_PATH))
        with open(os.environ["CDK_TEMPLATE"]) as f:
            cls.cdk = json.load(f)
        with open(CONTRACT_PATH) as f:
            cls.contract = json.load(f)

    def setUp(self):
        self.sam_t = copy.deepcopy(self.sam)
        self.cdk_t = copy.deepcopy(self.cdk)
        self.contract_t = copy.deepcopy(self.contract)

    def assertDrift(self, needle):
        failed, output = failures(self.sam_t, self.cdk_t, self.contract_t)
        self.assertGreater(failed, 0, output)
        self.assertIn(needle, output)

    def cdk_resources(self, kind):
        return [r["Properties"] for r in self.cdk_t["Resources"].values() if r["Type"] == kind]

    def test_the_real_templates_agree(self):
        failed, output = failures(self.sam_t, self.cdk_t, self.contract_t)
        self.assertEqual(failed, 0, output)

    def test_a_route_missing_from_sam(self):
        del self.sam_t["Resources"]["LookupFunction"]["Properties"]["Events"]["Red5Lookup"]
        self.assertDrift("DIFF  routes")

    def test_a_route_the_code_does_not_have(self):
        self.contract_t["functions"]["lookup"]["routes"].pop()
        self.assertDrift("DIFF  routes, each to the function the code serves it from")

    def test_a_route_served_by_another_function(self):
        events = self.sam_t["Resources"]["NodeGroupsFunction"]["Properties"]["Events"]
        self.sam_t["Resources"]["HeartbeatFunction"]["Properties"]["Events"]["GetHealth"] = events.pop("GetHealth")
        self.assertDrift("DIFF  routes")

    def test_another_architecture(self):
        self.cdk_resources("AWS::Lambda::Function")[0]["Architectures"] = ["x86_64"]
        self.assertDrift("DIFF  functions and their settings")

    def test_another_schedule(self):
        rule = next(p for p in self.cdk_resources("AWS::Events::Rule") if "ScheduleExpression" in p)
        rule["ScheduleExpression"] = "rate(5 minutes)"
        self.assertDrift("DIFF  schedules")

    def test_a_scaler_timeout_longer_than_half_the_hook_timeout(self):
        for template in (self.sam_t, self.cdk_t):
            template["Mappings"]["ScalerRates"]["1"]["TimeoutSecs"] = 200
        self.assertDrift("DIFF  scaler timing rules")

    def test_a_node_throttle_not_derived_from_the_fleet_size(self):
        for template in (self.sam_t, self.cdk_t):
            template["Mappings"]["NodeThrottles"]["10000"]["Rate"] = 2000
        self.assertDrift("DIFF  throttles from the fleet's size")

    def test_a_join_rate_without_a_throttle(self):
        for template in (self.sam_t, self.cdk_t):
            del template["Mappings"]["JoinThrottles"]["300"]
        self.assertDrift("DIFF  throttles from the fleet's size")

    def test_a_scaler_timeout_shorter_than_its_schedule(self):
        for template in (self.sam_t, self.cdk_t):
            template["Mappings"]["ScalerRates"]["10"]["TimeoutSecs"] = 300
        self.assertDrift("DIFF  scaler timing rules")

    def test_a_tick_call_filter_on_another_item(self):
        mapping = next(p for p in self.cdk_resources("AWS::Lambda::EventSourceMapping"))
        mapping["FilterCriteria"]["Filters"][0]["Pattern"] = '{"dynamodb":{"Keys":{"sk":{"S":["SCALER"]}}}}'
        self.assertDrift("DIFF  event source mappings")

    def test_a_scaler_timeout_set_apart_from_the_rate(self):
        function = next(p for p in self.cdk_resources("AWS::Lambda::Function") if p.get("MemorySize") == 512)
        function["Timeout"] = 120
        self.assertDrift("DIFF  functions and their settings")

    def test_another_event_pattern(self):
        rule = next(p for p in self.cdk_resources("AWS::Events::Rule") if "EventPattern" in p)
        rule["EventPattern"]["source"] = ["aws.ec2", "aws.autoscaling"]
        self.assertDrift("DIFF  event patterns")

    def test_another_table_key(self):
        self.sam_t["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] = "ttl"
        self.assertDrift("DIFF  table keys, index and TTL")

    def test_an_extra_action(self):
        statements = self.sam_t["Resources"]["LookupFunction"]["Properties"]["Policies"][0]["Statement"]
        statements[0]["Action"].append("dynamodb:DeleteItem")
        self.assertDrift("DIFF  IAM statements")

    def test_a_grant_on_both_sides_the_code_never_needs(self):
        for template in (self.sam_t, self.cdk_t):
            for key, statement in parity_statements(template, "LookupFunction", "Table"):
                statement["Action"].append("dynamodb:DeleteItem")
        self.assertDrift("DIFF  each role grants exactly the actions its function's requests need")

    def test_an_action_the_code_calls_that_no_role_grants(self):
        self.contract_t["functions"]["lifecycle"]["iamActions"].append("autoscaling:DescribeAutoScalingGroups")
        self.assertDrift("DIFF  each role grants exactly the actions its function's requests need")

    def test_a_wider_resource(self):
        for _, statement in parity_statements(self.cdk_t, "ScalerFunction", "DriveOwnAutoScalingGroups"):
            statement["Resource"] = "*"
        self.assertDrift("DIFF  IAM statements per function (Sid: effect, resources, conditions)")

    def test_a_dropped_condition(self):
        for _, statement in parity_statements(self.sam_t, "ScalerFunction", "CreateOwnAutoScalingGroups"):
            del statement["Condition"]
        self.assertDrift("DIFF  IAM statements per function (Sid: effect, resources, conditions)")

    def test_a_secret_given_to_a_function_that_does_not_read_it(self):
        variables = self.sam_t["Resources"]["LookupFunction"]["Properties"].setdefault("Environment", {}).setdefault("Variables", {})
        variables["STREAMFLEET_NODE_SECRET_ID"] = {"Ref": "NodeSecret"}
        self.assertDrift("DIFF  each function is given the secrets it reads")

    def test_a_parameter_default(self):
        self.cdk_t["Parameters"]["ScalerRateMinutes"]["Default"] = 5
        self.assertDrift("DIFF  parameters")


class IntrinsicsResolve(unittest.TestCase):
    def test_sub_and_join_of_one_arn_agree(self):
        sub = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/streamfleet-node-*"}
        join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/streamfleet-node-*"]]}
        self.assertEqual(parity.resolved(sub), "arn:aws:iam::123456789012:role/streamfleet-node-*")
        self.assertEqual(parity.resolved(sub), parity.resolved(join))

    def test_references_name_the_resource_without_cdks_hash(self):
        sam = {"Fn::Sub": "${Table.Arn}/index/*"}
        cdk = {"Fn::Join": ["", [{"Fn::GetAtt": ["TableCD117FA1", "Arn"]}, "/index/*"]]}
        self.assertEqual(parity.resolved(sam), "{Table.Arn}/index/*")
        self.assertEqual(parity.resolved(sam), parity.resolved(cdk))
        self.assertNotEqual(parity.resolved({"Ref": "NodeSecret"}), parity.resolved({"Ref": "AdminTokenSecret"}))

    def test_conditions_keep_both_branches(self):
        value = {"Fn::If": ["GenerateAdminToken", {"Ref": "AdminTokenSecret"}, {"Ref": "AdminTokenSecretArn"}]}
        self.assertEqual(
            parity.resolved(value),
            {"if": "GenerateAdminToken", "then": "{AdminTokenSecret}", "else": "{AdminTokenSecretArn}"},
        )


if __name__ == "__main__":
    unittest.main()

// The stack's CloudWatch alarms and dashboard, as infra/observability/make.py
// wrote them (resources.json): added as they are, so that this stack and the
// SAM template (which has the same resources pasted in) cannot drift; the
// parity check compares them. The metrics are the ones the functions write
// to their logs in Embedded Metric Format (streamfleet_core::telemetry).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnCondition, CfnOutput, CfnResource, Fn, Stack, Validations } from 'aws-cdk-lib';
import { Parameters } from './parameters';

const RESOURCES = path.join(__dirname, '..', '..', 'observability', 'resources.json');

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

export function addObservability(stack: Stack, params: Parameters): void {
  new CfnCondition(stack, 'HasAlarmTopic', {
    expression: Fn.conditionNot(Fn.conditionEquals(params.alarmTopicArn.valueAsString, '')),
  });
  // The topic is referenced only under HasAlarmTopic: empty, it is never used.
  Validations.of(stack).acknowledge({
    id: 'CloudFormation-Validate::W1030',
    reason: 'AlarmTopicArn is used only when it is not empty (HasAlarmTopic)',
  });
  const { resources } = JSON.parse(fs.readFileSync(RESOURCES, 'utf8')) as { resources: Record<string, Resource> };
  for (const [id, resource] of Object.entries(resources)) {
    new CfnResource(stack, id, { type: resource.Type, properties: resource.Properties });
  }
  new CfnOutput(stack, 'DashboardUrl', {
    description: 'The stack\'s CloudWatch dashboard (lookups, seats, nodes, decisions, holds, ticks)',
    value: Fn.sub('https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${AWS::StackName}'),
  });
}

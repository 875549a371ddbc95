// What a deploy must get right, asserted on the synthesized template.
// Asset bundling is skipped here (`aws:cdk:bundling-stacks`: none); `cdk
// synth` in `make test` runs the real cargo-lambda build.
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadContract } from '../lib/contract';
import { FUNCTION_IDS, StreamfleetStack } from '../lib/streamfleet-stack';

const contract = loadContract();
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new StreamfleetStack(app, 'streamfleet-test');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;

/** The logical id of a function's Lambda resource. */
function functionLogicalId(name: keyof typeof FUNCTION_IDS): string {
  return stack.getLogicalId(stack.functions[name].node.defaultChild as any);
}

/** Every IAM statement attached to a function's role. */
function policiesOf(name: keyof typeof FUNCTION_IDS): any[] {
  const role = resources[functionLogicalId(name)].Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Roles.some((r: any) => r.Ref === role))
    .flatMap(([, p]) => p.PolicyDocument.Statement as any[]);
}

function ofType(type: string): [string, any][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}

describe('functions', () => {
  test('five functions, each on provided.al2023, arm64, handler bootstrap, JSON logs', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(5);
    for (const [, props] of functions) {
      expect(props.Runtime).toBe('provided.al2023');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('bootstrap');
      expect(props.LoggingConfig.LogFormat).toBe('JSON');
      expect(props.TracingConfig).toEqual({ Mode: { Ref: 'Tracing' } });
      expect(props.Environment.Variables[contract.environment.table]).toEqual({ Ref: expect.stringMatching(/^Table/) });
    }
  });

  test('the lookup function gets the memory parameter, the others fixed sizes', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^public stream lookup'),
      MemorySize: { Ref: 'LookupMemorySize' },
    });
  });

  test('secrets reach only the functions that read them, with the right to read only those', () => {
    const secretVars = [contract.environment.adminTokenSecretId, contract.environment.nodeSecretId];
    for (const name of Object.keys(FUNCTION_IDS) as (keyof typeof FUNCTION_IDS)[]) {
      const props = resources[functionLogicalId(name)].Properties;
      const given = Object.keys(props.Environment.Variables).filter((v) => secretVars.includes(v));
      expect(given.sort()).toEqual([...contract.functions[name].secrets].sort());
      const readable = policiesOf(name)
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => [s.Resource].flat());
      expect(readable.map((r) => JSON.stringify(r)).sort()).toEqual(
        contract.functions[name].secrets.map((v) => JSON.stringify(props.Environment.Variables[v])).sort(),
      );
    }
    // Neither secret is admin-only by accident: the lookup path reads none.
    expect(contract.functions.lookup.secrets).toEqual([]);
  });

  test('event-driven functions send failed invocations to the failed-events queue', () => {
    for (const name of ['scaler', 'lifecycle'] as const) {
      const props = resources[functionLogicalId(name)].Properties;
      expect(props.DeadLetterConfig.TargetArn['Fn::GetAtt'][0]).toMatch(/^FailedEventsQueue/);
    }
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });
});

describe('HTTP API', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route');
  const integrations = Object.fromEntries(ofType('AWS::ApiGatewayV2::Integration'));

  test('every route of every function, each to its own function', () => {
    const served: Record<string, string> = {};
    for (const [, props] of routes) {
      const integrationId = props.Target['Fn::Join'][1][1].Ref as string;
      served[props.RouteKey] = integrations[integrationId].IntegrationUri['Fn::GetAtt'][0];
    }
    const expected: Record<string, string> = {};
    for (const [name, { routes: keys }] of Object.entries(contract.functions)) {
      for (const key of keys) expected[key] = functionLogicalId(name as keyof typeof FUNCTION_IDS);
    }
    expect(served).toEqual(expected);
  });

  test('lookup routes and node routes have their own throttles, everything else the default one', () => {
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0][1];
    expect(stage.StageName).toBe('$default');
    expect(stage.DefaultRouteSettings.ThrottlingRateLimit).toEqual({ Ref: 'ApiRateLimit' });
    expect(Object.keys(stage.RouteSettings).sort()).toEqual([...contract.publicRoutes, ...contract.nodeRoutes].sort());
    for (const route of contract.publicRoutes) {
      expect(stage.RouteSettings[route].ThrottlingRateLimit).toEqual({
        'Fn::FindInMap': ['JoinThrottles', { Ref: 'PeakJoinsPerSecond' }, 'Rate'],
      });
      expect(stage.RouteSettings[route].ThrottlingBurstLimit).toEqual({
        'Fn::FindInMap': ['JoinThrottles', { Ref: 'PeakJoinsPerSecond' }, 'Burst'],
      });
    }
    for (const route of contract.nodeRoutes) {
      expect(stage.RouteSettings[route].ThrottlingRateLimit).toEqual({
        'Fn::FindInMap': ['NodeThrottles', { Ref: 'FleetNodes' }, 'Rate'],
      });
      expect(stage.RouteSettings[route].ThrottlingBurstLimit).toEqual({
        'Fn::FindInMap': ['NodeThrottles', { Ref: 'FleetNodes' }, 'Burst'],
      });
    }
    expect(stage.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]).toMatch(/^ApiAccessLogs/);
  });

  test('the stage is created after the routes its settings name', () => {
    const [stageId] = ofType('AWS::ApiGatewayV2::Stage')[0];
    const dependsOn: string[] = template.toJSON().Resources[stageId].DependsOn ?? [];
    for (const [routeId] of routes) expect(dependsOn).toContain(routeId);
  });
});

describe('events', () => {
  test('the scaler ticks on the rate parameter', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, p]) => p.ScheduleExpression);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0];
    expect(rule.ScheduleExpression).toEqual({
      'Fn::FindInMap': ['ScalerRates', { Ref: 'ScalerRateMinutes' }, 'Expression'],
    });
    expect(rule.Targets[0].Arn['Fn::GetAtt'][0]).toBe(functionLogicalId('scaler'));
    expect(rule.Targets[0].DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/^FailedEventsQueue/);
  });

  test('the tick queue invokes the scaler ten orders at a time, at most ScalerConcurrency at once, answering failed orders', () => {
    const [[queueId, queue]] = ofType('AWS::SQS::Queue').filter(([id]) => id.startsWith('TickQueue'));
    expect(queue.MessageRetentionPeriod).toBe(3600);
    expect(queue.VisibilityTimeout).toEqual({
      'Fn::FindInMap': ['ScalerRates', { Ref: 'ScalerRateMinutes' }, 'TimeoutSecs'],
    });
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => m.EventSourceArn['Fn::GetAtt']?.[0] === queueId);
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0];
    expect(mapping.FunctionName.Ref).toBe(functionLogicalId('scaler'));
    expect(mapping.BatchSize).toBe(10);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: { Ref: 'ScalerConcurrency' } });
    const env = resources[functionLogicalId('scaler')].Properties.Environment.Variables;
    expect(env[contract.environment.tickQueueUrl]).toEqual({ Ref: queueId });
  });

  test('the hook timeout follows the rate: at least four ticks, so one missed tick loses no hold', () => {
    const mapping = template.toJSON().Mappings.ScalerRates as Record<string, { Expression: string; HookTimeoutSecs: number }>;
    for (const [minutes, row] of Object.entries(mapping)) {
      expect(row.Expression).toBe(minutes === '1' ? 'rate(1 minute)' : `rate(${minutes} minutes)`);
      expect(row.HookTimeoutSecs).toBeGreaterThanOrEqual(4 * 60 * Number(minutes));
      expect(row.HookTimeoutSecs).toBeGreaterThanOrEqual(30);
      expect(row.HookTimeoutSecs).toBeLessThanOrEqual(7200);
    }
  });

  test('lifecycle actions of streamfleet hooks and interruption warnings reach the lifecycle function', () => {
    const patterns = ofType('AWS::Events::Rule')
      .filter(([, p]) => p.EventPattern)
      .map(([, p]) => {
        expect(p.Targets[0].Arn['Fn::GetAtt'][0]).toBe(functionLogicalId('lifecycle'));
        expect(p.Targets[0].DeadLetterConfig).toBeDefined();
        return p.EventPattern;
      });
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.autoscaling'],
          'detail-type': ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
          detail: { AutoScalingGroupName: [{ prefix: contract.ownedPrefix }] },
        },
        {
          source: ['aws.ec2'],
          'detail-type': ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'],
        },
      ]),
    );
    expect(patterns).toHaveLength(2);
  });
});

describe('table', () => {
  test('keys, index and TTL from the code, on demand, recoverable, encrypted, retained', () => {
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const [id, props] = tables[0];
    const t = contract.table;
    expect(props.KeySchema).toEqual([
      { AttributeName: t.partitionKey, KeyType: 'HASH' },
      { AttributeName: t.sortKey, KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual(
      t.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: t.timeToLiveAttribute, Enabled: true });
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(template.toJSON().Resources[id].DeletionPolicy).toBe('Retain');
  });
});

describe('IAM', () => {
  const statements = ofType('AWS::IAM::Policy').flatMap(([, p]) => p.PolicyDocument.Statement as any[]);
  const actionsOf = (s: any): string[] => [s.Action].flat();

  test('no statement grants every action of a service or of all services', () => {
    for (const s of statements) {
      for (const action of actionsOf(s)) {
        expect(action).not.toBe('*');
        expect(action).not.toMatch(/:\*$/);
      }
    }
  });

  test('writes to Auto Scaling are limited to streamfleet-named groups', () => {
    const writes = statements.filter((s) =>
      actionsOf(s).some((a) => a.startsWith('autoscaling:') && !a.startsWith('autoscaling:Describe')),
    );
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) {
      const resource = JSON.stringify(s.Resource);
      expect(resource).toContain(`autoScalingGroupName/${contract.ownedPrefix}*`);
    }
  });

  test('only Describe and List calls and X-Ray use the wildcard resource', () => {
    // dynamodb:ListStreams takes no resource-level permissions: Lambda lists
    // the table's streams for the scaler's tick calls.
    for (const s of statements.filter((s) => s.Resource === '*')) {
      for (const action of actionsOf(s)) {
        expect(action).toMatch(/^(autoscaling:Describe|ec2:Describe|xray:Put|dynamodb:ListStreams$)/);
      }
    }
  });

  test('each function reaches the table only through the item calls it makes', () => {
    const items = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const table = (name: keyof typeof FUNCTION_IDS) =>
      policiesOf(name).filter((s) => s.Sid === 'Table').flatMap(actionsOf).sort();
    expect(table('lookup')).toEqual([...items].sort());
    expect(table('heartbeat')).toEqual([...items].sort());
    // The decision log is written in batches (a pool host's termination, holds, answers).
    expect(table('nodegroups')).toEqual([...items, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].sort());
    expect(table('scaler')).toEqual([...items, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].sort());
    // The lifecycle function deletes the row of an instance's earlier life when a warm pool gives it back.
    expect(table('lifecycle')).toEqual([...items, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].sort());
    const all = statements.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
    expect(all).not.toContain('dynamodb:Scan');
  });

  test('the lookup function cannot delete items nor read any secret', () => {
    const own = policiesOf('lookup').flatMap(actionsOf);
    expect(own).not.toContain('dynamodb:DeleteItem');
    expect(own.some((a) => a.startsWith('secretsmanager:'))).toBe(false);
  });

  test('only the functions that drive the fleet may call Auto Scaling or EC2', () => {
    for (const name of Object.keys(FUNCTION_IDS) as (keyof typeof FUNCTION_IDS)[]) {
      const fleetCalls = policiesOf(name)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('autoscaling:') || a.startsWith('ec2:'));
      if (!contract.functions[name].drivesFleet) expect(fleetCalls).toEqual([]);
      else expect(fleetCalls).toContain('autoscaling:CompleteLifecycleAction');
    }
  });

  test('functions that write decisions publish them on the bus parameter only, and are told its name', () => {
    for (const name of Object.keys(FUNCTION_IDS) as (keyof typeof FUNCTION_IDS)[]) {
      const publishing = policiesOf(name).filter((s) => actionsOf(s).includes('events:PutEvents'));
      const env = resources[functionLogicalId(name)].Properties.Environment.Variables;
      if (!contract.functions[name].publishesDecisions) {
        expect(publishing).toEqual([]);
        expect(env[contract.environment.decisionEventBus]).toBeUndefined();
        continue;
      }
      expect(env[contract.environment.decisionEventBus]).toEqual({ Ref: 'DecisionEventBus' });
      expect(publishing).toHaveLength(1);
      expect(actionsOf(publishing[0])).toEqual(['events:PutEvents']);
      expect(JSON.stringify(publishing[0].Resource)).toContain(':event-bus/');
      expect(JSON.stringify(publishing[0].Resource)).toContain('{"Ref":"DecisionEventBus"}');
    }
  });
});

describe('outputs', () => {
  test('API URL, table name, admin token secret, failed-events queue, scaler function', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining(['ApiUrl', 'TableName', 'AdminTokenSecretId', 'FailedEventsQueueUrl', 'ScalerFunctionName']),
    );
  });
});

describe('alarms and dashboard', () => {
  test('four alarms on the code\'s metrics, each notifying the topic only when one is given', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.map(([id]) => id).sort()).toEqual(
      ['HoldNearTimeoutAlarm', 'RejectedJoinsAlarm', 'ScalerErrorsAlarm', 'SlowTickAlarm'],
    );
    const named = new Set(contract.metrics.names);
    for (const [, alarm] of alarms) {
      expect(alarm.AlarmActions['Fn::If'][0]).toBe('HasAlarmTopic');
      for (const metric of alarm.Metrics) {
        if (metric.MetricStat) expect(named.has(metric.MetricStat.Metric.MetricName)).toBe(true);
      }
    }
    expect(template.toJSON().Conditions.HasAlarmTopic).toBeDefined();
  });

  test('a dashboard, and its URL as an output', () => {
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(Object.keys(template.toJSON().Outputs)).toContain('DashboardUrl');
  });
});

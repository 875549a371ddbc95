// The stack's parameters: the same names, types and bounds as the SAM
// template's, so one deploy command line works for either.
import { CfnParameter } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface Parameters {
  readonly scalerRateMinutes: CfnParameter;
  readonly scalerTickSecs: CfnParameter;
  readonly adminTokenSecretArn: CfnParameter;
  readonly fleetNodes: CfnParameter;
  readonly peakJoinsPerSecond: CfnParameter;
  readonly apiRateLimit: CfnParameter;
  readonly apiBurstLimit: CfnParameter;
  readonly lookupMemorySize: CfnParameter;
  readonly heartbeatIntervalSecs: CfnParameter;
  readonly tracing: CfnParameter;
  readonly logLevel: CfnParameter;
  readonly logRetentionDays: CfnParameter;
  readonly lookupCorsOrigins: CfnParameter;
  readonly alarmTopicArn: CfnParameter;
  readonly decisionEventBus: CfnParameter;
  readonly scalerConcurrency: CfnParameter;
}

export function declareParameters(scope: Construct): Parameters {
  const param = (id: string, props: ConstructorParameters<typeof CfnParameter>[2]) =>
    new CfnParameter(scope, id, props);
  return {
    scalerRateMinutes: param('ScalerRateMinutes', {
      type: 'Number',
      default: 1,
      allowedValues: ['1', '2', '5', '10'],
      description:
        'How often the scaler ticks. The lifecycle hooks\' heartbeat timeout follows from it (see the ScalerRates mapping): held terminations are renewed at half the timeout, so a tick must come more often than that.',
    }),
    scalerTickSecs: param('ScalerTickSecs', {
      type: 'Number',
      default: 10,
      minValue: 1,
      maxValue: 600,
      description:
        'How often the scaler evaluates every group: each scheduled invocation orders each group\'s ticks this often until the next one takes over, on the tick queue (a value of the schedule\'s interval or more: once per invocation). At 10 s, well under a dollar a group a month (docs/scaler.md).',
    }),
    adminTokenSecretArn: param('AdminTokenSecretArn', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$',
      description:
        'The full ARN (with its 6-character suffix) of an existing Secrets Manager secret whose plain-text value is the admin bearer token (at least 16 characters), encrypted with the AWS-managed key. Empty: the stack generates one (see the AdminTokenSecretId output).',
    }),
    fleetNodes: param('FleetNodes', {
      type: 'Number',
      default: 10000,
      allowedValues: ['1000', '3000', '10000', '30000', '100000'],
      description:
        "Media nodes at peak, all groups together, rounded up to the next size. The throttle of each route nodes call (heartbeats, an edge asking for a stream's origin) follows from it (the NodeThrottles mapping): nodes reporting every 5 s, plus a fifth for retries and early reports, a burst of twice that. At 100,000 it exceeds API Gateway's default account quota of 10,000 requests a second (docs/scale.md).",
    }),
    peakJoinsPerSecond: param('PeakJoinsPerSecond', {
      type: 'Number',
      default: 1000,
      allowedValues: ['100', '300', '1000', '3000', '10000'],
      description:
        'Publishers and players joining per second at peak (lookups), rounded up to the next size. The throttle of each public lookup route follows from it (the JoinThrottles mapping): the join rate plus a fifth for retries, a burst of twice that.',
    }),
    apiRateLimit: param('ApiRateLimit', {
      type: 'Number',
      default: 500,
      minValue: 1,
      description: 'Steady requests per second allowed on every other route.',
    }),
    apiBurstLimit: param('ApiBurstLimit', {
      type: 'Number',
      default: 1000,
      minValue: 1,
      description: 'Burst allowed on every other route.',
    }),
    lookupMemorySize: param('LookupMemorySize', {
      type: 'Number',
      default: 1024,
      minValue: 128,
      maxValue: 10240,
      description:
        'Memory (MB) of the lookup function; Lambda gives CPU in proportion, and a lookup is the path players wait on.',
    }),
    heartbeatIntervalSecs: param('HeartbeatIntervalSecs', {
      type: 'Number',
      default: 5,
      minValue: 5,
      maxValue: 300,
      description:
        "How often media nodes report; they learn it from each answer. At least 5 s: the node routes' throttle (FleetNodes) is sized for that.",
    }),
    tracing: param('Tracing', {
      type: 'String',
      default: 'PassThrough',
      allowedValues: ['Active', 'PassThrough'],
      description: 'X-Ray tracing of every function.',
    }),
    logLevel: param('LogLevel', {
      type: 'String',
      default: 'INFO',
      allowedValues: ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'],
      description: 'Application log level of every function (JSON logs).',
    }),
    logRetentionDays: param('LogRetentionDays', {
      type: 'Number',
      default: 30,
      allowedValues: ['1', '3', '5', '7', '14', '30', '60', '90', '180', '365', '731', '1827', '3653'],
      description: 'How long CloudWatch keeps the functions\' and the API\'s logs.',
    }),
    lookupCorsOrigins: param('LookupCorsOrigins', {
      type: 'CommaDelimitedList',
      default: '*',
      description: 'Origins allowed to call the API from a browser (web players, browser WHIP and WHEP clients, hls.js).',
    }),
    alarmTopicArn: param('AlarmTopicArn', {
      type: 'String',
      default: '',
      description: 'An SNS topic the alarms notify (when they fire and when they clear); empty for none.',
    }),
    scalerConcurrency: param('ScalerConcurrency', {
      type: 'Number',
      default: 10,
      minValue: 2,
      maxValue: 1000,
      description:
        'Most scaler invocations carrying out tick orders at once (the tick queue\'s event source; each takes ten groups, several at a time). The scheduled invocation orders every group\'s ticks on the queue; this bounds how fast they are worked off, and what the scaler asks of the table and of Auto Scaling at once (docs/scaler.md).',
    }),
    decisionEventBus: param('DecisionEventBus', {
      type: 'String',
      default: 'default',
      allowedPattern: '^[A-Za-z0-9._/-]{1,256}$',
      description:
        'The EventBridge bus in this account and region every decision is published on (source streamfleet, detail-type Scaling Decision), for rules to route to chat, SNS or a pager: the default bus, or the name of one of yours. Events no rule matches are dropped.',
    }),
  };
}

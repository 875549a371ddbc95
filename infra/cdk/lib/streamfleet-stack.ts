// The streamfleet stack: the same resources as infra/sam/template.yaml (the
// parity check in `make test` compares the two), built with aws-cdk-lib and
// cargo-lambda-cdk.
import * as path from 'node:path';
import { CfnCondition, CfnMapping, CfnOutput, CfnParameter, Duration, Fn, RemovalPolicy, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secrets from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Contract, FunctionContract, FunctionName, loadContract } from './contract';
import { Parameters, declareParameters } from './parameters';
import { Permissions } from './permissions';
import { addObservability } from './observability';

/** The workspace's Cargo.toml: every function is one binary of it. */
const WORKSPACE_MANIFEST = path.join(__dirname, '..', '..', '..', 'Cargo.toml');

/** Construct ids, the same as the SAM template's logical ids. */
export const FUNCTION_IDS: Record<FunctionName, string> = {
  nodegroups: 'NodeGroupsFunction',
  heartbeat: 'HeartbeatFunction',
  lookup: 'LookupFunction',
  scaler: 'ScalerFunction',
  lifecycle: 'LifecycleFunction',
};

export interface StreamfleetStackProps extends StackProps {
  /** Defaults to infra/contract.json (tests may pass another). */
  readonly contract?: Contract;
}

export class StreamfleetStack extends Stack {
  readonly functions: Record<FunctionName, lambda.Function>;

  constructor(scope: Construct, id: string, props: StreamfleetStackProps = {}) {
    super(scope, id, props);
    const contract = props.contract ?? loadContract();
    const params = declareParameters(this);

    const rates = new CfnMapping(this, 'ScalerRates', {
      mapping: {
        '1': { Expression: 'rate(1 minute)', ScheduleSecs: 60, HookTimeoutSecs: 300, TimeoutSecs: 120 },
        '2': { Expression: 'rate(2 minutes)', ScheduleSecs: 120, HookTimeoutSecs: 600, TimeoutSecs: 240 },
        '5': { Expression: 'rate(5 minutes)', ScheduleSecs: 300, HookTimeoutSecs: 1500, TimeoutSecs: 330 },
        '10': { Expression: 'rate(10 minutes)', ScheduleSecs: 600, HookTimeoutSecs: 3000, TimeoutSecs: 630 },
      },
    });
    const rate = (key: string) => rates.findInMap(params.scalerRateMinutes.valueAsString, key);

    const table = this.table(contract);
    const adminToken = this.adminTokenSecret(params);
    const nodeSecret = new secrets.Secret(this, 'NodeSecret', {
      description: 'streamfleet node secret (enrollment keys and node tokens derive from it)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const failedEvents = new sqs.Queue(this, 'FailedEventsQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });

    // The scaler's tick orders (see tickOrders). A failed order comes back
    // once the scaler's timeout has passed (the least an event source
    // allows); by then the group's next order is usually due, and the late
    // one is dropped as stale. Orders are kept longer than any order's delay
    // (up to a schedule's interval) and the scaler's timeout.
    const tickQueue = new sqs.Queue(this, 'TickQueue', {
      visibilityTimeout: Duration.seconds(Token.asNumber(rate('TimeoutSecs'))),
      retentionPeriod: Duration.hours(1),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });

    const env = contract.environment;
    const common: Record<string, string> = {
      [env.table]: table.tableName,
      [env.heartbeatIntervalSecs]: params.heartbeatIntervalSecs.valueAsString,
      [env.hookHeartbeatTimeoutSecs]: rate('HookTimeoutSecs'),
    };
    // Each function is handed the secrets the code says it reads, no other.
    const secretArns: Record<string, string> = {
      [env.adminTokenSecretId]: adminToken,
      [env.nodeSecretId]: nodeSecret.secretArn,
    };
    const secretsOf = (name: FunctionName) =>
      Object.fromEntries(contract.functions[name].secrets.map((id) => [id, secretArns[id]]));
    const fn = (
      name: FunctionName,
      description: string,
      extra: Partial<lambda.FunctionOptions> = {},
      ownEnv: Record<string, string> = {},
    ) => this.rustFunction(name, description, params, { ...common, ...secretsOf(name), ...ownEnv }, extra);

    this.functions = {
      nodegroups: fn('nodegroups', 'node-group admin API (groups, nodes, enrollment keys, events, host pool)'),
      heartbeat: fn('heartbeat', 'media node heartbeats and enrollment, origin of a stream for an edge'),
      lookup: fn('lookup', 'public stream lookup (where to publish, where to play)', {
        memorySize: params.lookupMemorySize.valueAsNumber,
      }),
      scaler: fn('scaler', 'scaler tick (every group\'s policy on EC2 Auto Scaling), settles held lifecycle actions', {
        memorySize: 512,
        // The tick's budget and its leases' lapse follow the invocation's deadline.
        timeout: Duration.seconds(Token.asNumber(rate('TimeoutSecs'))),
        deadLetterQueue: failedEvents,
        // A missed tick is made up by the next one: no retries of stale ticks.
        retryAttempts: 0,
        maxEventAge: Duration.seconds(60),
      }, {
        // Each invocation ticks every tickSecs until the next one takes over.
        [env.tickSecs]: params.scalerTickSecs.valueAsString,
        [env.scheduleSecs]: rate('ScheduleSecs'),
      }),
      lifecycle: fn('lifecycle', 'EC2 Auto Scaling lifecycle hooks (held terminations, admitted launches), Spot warnings', {
        timeout: Duration.seconds(30),
        deadLetterQueue: failedEvents,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    };

    const permissions = new Permissions(this, table, contract);
    for (const name of Object.keys(this.functions) as FunctionName[]) {
      permissions.grantTable(this.functions[name], name);
    }
    for (const [name, fnContract] of Object.entries(contract.functions) as [FunctionName, FunctionContract][]) {
      if (fnContract.secrets.length > 0) {
        permissions.grantSecrets(this.functions[name], fnContract.secrets.map((id) => secretArns[id]));
      }
    }
    // Functions that write decisions publish them on the deployment's bus.
    const bus = params.decisionEventBus.valueAsString;
    for (const [name, fnContract] of Object.entries(contract.functions) as [FunctionName, FunctionContract][]) {
      if (fnContract.publishesDecisions) {
        this.functions[name].addEnvironment(env.decisionEventBus, bus);
        permissions.grantDecisionEvents(this.functions[name], bus);
      }
    }
    permissions.grantFleet(this.functions.scaler);
    permissions.grantEventSourceStream(this.functions.scaler);
    this.tickCalls(table, contract);
    this.tickOrders(tickQueue, params);
    this.functions.scaler.addEnvironment(env.tickQueueUrl, tickQueue.queueUrl);
    permissions.grantTickQueue(this.functions.scaler, tickQueue);
    permissions.grantHookAnswers(this.functions.lifecycle);

    const api = this.httpApi(contract, params);
    this.schedule(rate('Expression'), failedEvents);
    this.lifecycleRules(contract, failedEvents);
    failedEvents.addToResourcePolicy(Permissions.eventBridgeDeadLetters(failedEvents, this.account));

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the API (STREAMFLEET_URL for the CLI and the agents)',
      value: api.apiEndpoint,
    });
    new CfnOutput(this, 'TableName', { description: 'The DynamoDB table', value: table.tableName });
    new CfnOutput(this, 'AdminTokenSecretId', {
      description: 'The Secrets Manager secret holding the admin token (aws secretsmanager get-secret-value --secret-id ...)',
      value: adminToken,
    });
    new CfnOutput(this, 'FailedEventsQueueUrl', {
      description: 'Ticks and lifecycle events that failed every retry',
      value: failedEvents.queueUrl,
    });
    new CfnOutput(this, 'ScalerFunctionName', {
      description: 'Tick now: aws lambda invoke --invocation-type Event --function-name <this> /dev/null',
      value: this.functions.scaler.functionName,
    });
    addObservability(this, params);
  }

  private table(contract: Contract): dynamodb.Table {
    const keys = contract.table;
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: keys.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: keys.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Keys only: the scaler is invoked by writes of a group's TICK item
      // (lookups calling for a tick now; see tickCalls).
      stream: dynamodb.StreamViewType.KEYS_ONLY,
    });
    for (const index of keys.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  /**
   * Each scheduled invocation orders every group's ticks until the next one
   * on the tick queue (delayed to their times); the scaler carries them out
   * from there, ten to a batch, at most ScalerConcurrency invocations at once,
   * answering the orders whose tick failed (docs/scaler.md).
   */
  private tickOrders(queue: sqs.Queue, params: Parameters): void {
    new lambda.EventSourceMapping(this, 'TickOrders', {
      target: this.functions.scaler,
      eventSourceArn: queue.queueArn,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      maxConcurrency: params.scalerConcurrency.valueAsNumber,
    });
  }

  /**
   * A lookup that finds no room, or whose seat takes a role's seats across its
   * scale-out threshold, writes the group's TICK item (at most once per 5 s per
   * group, whoever writes): the write invokes the scaler for that group at once
   * instead of at the next scheduled tick. Calls are not retried: the scheduled
   * tick comes within ScalerTickSecs anyway.
   */
  private tickCalls(table: dynamodb.Table, contract: Contract): void {
    new lambda.EventSourceMapping(this, 'TickCalls', {
      target: this.functions.scaler,
      eventSourceArn: table.tableStreamArn!,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      // Calls for different groups are ticked side by side.
      parallelizationFactor: 10,
      retryAttempts: 0,
      maxRecordAge: Duration.seconds(60),
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: { Keys: { [contract.table.sortKey]: { S: lambda.FilterRule.isEqual(contract.tickCallSortKey) } } },
        }),
      ],
    });
  }

  /** The ARN of the operator's secret when given, else of one the stack generates. */
  private adminTokenSecret(params: Parameters): string {
    const generate = new CfnCondition(this, 'GenerateAdminToken', {
      expression: Fn.conditionEquals(params.adminTokenSecretArn.valueAsString, ''),
    });
    const generated = new secrets.Secret(this, 'AdminTokenSecret', {
      description: 'streamfleet admin bearer token (Authorization of the node-group API)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    (generated.node.defaultChild as secrets.CfnSecret).cfnOptions.condition = generate;
    // An ARN, not a secret; and each branch of the If exists when taken.
    Validations.of(this).acknowledge(
      { id: 'CloudFormation-Validate::W2509', reason: 'AdminTokenSecretArn is an ARN, not the secret' },
      { id: 'CloudFormation-Validate::W1001', reason: 'the output takes the generated secret only when it exists' },
    );
    return Fn.conditionIf(generate.logicalId, generated.secretArn, params.adminTokenSecretArn.valueAsString).toString();
  }

  private rustFunction(
    name: FunctionName,
    description: string,
    params: Parameters,
    environment: Record<string, string>,
    options: Partial<lambda.FunctionOptions>,
  ): lambda.Function {
    const id = FUNCTION_IDS[name];
    const logGroup = new logs.CfnLogGroup(this, id.replace('Function', 'Logs'), {
      retentionInDays: params.logRetentionDays.valueAsNumber,
    });
    const fn = new RustFunction(this, id, {
      manifestPath: WORKSPACE_MANIFEST,
      binaryName: name,
      architecture: lambda.Architecture.ARM_64,
      runtime: 'provided.al2023',
      memorySize: 256,
      timeout: Duration.seconds(10),
      description,
      ...options,
      environment,
    });
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    // Parameters, not enums: the same knobs as the SAM template.
    cfn.tracingConfig = { mode: params.tracing.valueAsString };
    cfn.loggingConfig = {
      logFormat: 'JSON',
      applicationLogLevel: params.logLevel.valueAsString,
      systemLogLevel: 'WARN',
      logGroup: logGroup.ref,
    };
    Permissions.allowTracing(fn);
    return fn;
  }

  private httpApi(contract: Contract, params: Parameters): apigw.HttpApi {
    const api = new apigw.HttpApi(this, 'Api', {
      description: 'streamfleet node-group API, heartbeats and stream lookup',
      corsPreflight: {
        allowOrigins: params.lookupCorsOrigins.valueAsList,
        allowMethods: [
          apigw.CorsHttpMethod.GET,
          apigw.CorsHttpMethod.POST,
          apigw.CorsHttpMethod.PUT,
          apigw.CorsHttpMethod.PATCH,
          apigw.CorsHttpMethod.DELETE,
        ],
        allowHeaders: ['authorization', 'content-type', 'if-match'],
        exposeHeaders: ['etag', 'location', 'retry-after', 'x-request-id'],
        maxAge: Duration.seconds(600),
      },
    });
    const stage = api.defaultStage!;
    for (const [name, { routes }] of Object.entries(contract.functions) as [FunctionName, FunctionContract][]) {
      if (routes.length === 0) continue;
      const integration = new HttpLambdaIntegration(`${FUNCTION_IDS[name]}Integration`, this.functions[name]);
      for (const routeKey of routes) {
        const [method, routePath] = routeKey.split(' ');
        const added = api.addRoutes({ path: routePath, methods: [method as apigw.HttpMethod], integration });
        // The stage's route settings name routes: they must exist first.
        added.forEach((route) => stage.node.addDependency(route));
      }
    }
    const accessLogs = new logs.CfnLogGroup(this, 'ApiAccessLogs', {
      retentionInDays: params.logRetentionDays.valueAsNumber,
    });
    const cfnStage = stage.node.defaultChild as apigw.CfnStage;
    cfnStage.defaultRouteSettings = {
      throttlingRateLimit: params.apiRateLimit.valueAsNumber,
      throttlingBurstLimit: params.apiBurstLimit.valueAsNumber,
    };
    // The throttles of the routes nodes and players call, from the fleet's
    // stated size (docs/scale.md): a fifth over the steady rate for retries
    // and early reports, a burst of twice the rate.
    // Integer arithmetic: rate = ⌈nodes ÷ 5 s × 6/5⌉ = ⌈6 nodes / 25⌉.
    const throttles = (id: string, sizes: number[], rateOf: (size: number) => number) =>
      new CfnMapping(this, id, {
        mapping: Object.fromEntries(
          sizes.map((size) => {
            const rate = rateOf(size);
            return [String(size), { Rate: rate, Burst: 2 * rate }];
          }),
        ),
      });
    const ceilDiv = (a: number, b: number) => Math.floor((a + b - 1) / b);
    const nodeThrottles = throttles('NodeThrottles', [1000, 3000, 10000, 30000, 100000], (nodes) => ceilDiv(6 * nodes, 25));
    const joinThrottles = throttles('JoinThrottles', [100, 300, 1000, 3000, 10000], (joins) => ceilDiv(6 * joins, 5));
    const limits = (mapping: CfnMapping, size: CfnParameter) => ({
      ThrottlingRateLimit: mapping.findInMap(size.valueAsString, 'Rate'),
      ThrottlingBurstLimit: mapping.findInMap(size.valueAsString, 'Burst'),
    });
    cfnStage.routeSettings = Object.fromEntries([
      ...contract.publicRoutes.map((route) => [route, limits(joinThrottles, params.peakJoinsPerSecond)]),
      ...contract.nodeRoutes.map((route) => [route, limits(nodeThrottles, params.fleetNodes)]),
    ]);
    cfnStage.accessLogSettings = {
      destinationArn: accessLogs.attrArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        integrationMs: '$context.integrationLatency',
        error: '$context.integrationErrorMessage',
      }),
    };
    return api;
  }

  private schedule(expression: string, failedEvents: sqs.IQueue): void {
    const rule = new events.Rule(this, 'ScalerFunctionTick', {
      description: 'streamfleet scaler tick',
      schedule: events.Schedule.expression(expression),
    });
    rule.addTarget(
      new targets.LambdaFunction(this.functions.scaler, {
        retryAttempts: 0,
        maxEventAge: Duration.seconds(60),
        deadLetterQueue: failedEvents,
      }),
    );
  }

  private lifecycleRules(contract: Contract, failedEvents: sqs.IQueue): void {
    const target = (maxEventAge: Duration) =>
      new targets.LambdaFunction(this.functions.lifecycle, {
        retryAttempts: 10,
        maxEventAge,
        deadLetterQueue: failedEvents,
      });
    new events.Rule(this, 'LifecycleFunctionLifecycleActions', {
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        // Actions of streamfleet's ASGs only: the only ones it may answer.
        detail: { AutoScalingGroupName: [{ prefix: contract.ownedPrefix }] },
      },
      targets: [target(Duration.hours(1))],
    });
    new events.Rule(this, 'LifecycleFunctionInterruptionWarnings', {
      eventPattern: {
        source: ['aws.ec2'],
        detailType: ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'],
      },
      targets: [target(Duration.minutes(10))],
    });
  }
}

// Least privilege, spelled out: each function gets the actions it calls on
// the resources it touches (the SAM template grants the same statements; the
// parity check compares the actions). No `grantReadWriteData`: it would add
// Scan, BatchGetItem and more that no function calls.
import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Contract, FunctionName } from './contract';

const ITEMS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

/**
 * The table calls each function makes (transactions need the rights of their
 * parts): the contract's `iamActions`, which the code's requests decide.
 */
export const TABLE_ACTIONS: Record<FunctionName, string[]> = {
  // Deletes: groups, their claims, pool hosts; BatchWriteItem: the decision
  // log of a pool host's termination.
  nodegroups: [...ITEMS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  heartbeat: ITEMS,
  lookup: ITEMS,
  // Deletes: nodes that left; BatchWriteItem: the decision log.
  scaler: [...ITEMS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  // BatchWriteItem: the decision log (holds, cordons, answers).
  lifecycle: [...ITEMS, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
};

export class Permissions {
  private readonly ownedGroups: string;

  constructor(
    private readonly stack: Stack,
    private readonly table: dynamodb.ITable,
    private readonly contract: Contract,
  ) {
    this.ownedGroups = `arn:${stack.partition}:autoscaling:*:${stack.account}:autoScalingGroup:*:autoScalingGroupName/${contract.ownedPrefix}*`;
  }

  grantTable(fn: lambda.IFunction, name: FunctionName): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'Table',
        actions: TABLE_ACTIONS[name],
        resources: [this.table.tableArn, `${this.table.tableArn}/index/*`],
      }),
    );
  }

  grantSecrets(fn: lambda.IFunction, secretArns: string[]): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'Secrets', actions: ['secretsmanager:GetSecretValue'], resources: secretArns }),
    );
  }

  /** Lambda reads the table's stream for the scaler's tick calls with its role; the code never does. */
  grantEventSourceStream(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EventSourceStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [this.table.tableStreamArn!],
      }),
    );
    fn.addToRolePolicy(
      // ListStreams takes no resource-level permissions.
      new iam.PolicyStatement({ sid: 'EventSourceListStreams', actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
  }

  /** The scaler: describe the fleet, create and drive streamfleet's own ASGs. */
  grantFleet(fn: lambda.IFunction): void {
    const { partition, account } = this.stack;
    const tagged = { Null: { [`aws:RequestTag/${this.contract.groupTag}`]: 'false' } };
    const statements = [
      new iam.PolicyStatement({
        sid: 'DescribeFleet',
        // Describe calls take no resource-level permissions.
        actions: [
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeLifecycleHooks',
          'ec2:DescribeInstances',
          'ec2:DescribeAvailabilityZones',
          'ec2:DescribeLaunchTemplates',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CreateOwnAutoScalingGroups',
        actions: ['autoscaling:CreateAutoScalingGroup', 'autoscaling:CreateOrUpdateTags'],
        resources: [this.ownedGroups],
        conditions: tagged,
      }),
      new iam.PolicyStatement({
        sid: 'DriveOwnAutoScalingGroups',
        actions: [
          'autoscaling:UpdateAutoScalingGroup',
          'autoscaling:SetDesiredCapacity',
          'autoscaling:SetInstanceProtection',
          'autoscaling:TerminateInstanceInAutoScalingGroup',
          'autoscaling:PutLifecycleHook',
          'autoscaling:PutWarmPool',
          'autoscaling:DeleteWarmPool',
          'autoscaling:CompleteLifecycleAction',
          'autoscaling:RecordLifecycleActionHeartbeat',
        ],
        resources: [this.ownedGroups],
      }),
      new iam.PolicyStatement({
        sid: 'CreateOwnLaunchTemplates',
        actions: ['ec2:CreateLaunchTemplate'],
        resources: [`arn:${partition}:ec2:*:${account}:launch-template/*`],
        conditions: tagged,
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['ec2:CreateTags'],
        resources: [`arn:${partition}:ec2:*:${account}:*/*`],
        conditions: { StringEquals: { 'ec2:CreateAction': ['CreateLaunchTemplate', 'RunInstances'] } },
      }),
      new iam.PolicyStatement({
        sid: 'LaunchFromTemplates',
        // Creating or updating an ASG with a launch template checks that the
        // caller could launch from it.
        actions: ['ec2:RunInstances'],
        resources: [
          `arn:${partition}:ec2:*:${account}:*/*`,
          `arn:${partition}:ec2:*::image/*`,
          `arn:${partition}:ec2:*::snapshot/*`,
        ],
      }),
      new iam.PolicyStatement({
        sid: 'PassMediaNodeRoles',
        actions: ['iam:PassRole'],
        resources: [`arn:${partition}:iam::${account}:role/streamfleet-node-*`],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'AutoScalingServiceRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          `arn:${partition}:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
        ],
        conditions: { StringLike: { 'iam:AWSServiceName': 'autoscaling.amazonaws.com' } },
      }),
    ];
    statements.forEach((statement) => fn.addToRolePolicy(statement));
  }

  /**
   * The lifecycle function answers streamfleet's own hooks, nothing else
   * (keeping a held action alive is the scaler's).
   */
  grantHookAnswers(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AnswerOwnHooks',
        actions: ['autoscaling:CompleteLifecycleAction'],
        resources: [this.ownedGroups],
      }),
    );
  }

  /** The scaler orders ticks on the tick queue; Lambda reads it for the scaler with the same role. */
  grantTickQueue(fn: lambda.IFunction, queue: sqs.IQueue): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EventSourceQueue',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    );
    fn.addToRolePolicy(
      // SendMessageBatch is authorized as SendMessage.
      new iam.PolicyStatement({ sid: 'OrderTicks', actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
  }

  /** Publish decisions on the deployment's bus, no other. */
  grantDecisionEvents(fn: lambda.IFunction, bus: string): void {
    const { partition, region, account } = this.stack;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecisionEvents',
        actions: ['events:PutEvents'],
        resources: [`arn:${partition}:events:${region}:${account}:event-bus/${bus}`],
      }),
    );
  }

  /** Tracing is a parameter, so the X-Ray write actions are always granted (as SAM does). */
  static allowTracing(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'Tracing',
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    );
  }

  /** EventBridge may drop undeliverable events into the failed-events queue. */
  static eventBridgeDeadLetters(queue: sqs.IQueue, account: string): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'EventBridgeDeadLetters',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    });
  }
}

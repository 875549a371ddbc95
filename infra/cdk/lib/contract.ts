// What the code says the infrastructure must provide: the table's keys and
// every route of every function. Generated from the Rust code into
// infra/contract.json (a test fails when it is stale), so the CDK app never
// spells a key or a route itself.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface IndexKeys {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

export interface TableContract {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: IndexKeys[];
}

export type FunctionName = 'nodegroups' | 'heartbeat' | 'lookup' | 'scaler' | 'lifecycle';

export interface FunctionContract {
  /** Route keys (`GET /v1/health`) the function serves; empty for event-driven ones. */
  readonly routes: string[];
  /** The `*_SECRET_ID` variables it reads its secrets from. */
  readonly secrets: string[];
  /** Whether it calls EC2 Auto Scaling and EC2. */
  readonly drivesFleet: boolean;
  /** Whether it writes decisions, and so publishes them to EventBridge. */
  readonly publishesDecisions: boolean;
  /** Whether it orders ticks on the tick queue (and consumes it). */
  readonly ordersTicks: boolean;
}

export interface Contract {
  readonly table: TableContract;
  /** The metrics the functions write (Embedded Metric Format). */
  readonly metrics: { readonly namespace: string; readonly names: string[] };
  readonly functions: Record<FunctionName, FunctionContract>;
  /** Routes anyone may call: throttled on their own. */
  readonly publicRoutes: string[];
  /** Routes media nodes call: throttled on their own. */
  readonly nodeRoutes: string[];
  readonly environment: {
    readonly table: string;
    readonly adminTokenSecretId: string;
    readonly nodeSecretId: string;
    readonly heartbeatIntervalSecs: string;
    readonly hookHeartbeatTimeoutSecs: string;
    readonly tickSecs: string;
    readonly scheduleSecs: string;
    readonly decisionEventBus: string;
    readonly tickQueueUrl: string;
  };
  /** Auto Scaling groups and lifecycle hooks streamfleet owns start with it. */
  readonly ownedPrefix: string;
  /** The tag streamfleet puts on what it creates. */
  readonly groupTag: string;
  /** The sort key of a group's item whose writes call the scaler for a tick. */
  readonly tickCallSortKey: string;
}

export const CONTRACT_PATH = path.join(__dirname, '..', '..', 'contract.json');

export function loadContract(file: string = CONTRACT_PATH): Contract {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Contract;
}

#!/usr/bin/env node
// `cdk synth` / `cdk deploy` entry point. Parameters are the SAM template's:
// `cdk deploy --parameters ScalerRateMinutes=2 ...`.
import { App } from 'aws-cdk-lib';
import { StreamfleetStack } from '../lib/streamfleet-stack';

const app = new App();
new StreamfleetStack(app, app.node.tryGetContext('stackName') ?? 'streamfleet', {
  description: 'streamfleet: a serverless stream manager for live-streaming fleets',
  // No CDK usage metadata resource: the template holds only what SAM's does.
  analyticsReporting: false,
});

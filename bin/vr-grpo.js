#!/usr/bin/env node
// Entry point of the `vr-grpo` command: registers the TypeScript loader (tsx) and runs the CLI from source,
// so an installed checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);

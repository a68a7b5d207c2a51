#!/usr/bin/env node
// Runs one TypeScript file (a benchmark or script) with the tsx loader: `node bin/run-ts.js bench/x.ts [args]`.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node bin/run-ts.js FILE.ts [args]\n');
  process.exit(2);
}
process.argv.splice(2, 1);
await import(pathToFileURL(resolve(file)).href);

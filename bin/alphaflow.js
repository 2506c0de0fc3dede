#!/usr/bin/env node
// The installed `alphaflow` command: runs the compiled CLI (`npm run build` makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/pipelines/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('alphaflow: dist/ is missing; run "npm run build" first (or use "npm run alphaflow -- <command>" in a checkout)\n');
  process.exit(1);
}
const { runCli } = await import(cli.href);
runCli();

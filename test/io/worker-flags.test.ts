/** Workers start with the host's loader flags only, from execArgv and NODE_OPTIONS alike. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { keptWorkerFlags, splitNodeOptions, workerFlags } from '../../src/io/worker-flags.js';

test('loader flags are kept in order, in both spellings; everything else is dropped', () => {
  const host = ['--input-type=module', '--import', './hook.mjs', '-r', 'pnp.cjs', '--experimental-loader=./l.mjs', '--max-old-space-size=100', '-C', 'dev', '--no-warnings', '--title', 'job', '-e', '--import=evil'];
  assert.deepEqual(keptWorkerFlags(host), ['--import', './hook.mjs', '-r', 'pnp.cjs', '--experimental-loader=./l.mjs', '-C', 'dev', '--no-warnings']);
});

test('the code of -e is never read as a flag', () => {
  assert.deepEqual(keptWorkerFlags(['--eval', '--require=x', '-p', '--import']), []);
});

test('NODE_OPTIONS is split as Node splits it, quotes and escapes included', () => {
  assert.deepEqual(splitNodeOptions(' --import  "./a b.mjs" --x="q\\"r" '), ['--import', './a b.mjs', '--x=q"r']);
});

test('the worker gets a NODE_OPTIONS with only its kept flags, re-quoted so Node reads back the same words', () => {
  const flags = workerFlags(['--input-type=module'], '--input-type=module --import "./a b.mjs" --trace-warnings');
  assert.deepEqual(flags.execArgv, []);
  assert.equal(flags.nodeOptions, '--import "./a b.mjs"');
  assert.deepEqual(splitNodeOptions(flags.nodeOptions!), ['--import', './a b.mjs']);
  assert.equal(workerFlags([], undefined).nodeOptions, undefined);
});

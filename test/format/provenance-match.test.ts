import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertRequireSame, assertSameProvenance, currentRuntime, provenanceDifferences } from '../../src/format/provenance-match.js';
import { expectError } from './fixtures.js';

const recorded = { library: 'holdfast 1.4.2', host: 'h', user: 'u', pid: 1, configHash: 'cfg-a', gitCommit: 'abc', node: 'v24.1.0', platform: 'linux-x64' };

test('every required value that differs is listed with both sides', () => {
  const current = { configHash: 'cfg-b', gitCommit: 'abc', library: 'holdfast 1.9.0', node: 'v20.3.0', platform: 'linux-x64' };
  assert.deepEqual(provenanceDifferences(recorded, ['config', 'git', 'library-major', 'node-major', 'platform'], current), [
    'config hash: checkpoint "cfg-a", this process "cfg-b"',
    'Node major version: checkpoint "24", this process "20"',
  ]);
  assert.deepEqual(provenanceDifferences(recorded, ['library'], current), ['library: checkpoint "holdfast 1.4.2", this process "holdfast 1.9.0"']);
  assert.deepEqual(provenanceDifferences({ ...recorded, library: 'holdfast 2.0.0' }, ['library-major'], current), [
    'library major version: checkpoint "2", this process "1"',
  ]);
});

test('a value the checkpoint never recorded is a difference, not a match', () => {
  const { configHash: _c, ...noConfig } = recorded;
  assert.deepEqual(provenanceDifferences(noConfig, ['config'], { configHash: 'cfg-a' }), ['config hash: not recorded in the checkpoint, this process has "cfg-a"']);
});

test('the runtime defaults to this process', () => {
  const here = currentRuntime();
  assert.deepEqual(provenanceDifferences({ ...recorded, ...here }, ['library', 'node-major', 'platform'], {}), []);
});

test('refusals: HF_INCOMPATIBLE naming every difference; unknown or uncomparable requirements are usage errors', () => {
  expectError(() => assertSameProvenance('/s/ckpt-7', 7, recorded, ['config', 'git'], { configHash: 'x', gitCommit: 'y' }), 'HF_INCOMPATIBLE', 'checkpoint 7', 'config hash', 'git commit');
  expectError(() => assertRequireSame(['colour'], {}), 'HF_INVALID_ARG', 'unknown value "colour"');
  expectError(() => assertRequireSame(['config'], {}), 'HF_INVALID_ARG', 'needs the current configHash');
  expectError(() => assertRequireSame('config', {}), 'HF_INVALID_ARG', 'must be an array');
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkpointDirName, parseCheckpointDirName } from '../../src/format/names.js';

describe('parseCheckpointDirName', () => {
  test('reads back every name checkpointDirName writes', () => {
    for (const step of [0, 12, 999_999_999_999, 1_000_000_000_000, Number.MAX_SAFE_INTEGER]) {
      assert.equal(parseCheckpointDirName(checkpointDirName(step)), step);
    }
  });

  // Two names for one step would be two copies of it: discovery must see only the canonical one.
  test('refuses any other spelling of a step', () => {
    for (const name of ['ckpt-0000000000012', 'ckpt-00000000000012', 'ckpt-0000000000000', 'ckpt-00000000012', 'ckpt-9007199254740992', 'ckpt-+00000000012', 'ckpt-000000000012 ', 'ckpt-000000000012.tmp']) {
      assert.equal(parseCheckpointDirName(name), undefined, name);
    }
  });
});

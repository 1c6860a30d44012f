import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { attemptIdFromEnv, attemptNonce, resolveAttempt } from '../../src/ranks/attempt-id.js';

test('attempt id: the option, else TorchElastic, else Slurm (with restart counts); the nonce is a pure 32-hex function of it', () => {
  assert.equal(attemptIdFromEnv({ TORCHELASTIC_RUN_ID: 'r7', TORCHELASTIC_RESTART_COUNT: '2', SLURM_JOB_ID: '9' }), 'torchelastic:r7:2');
  assert.equal(attemptIdFromEnv({ SLURM_JOB_ID: '9', SLURM_RESTART_COUNT: '1' }), 'slurm:9:1');
  assert.equal(attemptIdFromEnv({ SLURM_JOB_ID: '9' }), 'slurm:9:0');
  assert.equal(attemptIdFromEnv({}), undefined);
  const a = resolveAttempt(undefined, { SLURM_JOB_ID: '9', SLURM_RESTART_COUNT: '1' });
  assert.deepEqual(a, { id: 'slurm:9:1', nonce: attemptNonce('slurm:9:1') });
  assert.match(a.nonce, /^[0-9a-f]{32}$/);
  assert.notEqual(attemptNonce('slurm:9:1'), attemptNonce('slurm:9:2'), 'a restart is a new attempt');
  assert.equal(resolveAttempt('mine', { SLURM_JOB_ID: '9' }).id, 'mine');
  assert.throws(() => resolveAttempt(undefined, {}), (e: unknown) => isHoldfastError(e, 'HF_INVALID_ARG') && /attempt/.test((e as Error).message));
});

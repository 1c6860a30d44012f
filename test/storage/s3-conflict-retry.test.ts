// The 409 retry of conditional S3 requests: retried with backoff up to a bound; nothing else is.
import assert from 'node:assert/strict';
import test from 'node:test';
import { retryConflicts } from '../../src/storage/s3-conflict-retry.js';

/** An error shaped as the SDK reports a status (name and `$metadata.httpStatusCode`). */
function httpError(status: number, name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

test('409 is retried until the request goes through', async () => {
  let calls = 0;
  const got = await retryConflicts(() => (++calls < 3 ? Promise.reject(httpError(409, 'ConditionalRequestConflict')) : Promise.resolve('done')), { attempts: 5, baseMs: 1 });
  assert.equal(got, 'done');
  assert.equal(calls, 3);
});

test('a 409 that persists fails after the bound, with the server\'s error', async () => {
  let calls = 0;
  const conflict = httpError(409, 'ConditionalRequestConflict');
  await assert.rejects(retryConflicts(() => (calls++, Promise.reject(conflict)), { attempts: 4, baseMs: 1 }), (e) => e === conflict);
  assert.equal(calls, 4);
});

test('412 (the step exists) and other errors are not retried', async () => {
  for (const err of [httpError(412, 'PreconditionFailed'), httpError(403, 'AccessDenied'), new Error('socket hang up')]) {
    let calls = 0;
    await assert.rejects(retryConflicts(() => (calls++, Promise.reject(err)), { attempts: 4, baseMs: 1 }), (e) => e === err);
    assert.equal(calls, 1, err.message);
  }
});

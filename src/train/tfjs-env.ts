/**
 * Puts TensorFlow.js on its pure-JavaScript CPU backend, quietly. Holdfast's
 * tfjs integration promises bit-exact resume, which needs one backend whose
 * kernels are deterministic and single-threaded; the CPU backend is that (no
 * native binary, no GPU reductions in varying order).
 *
 * Why the flag dance: the CPU backend prints a "looks like you are running
 * TensorFlow.js in Node.js … install tfjs-node" banner on its first tensor
 * whenever the `IS_NODE` flag is set. We clear the flag for that one first
 * write and restore it at once, rather than enabling `PROD` mode (which would
 * also hide every other tfjs warning) or `IS_TEST` (which turns on leak checks).
 *
 * Contract: idempotent; call before creating models. Importing this file has
 * no side effect.
 */
import * as tf from '@tensorflow/tfjs';

let ready: Promise<void> | null = null;

export function initTfjsCpu(): Promise<void> {
  ready ??= (async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    const env = tf.env();
    const wasNode = env.getBool('IS_NODE');
    env.set('IS_NODE', false);
    try {
      tf.tidy(() => tf.scalar(0));
    } finally {
      env.set('IS_NODE', wasNode);
    }
  })();
  return ready;
}

/**
 * Adam (Kingma & Ba) over Float32Array parameters, in plain JavaScript: the
 * optimizer of the framework-free training loop. Its state is the two moment
 * arrays per parameter and the step counter `t`; all three must survive a
 * resume, because `t` sets the bias correction and the moments carry the
 * gradient history (a test drops each and watches the trajectory change).
 *
 * Contract: deterministic. Each element is updated in double precision and
 * stored back rounded to float32, in index order, with no parallelism.
 */

export interface AdamHyper {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** One Adam update of `param` in place, with gradient `grad`, moments `m`/`v`, 1-based step `t` and rate `lr`. */
export function adamUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr: number,
  h: AdamHyper,
): void {
  const bc1 = 1 - Math.pow(h.beta1, t);
  const bc2 = 1 - Math.pow(h.beta2, t);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = h.beta1 * m[i]! + (1 - h.beta1) * g;
    const vi = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i]! - (lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + h.epsilon);
  }
}

/**
 * 95 % Wilson score intervals for the campaigns' proportions (DESIGN §9).
 * Wilson rather than the normal ("Wald") interval because every guarantee
 * here sits at or near 100 %, where Wald collapses to [1, 1] and says
 * nothing; Wilson's lower bound for n/n is n / (n + z²), the number the
 * research note quotes (1600/1600 → 99.76 %, 8000/8000 → 99.952 %).
 *
 *   centre = (p̂ + z²/2n) / (1 + z²/n)
 *   half   = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)
 */
import type { Proportion } from './campaign.js';

/** Two-sided 95 %: the 0.975 quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

/** k successes out of n with the Wilson score interval at `z` (default 95 %). n = 0 gives rate 0 and [0, 1]. */
export function wilson(k: number, n: number, z = Z_95): Proportion {
  if (!Number.isSafeInteger(k) || !Number.isSafeInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`wilson needs integers 0 <= k <= n, got k=${k} n=${n}`);
  }
  if (n === 0) return { k, n, rate: 0, lower: 0, upper: 1 };
  const p = k / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp rounding noise: at k = n the upper bound is exactly 1, at k = 0 the lower is exactly 0.
  return {
    k,
    n,
    rate: p,
    lower: k === 0 ? 0 : Math.max(0, centre - half),
    upper: k === n ? 1 : Math.min(1, centre + half),
  };
}

/** `99.952 %`-style percentage with enough digits to tell bounds near 100 % apart. */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const pct = x * 100;
  const digits = pct >= 99.9 && pct < 100 ? 3 : pct >= 99 && pct < 100 ? 2 : 1;
  return `${pct.toFixed(digits)} %`;
}

/** `2000/2000 = 100.0 % [99.808 %, 100.0 %]` */
export function formatProportion(p: Proportion): string {
  return `${p.k}/${p.n} = ${formatPercent(p.rate)} [${formatPercent(p.lower)}, ${formatPercent(p.upper)}]`;
}

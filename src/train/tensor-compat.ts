/**
 * Compatibility of a checkpoint's tensors with what the caller's model holds:
 * the same names, shapes and dtypes, or a refusal that lists every
 * difference. Restoring into a model whose layer grew by one unit must fail
 * loudly and say which tensors disagree, never load the bytes that happen to
 * fit or stop at the first mismatch.
 */
import { HoldfastError } from '../errors.js';
import type { DType } from '../format/dtype.js';

export interface TensorSpec {
  dtype: DType | string;
  shape: readonly number[];
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Every difference between the tensors a model expects and those a
 * checkpoint holds, one human-readable line each, sorted by name.
 */
export function diffTensorSpecs(expected: Readonly<Record<string, TensorSpec>>, saved: Readonly<Record<string, TensorSpec>>): string[] {
  const lines: string[] = [];
  const names = [...new Set([...Object.keys(expected), ...Object.keys(saved)])].sort();
  for (const name of names) {
    const e = expected[name];
    const s = saved[name];
    if (s === undefined) lines.push(`${name}: in the model ${shapeText(e!.shape)} ${e!.dtype}, missing from the checkpoint`);
    else if (e === undefined) lines.push(`${name}: in the checkpoint ${shapeText(s.shape)} ${s.dtype}, not in the model`);
    else {
      const shapeDiffers = shapeText(e.shape) !== shapeText(s.shape);
      if (shapeDiffers || e.dtype !== s.dtype) {
        lines.push(`${name}: checkpoint has ${shapeText(s.shape)} ${s.dtype}, model has ${shapeText(e.shape)} ${e.dtype}`);
      }
    }
  }
  return lines;
}

/**
 * Throws when `differences` is not empty.
 * @throws HF_INCOMPATIBLE with the list in the message and in `data.differences`.
 */
export function refuseIfDifferent(differences: readonly string[], what: string, step?: number): void {
  if (differences.length === 0) return;
  const at = step === undefined ? '' : ` (checkpoint ${step})`;
  throw new HoldfastError(
    'HF_INCOMPATIBLE',
    `${what}${at} does not match the model; ${differences.length} difference(s):\n  ${differences.join('\n  ')}`,
    { data: { differences: [...differences], step } },
  );
}

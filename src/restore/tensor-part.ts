/**
 * The caller's target layout for a resharding restore: per tensor, the part
 * this process wants — a box of the global row-major tensor or a flat
 * element range — with the dtype and global shape it expects, when it wants
 * them checked. The argument's shape is checked before the store is touched
 * (HF_INVALID_ARG); whether a checkpoint can serve it is checked against the
 * manifest before any data byte is read, and every difference is listed in
 * one HF_INCOMPATIBLE error, so a job restarted on a new topology learns all
 * that is wrong at once.
 */
import { HoldfastError } from '../errors.js';
import { DTYPES, typedArrayFor, type DType, type TensorData } from '../format/dtype.js';
import { FieldChecker } from '../format/field-checks.js';
import type { Manifest } from '../format/manifest-types.js';
import { volume } from './box-geometry.js';

interface PartExpectations {
  /** Refuse the checkpoint unless the tensor has this dtype. */
  dtype?: DType;
  /** Refuse the checkpoint unless the tensor has this global shape. */
  globalShape?: number[];
}

/** A box of the global tensor (`offset` + `shape`), or its row-major elements [begin, end) (`flat`). */
export type TensorPart = ({ offset: number[]; shape: number[] } | { flat: [number, number] }) & PartExpectations;

/** Tensor name → the part to restore. Tensors not named are not read. */
export type RestoreLayout = Record<string, TensorPart>;

/** The caller's buffers by tensor name, or a function of each candidate checkpoint's manifest that returns them. */
export type PartBuffers = Readonly<Record<string, TensorData>> | ((manifest: Manifest) => Readonly<Record<string, TensorData>>);

export function isFlatPart(p: TensorPart): p is { flat: [number, number] } & PartExpectations {
  return 'flat' in p;
}

/** The shape of the restored part: the box's shape, or `[end − begin]` for a flat range. */
export function partShape(p: TensorPart): number[] {
  return isFlatPart(p) ? [p.flat[1] - p.flat[0]] : [...p.shape];
}

function partElements(p: TensorPart): number {
  return volume(partShape(p));
}

/** Checks the argument itself (HF_INVALID_ARG): an object of parts with integer boxes or ranges and known dtypes. */
export function assertLayoutArgument(layout: unknown, into: unknown): asserts layout is RestoreLayout {
  const c = new FieldChecker('restore layout', undefined, 'HF_INVALID_ARG');
  const parts = c.object(layout, '');
  for (const name of Object.keys(parts)) {
    const where = JSON.stringify(name);
    const p = c.object(parts[name], where);
    const flat = Object.hasOwn(p, 'flat');
    c.keys(p, where, flat ? ['flat'] : ['offset', 'shape'], ['dtype', 'globalShape']);
    if (flat) c.range(p.flat, `${where}.flat`);
    else {
      const shape = c.shape(p.shape, `${where}.shape`);
      const offset = c.array(p.offset, `${where}.offset`).map((d, i) => c.safeInt(d, `${where}.offset[${i}]`));
      if (offset.length !== shape.length) c.fail(where, `offset has ${offset.length} dimensions, shape ${shape.length}`);
    }
    if (p.dtype !== undefined) c.oneOf(p.dtype, `${where}.dtype`, DTYPES);
    if (p.globalShape !== undefined) c.shape(p.globalShape, `${where}.globalShape`);
  }
  if (into === undefined || typeof into === 'function') return;
  assertBuffers(into, parts);
}

/** `into` (or what its function returned): a typed array for some of the layout's parts. */
export function assertBuffers(into: unknown, parts: object): asserts into is Readonly<Record<string, TensorData>> {
  const c = new FieldChecker('restore layout', undefined, 'HF_INVALID_ARG');
  const buffers = c.object(into, 'into');
  for (const name of Object.keys(buffers)) {
    if (!Object.hasOwn(parts, name)) c.fail('into', `${JSON.stringify(name)} has a buffer but no part in the layout`);
    if (!ArrayBuffer.isView(buffers[name]) || buffers[name] instanceof DataView) c.expected(`into[${JSON.stringify(name)}]`, 'a typed array', buffers[name]);
  }
}

/** Why `manifest` cannot serve `layout` (and fill `into`), one line per difference; empty when it can. */
function layoutDifferences(manifest: Manifest, layout: RestoreLayout, into: Readonly<Record<string, TensorData>> = {}): string[] {
  const differences: string[] = [];
  for (const name of Object.keys(layout)) {
    const part = layout[name]!;
    const saved = Object.hasOwn(manifest.tensors, name) ? manifest.tensors[name] : undefined;
    const say = (what: string): number => differences.push(`${JSON.stringify(name)}: ${what}`);
    if (saved === undefined) {
      say('not in the checkpoint');
      continue;
    }
    if (part.dtype !== undefined && part.dtype !== saved.dtype) say(`dtype ${part.dtype} expected, the checkpoint has ${saved.dtype}`);
    if (part.globalShape !== undefined && !sameShape(part.globalShape, saved.shape)) {
      say(`global shape [${part.globalShape.join(', ')}] expected, the checkpoint has [${saved.shape.join(', ')}]`);
    }
    const outside = outsideProblem(part, saved.shape);
    if (outside !== undefined) say(outside);
    const buffer = into[name];
    if (buffer !== undefined) {
      const wanted = typedArrayFor(saved.dtype, new Uint8Array(0)).constructor.name;
      if (buffer.constructor.name !== wanted) say(`into needs a ${wanted} for ${saved.dtype}, got a ${buffer.constructor.name}`);
      else if (buffer.length !== partElements(part)) say(`into has ${buffer.length} elements, the part has ${partElements(part)}`);
    }
  }
  return differences;
}

export function assertLayoutServable(manifest: Manifest, layout: RestoreLayout, into: Readonly<Record<string, TensorData>> | undefined, location: string): void {
  const differences = layoutDifferences(manifest, layout, into);
  if (differences.length === 0) return;
  const listed = differences.map((d) => `\n  - ${d}`).join('');
  throw new HoldfastError('HF_INCOMPATIBLE', `checkpoint ${manifest.step} (${location}) cannot serve the requested layout (${differences.length} difference${differences.length === 1 ? '' : 's'}):${listed}`, {
    path: location,
    data: { step: manifest.step, differences },
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function outsideProblem(part: TensorPart, global: readonly number[]): string | undefined {
  if (isFlatPart(part)) {
    const count = volume(global);
    return part.flat[1] > count ? `flat range [${part.flat[0]}, ${part.flat[1]}) runs past the tensor's ${count} elements` : undefined;
  }
  if (part.shape.length !== global.length) return `a box of ${part.shape.length} dimensions for a tensor of ${global.length} ([${global.join(', ')}])`;
  const dims = part.shape.flatMap((d, i) => (part.offset[i]! + d > global[i]! ? [`dimension ${i}: offset ${part.offset[i]} + shape ${d} exceeds ${global[i]}`] : []));
  return dims.length === 0 ? undefined : `the box lies outside the global shape [${global.join(', ')}] (${dims.join('; ')})`;
}

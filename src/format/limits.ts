/**
 * Every size and depth limit a Holdfast reader enforces, defined once, so the
 * write side can refuse up front exactly what every reader would refuse
 * later (a save that commits a checkpoint no reader accepts is worse than a
 * save that fails). Readers import these; `save-limits.ts` checks a save
 * against them before anything is written.
 */

/** Largest `manifest.json` a reader parses; bounds the memory a hostile store can make a reader allocate. */
export const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;

/** Largest safetensors JSON header, the reference implementation's cap (huggingface/safetensors `MAX_HEADER_SIZE`). */
export const SAFETENSORS_HEADER_MAX_BYTES = 100_000_000;

/** Deepest nesting of arrays/objects the strict JSON parser accepts; the top-level container is depth 1. */
export const JSON_MAX_DEPTH = 64;

/** `state` sits inside the manifest's top-level object, so it gets one level less than the document. */
export const STATE_MAX_DEPTH = JSON_MAX_DEPTH - 1;

/** Linux NAME_MAX; most file systems limit a path component to 255 bytes. */
export const PATH_COMPONENT_MAX_BYTES = 255;

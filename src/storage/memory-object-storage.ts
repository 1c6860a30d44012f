/**
 * `MemoryObjectStorage`: the in-memory object-store twin, `ObjectStorage`
 * (its header documents the key layout every object backend follows) over
 * an `ObjectMap` bucket, through a `MemoryObjectClient` whose call log and
 * fault hooks let tests crash or fail any call.
 */
import { ObjectStorage } from './object-storage.js';
import { MemoryObjectClient, type ObjectFaults, type ObjectMap } from './object-map.js';

export interface MemoryObjectStorageOptions {
  /** Key prefix of the store inside the bucket (default none); ends with `/` when set. */
  prefix?: string;
  /** Names the bucket in locations (`memory://<bucket>/<prefix>`). */
  bucket?: string;
  faults?: ObjectFaults;
}

export class MemoryObjectStorage extends ObjectStorage<MemoryObjectClient> {
  constructor(map: ObjectMap, options: MemoryObjectStorageOptions = {}) {
    super(new MemoryObjectClient(map, options.faults), { prefix: options.prefix, bucketUrl: `memory://${options.bucket ?? 'bucket'}/` });
  }
}

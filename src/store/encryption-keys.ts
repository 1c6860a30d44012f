/**
 * Where a store's encryption key comes from: given directly, read from a key
 * file, or named by environment variables (what the CLI passes), as signing
 * keys are (signing-keys.ts). With a key, every checkpoint the store saves is
 * encrypted (format/chunk-cipher.ts) and every encrypted checkpoint it reads
 * must have been encrypted with it; checkpoints saved without encryption
 * still read as they are.
 *
 *   HOLDFAST_ENCRYPTION_KEY         the secret itself (at least 32 bytes, e.g. `openssl rand -hex 32`)
 *   HOLDFAST_ENCRYPTION_KEY_FILE    a file holding the secret (trailing newline ignored)
 *   HOLDFAST_ENCRYPTION_KEY_ID      recorded in manifests instead of the id derived from the secret
 */
import { invalidArg } from '../errors.js';
import { encryptionKey, type EncryptionKey } from '../format/chunk-cipher.js';
import type { FileSystem } from '../fs/file-system.js';
import { optionsFromEnv, readKeyFile, trimNewline } from './signing-keys.js';

export interface EncryptionOptions {
  /** The secret (a string is taken as its UTF-8 bytes), at least 32 bytes. */
  key?: string | Uint8Array;
  keyFile?: string;
  /** Recorded in the manifest instead of the id derived from the secret. */
  keyId?: string;
}

const ENV = {
  key: 'HOLDFAST_ENCRYPTION_KEY',
  keyFile: 'HOLDFAST_ENCRYPTION_KEY_FILE',
  keyId: 'HOLDFAST_ENCRYPTION_KEY_ID',
} as const;

/** The encryption options named by the environment, or undefined when it names no key. */
export function encryptionFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionOptions | undefined {
  const options: EncryptionOptions = optionsFromEnv(env, ENV);
  if (options.key === undefined && options.keyFile === undefined) {
    if (options.keyId !== undefined) throw invalidArg(`${ENV.keyId} is set without ${ENV.key} or ${ENV.keyFile}: an id names a key, it is not one`);
    return undefined;
  }
  return options;
}

export async function loadEncryptionKey(fs: FileSystem, options: EncryptionOptions): Promise<EncryptionKey> {
  if (options.key !== undefined && options.keyFile !== undefined) throw invalidArg('encryption: give a key or a key file, not both');
  const secret = options.key ?? (options.keyFile === undefined ? undefined : trimNewline(await readKeyFile(fs, options.keyFile, 'encryption key')));
  if (secret === undefined) throw invalidArg(`encryption options name no key: give key or keyFile (the CLI reads ${ENV.key} or ${ENV.keyFile})`);
  return encryptionKey(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret, options.keyId);
}

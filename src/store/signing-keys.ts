/**
 * Where a store's signing keys come from: given directly, read from key
 * files, or named by environment variables (what the CLI passes). Any key
 * configured makes signatures required on read: a checkpoint that is
 * unsigned, or signed by another key, or whose signature does not match, is
 * treated like corruption (quarantined, rolled back over).
 *
 *   HOLDFAST_HMAC_KEY          the HMAC secret itself (at least 32 bytes)
 *   HOLDFAST_HMAC_KEY_FILE     a file holding the HMAC secret (trailing newline ignored)
 *   HOLDFAST_SIGNING_KEY_FILE  an Ed25519 private key (PEM): signs, and verifies
 *   HOLDFAST_VERIFY_KEY_FILE   an Ed25519 public key (PEM): verifies only
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { invalidArg, isHoldfastError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { readFileIfRegular } from '../fs/file-utils.js';
import { ed25519SigningKey, ed25519VerifyKey, hmacKey, type ManifestTrust, type VerifyKey } from '../format/manifest-signature.js';

/** Key files are small; anything larger is not a key. */
const KEY_FILE_MAX_BYTES = 64 * 1024;

export interface SigningOptions {
  /** HMAC-SHA-256 secret (a string is taken as its UTF-8 bytes). */
  hmacKey?: string | Uint8Array;
  hmacKeyFile?: string;
  /** Ed25519 private key, PEM (PKCS#8), or the file holding it. */
  privateKey?: string;
  privateKeyFile?: string;
  /** Ed25519 public key, PEM (SPKI), or the file holding it: for readers who must not be able to sign. */
  publicKey?: string;
  publicKeyFile?: string;
  /** Recorded in the manifest instead of the id derived from the key. */
  keyId?: string;
}

const ENV = {
  hmacKey: 'HOLDFAST_HMAC_KEY',
  hmacKeyFile: 'HOLDFAST_HMAC_KEY_FILE',
  privateKeyFile: 'HOLDFAST_SIGNING_KEY_FILE',
  publicKeyFile: 'HOLDFAST_VERIFY_KEY_FILE',
} as const;

/** The signing options named by the environment, or undefined when it names none. */
export function signingFromEnv(env: NodeJS.ProcessEnv = process.env): SigningOptions | undefined {
  const options: SigningOptions = optionsFromEnv(env, ENV);
  return Object.keys(options).length === 0 ? undefined : options;
}

/** The fields of `names` whose environment variable is set and not empty (key options of signing and encryption). */
export function optionsFromEnv<F extends string>(env: NodeJS.ProcessEnv, names: Readonly<Record<F, string>>): Partial<Record<F, string>> {
  const options: Partial<Record<F, string>> = {};
  for (const [field, name] of Object.entries(names) as [F, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') options[field] = value;
  }
  return options;
}

export async function loadManifestTrust(fs: FileSystem, options: SigningOptions): Promise<ManifestTrust> {
  const trust: ManifestTrust = { verify: [] };
  const hmac = options.hmacKey ?? (options.hmacKeyFile === undefined ? undefined : trimNewline(await readKeyFile(fs, options.hmacKeyFile, 'HMAC key')));
  if (hmac !== undefined) {
    const key = hmacKey(typeof hmac === 'string' ? new TextEncoder().encode(hmac) : hmac, options.keyId);
    trust.sign = key;
    trust.verify.push(key);
  }
  const privatePem = options.privateKey ?? (options.privateKeyFile === undefined ? undefined : await readPem(fs, options.privateKeyFile, 'Ed25519 private key'));
  if (privatePem !== undefined) {
    const pair = ed25519SigningKey(parseKey(privatePem, 'private', options.privateKeyFile), options.keyId);
    if (trust.sign !== undefined) throw invalidArg('signing: give an HMAC key or an Ed25519 private key, not both (a manifest carries one signature)');
    trust.sign = pair.sign;
    trust.verify.push(pair.verify);
  }
  const publicPem = options.publicKey ?? (options.publicKeyFile === undefined ? undefined : await readPem(fs, options.publicKeyFile, 'Ed25519 public key'));
  if (publicPem !== undefined) trust.verify.push(ed25519VerifyKey(parseKey(publicPem, 'public', options.publicKeyFile), options.keyId) satisfies VerifyKey);
  if (trust.verify.length === 0) throw invalidArg(`signing options name no key: give hmacKey, privateKey or publicKey (or their files; the CLI reads ${Object.values(ENV).join(', ')})`);
  return trust;
}

export async function readKeyFile(fs: FileSystem, path: string, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileIfRegular(fs, path, KEY_FILE_MAX_BYTES);
  } catch (e) {
    if (!isHoldfastError(e)) throw e;
    throw invalidArg(`${what} file ${path}: ${e.message}`, { path });
  }
  if (bytes === undefined) throw invalidArg(`${what} file ${path}: expected a regular file of at most ${KEY_FILE_MAX_BYTES} bytes, found none`, { path });
  return bytes;
}

async function readPem(fs: FileSystem, path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readKeyFile(fs, path, what));
}

export function trimNewline(bytes: Uint8Array): Uint8Array {
  let end = bytes.byteLength;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.subarray(0, end);
}

function parseKey(pem: string, kind: 'private' | 'public', path: string | undefined): KeyObject {
  try {
    return kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (e) {
    throw invalidArg(`Ed25519 ${kind} key${path === undefined ? '' : ` ${path}`}: expected a PEM key, found something unreadable (${(e as Error).message})`, path === undefined ? {} : { path });
  }
}

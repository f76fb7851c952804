/**
 * Stateless CPU jobs for the task pool (`dp.tasks.run(name, payload)`): handshake crypto under
 * a storm, certificate generation, capture compression. Each is a plain function from a
 * structured-clonable payload to a structured-clonable result; `workers/task-worker.ts`
 * dispatches to them by name inside a piscina worker.
 *
 * A task that needs shared memory takes a SharedArrayBuffer inside its payload (never in a
 * transferList: a SharedArrayBuffer is shared by cloning, and a transfer would detach nothing
 * but confuse the pool).
 */

import { generateKeyPairSync } from 'node:crypto';
import { PktTypeError } from '../errors.js';
import {
  consumeInitiationJob, createResponseJob, type ConsumeInitiationPayload, type ConsumeInitiationResult, type CreateResponsePayload, type CreateResponseResult,
} from '../wg/handshake-jobs.js';

/** An X25519 key pair as raw 32-byte keys (RFC 7748 §5 byte strings). */
export interface X25519KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/**
 * A fresh X25519 key pair from node:crypto. The raw keys are read through JWK (`d` and `x`,
 * base64url, RFC 8037 §2), which Node exports without DER framing to strip.
 */
export function x25519Keypair(): X25519KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('x25519-keypair: node:crypto exported a JWK without d or x');
  return { publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')), privateKey: new Uint8Array(Buffer.from(jwk.d, 'base64url')) };
}

/** Every task: its payload and its result. */
export interface TaskMap {
  'x25519-keypair': { payload: undefined; result: X25519KeyPair };
  /** WireGuard responder crypto under a handshake storm (src/wg/handshake-jobs.ts). */
  'wg-consume-initiation': { payload: ConsumeInitiationPayload; result: ConsumeInitiationResult };
  'wg-create-response': { payload: CreateResponsePayload; result: CreateResponseResult };
}
export type TaskName = keyof TaskMap;

const TASKS: { [K in TaskName]: (payload: TaskMap[K]['payload']) => TaskMap[K]['result'] | Promise<TaskMap[K]['result']> } = {
  'x25519-keypair': () => x25519Keypair(),
  'wg-consume-initiation': (p) => consumeInitiationJob(p),
  'wg-create-response': (p) => createResponseJob(p),
};

/** The names of the tasks there are. */
export const TASK_NAMES: readonly TaskName[] = Object.keys(TASKS) as TaskName[];

export function isTaskName(name: unknown): name is TaskName {
  return typeof name === 'string' && Object.hasOwn(TASKS, name);
}

/**
 * Runs task `name` on `payload` (in the pool worker).
 * @throws {PktTypeError} for an unknown task name.
 */
export function runTask(name: string, payload: unknown): unknown {
  if (!isTaskName(name)) throw new PktTypeError(`dataplane tasks: unknown task '${name}' (expected ${TASK_NAMES.join(', ')})`);
  return (TASKS[name] as (p: unknown) => unknown)(payload);
}
